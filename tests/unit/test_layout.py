"""The package's layout: no module of jobs/ imports, at load time, one that imports it back."""

import ast

from jobs.settings import PROJECT_ROOT


def module_imports() -> dict[str, set[str]]:
    """jobs module -> the jobs modules it imports at module level."""
    imports = {}
    for path in sorted((PROJECT_ROOT / "jobs").rglob("*.py")):
        name = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__")
        modules = (node.module for node in ast.parse(path.read_text()).body if isinstance(node, ast.ImportFrom))
        imports[name] = {module for module in modules if module and module.split(".")[0] == "jobs"}
    return imports


def cycle(imports: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for imported in sorted(imports.get(module, ())):
            found = visit(imported, [*path, module])
            if found:
                return found
        done.add(module)
        return None

    return next((found for module in sorted(imports) if (found := visit(module, []))), None)


def test_jobs_has_no_import_cycle():
    assert cycle(module_imports()) is None


def test_a_cycle_would_be_found():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
