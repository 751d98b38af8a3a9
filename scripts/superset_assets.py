"""Dashboards as code: between superset/assets (committed) and Superset's bundles.

  prepare ASSETS DIR       copy the assets into DIR with the Trino URI filled in (import):
                           the URI of TRINO_USER with TRINO_PASSWORD at TRINO_HOST:TRINO_PORT
                           over HTTPS, trusting the certificate TRINO_CA_FILE (environment,
                           so that no password is on a command line)
  collect ZIP ASSETS       write an export bundle back into the assets, minus what is
                           specific to one Superset instance: the connection URI, the
                           numeric ids in file names, chart parameters and dashboard
                           layouts (export)

Run with Superset's venv (it has PyYAML). Superset's own import reads what this
writes; so that an unchanged dashboard exports to an empty diff, the export is made
stable: dataset columns and metrics sorted by name, a chart's query_context (a JSON
string) indented, and multi-line strings written as YAML blocks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import zipfile
from pathlib import Path
from urllib.parse import quote

import yaml

URI_PLACEHOLDER = "__TRINO_URI__"  # the committed database YAML names no server
OBJECT_DIRS = ("databases", "datasets", "charts", "dashboards")
# Chart parameters that hold one instance's numeric ids; the import sets them anew.
INSTANCE_PARAMS = ("slice_id", "datasource", "dashboards")


def trino_uri(environ: dict[str, str]) -> str:
    """The SQLAlchemy URI of Trino's dialect; `verify` is read as JSON (a path string)."""
    user, password = quote(environ["TRINO_USER"], safe=""), quote(environ["TRINO_PASSWORD"], safe="")
    verify = quote(json.dumps(environ["TRINO_CA_FILE"]), safe="")
    return f"trino://{user}:{password}@{environ['TRINO_HOST']}:{environ['TRINO_PORT']}/delta?verify={verify}"


def prepare(assets: Path, target: Path, uri: str) -> None:
    shutil.copytree(assets, target)
    databases = sorted((target / "databases").glob("*.yaml"))
    if not databases:
        sys.exit(f"no database definition under {assets}/databases")
    for path in databases:
        text = path.read_text()
        if URI_PLACEHOLDER not in text:
            sys.exit(f"{path.name}: sqlalchemy_uri must be {URI_PLACEHOLDER} (the URI is set at import)")
        path.write_text(text.replace(URI_PLACEHOLDER, uri))


def without_instance_ids(chart: dict) -> dict:
    for key in INSTANCE_PARAMS:
        chart.get("params", {}).pop(key, None)
    if chart.get("query_context"):
        context = json.loads(chart["query_context"])
        context.pop("datasource", None)
        for key in INSTANCE_PARAMS:
            context.get("form_data", {}).pop(key, None)
        for query in context.get("queries", []):
            query.pop("datasource", None)
        chart["query_context"] = json.dumps(context, indent=2, sort_keys=True) + "\n"
    return chart


def with_local_chart_numbers(dashboard: dict) -> dict:
    """A dashboard's layout names each chart by uuid and by the instance's chart id. The
    import needs some number there (it maps it to the new id), but not this instance's:
    number the charts 1, 2, ... in layout order, so that ids never show in a diff."""
    charts = [
        item
        for item in dashboard.get("position", {}).values()
        if isinstance(item, dict) and item.get("type") == "CHART"
    ]
    renumbered = {chart["meta"]["chartId"]: number for number, chart in enumerate(charts, 1)}
    for chart in charts:
        chart["meta"]["chartId"] = renumbered[chart["meta"]["chartId"]]
    metadata = dashboard.get("metadata", {})
    metadata["timed_refresh_immune_slices"] = [
        renumbered[old] for old in metadata.get("timed_refresh_immune_slices", []) if old in renumbered
    ]
    metadata["expanded_slices"] = {
        str(renumbered[int(old)]): value
        for old, value in metadata.get("expanded_slices", {}).items()
        if int(old) in renumbered
    }
    return dashboard


def in_stable_order(dataset: dict) -> dict:
    dataset["columns"] = sorted(dataset.get("columns") or [], key=lambda c: c["column_name"])
    dataset["metrics"] = sorted(dataset.get("metrics") or [], key=lambda m: m["metric_name"])
    return dataset


class BlockDumper(yaml.SafeDumper):
    """Multi-line strings as `|` blocks: a changed line of a query shows as one line."""


BlockDumper.add_representer(
    str,
    lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None),
)


def collect(bundle: Path, assets: Path) -> None:
    files: dict[Path, dict] = {}
    with zipfile.ZipFile(bundle) as archive:
        for name in archive.namelist():
            relative = Path(*Path(name).parts[1:])  # drop the bundle's root folder
            if relative.parts[0] not in OBJECT_DIRS:
                continue  # metadata.yaml stays as committed (its timestamp changes each time)
            config = yaml.safe_load(archive.read(name))
            if relative.parts[0] == "databases":
                config["sqlalchemy_uri"] = URI_PLACEHOLDER
                config.pop("password", None)
            if relative.parts[0] == "charts":
                config = without_instance_ids(config)
            if relative.parts[0] == "datasets":
                config = in_stable_order(config)
            if relative.parts[0] == "dashboards":
                config = with_local_chart_numbers(config)
            # charts/Trips_per_day_12.yaml -> charts/Trips_per_day.yaml
            stem = re.sub(r"_\d+$", "", relative.stem) if relative.parts[0] != "databases" else relative.stem
            target = relative.with_name(stem + relative.suffix)
            if target in files:
                sys.exit(f"two exported objects would both be {target}: rename one of them")
            files[target] = config
    for directory in OBJECT_DIRS:
        shutil.rmtree(assets / directory, ignore_errors=True)
    for relative, config in sorted(files.items()):
        path = assets / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.dump(config, Dumper=BlockDumper, sort_keys=False, allow_unicode=True))
    print(f"{len(files)} objects written under {assets}")


if __name__ == "__main__":
    command, *args = sys.argv[1:] or [""]
    if command == "prepare" and len(args) == 2:
        prepare(Path(args[0]), Path(args[1]), trino_uri(dict(os.environ)))
    elif command == "collect" and len(args) == 2:
        collect(Path(args[0]), Path(args[1]))
    else:
        sys.exit(__doc__)
