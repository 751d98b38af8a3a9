"""Gold models: one Spark SQL file per table under models/gold, with a YAML header.

    /* ---
    table: gold.agg_rides_daily
    keys: [business_date, city]
    refresh: by_date            # or incremental, additive, full (every run), once (when absent), view
    date_column: business_date  # by_date models are recomputed for the dates a run touched
    partition_by: []
    depends_on: [gold.fct_rides]
    --- */
    SELECT ... FROM {{ gold.fct_rides }} WHERE business_date IN ({{ dates }})

`{{ schema.table }}` names another table (or `seed.<name>`, a CSV under models/seeds);
`{{ dates }}` is the list of business dates being recomputed. Models run in
dependency order; a by_date model replaces exactly its dates (replaceWhere).

An incremental model (a fact table over an insert-only silver table) names its
`incremental_source` and selects the source's `run_id`: a run appends only the source
rows of its dates whose run id the model does not hold yet. Its cost is the new rows,
not the dates they fall on: a few late events no longer rewrite a whole day of facts.

An additive model (an aggregate over such a fact table) names its `incremental_source`
too, and declares in `adds` how each column that is not a key takes in a later run's
rows (jobs/measures.py). Each of its rows keeps `counted_runs`, the source's runs it
counts; a run's rows on a date already counted are aggregated alone and added in one
MERGE, while a date seen for the first time, or one whose counted runs left the source
(a replay), is computed whole. `{{ counted }}` reads the source rows of `{{ dates }}` the
table already counts, so that a distinct count can count only what is new (it is empty
when a date is computed whole).

A view model is never written: a model that reads it reads its SQL as a subquery, over
the same (possibly narrowed) references, and Trino serves it as a view of that SQL. Its
SQL must mean the same in Spark and Trino; it has no `{{ dates }}` (its readers filter),
no seed (Trino cannot read one) and no checks (its rows are checked where they are kept).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from jobs.checks import Suite, parse_checks
from jobs.errors import LakehouseError
from jobs.measures import MEASURES
from jobs.settings import PROJECT_ROOT
from jobs.sql_literals import sql_date_list

MODELS_DIR = PROJECT_ROOT / "models" / "gold"
HEADER = re.compile(r"^\s*/\*\s*---\s*\n(.*?)\n\s*---\s*\*/\s*\n", re.DOTALL)
REFERENCE = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+|dates|counted)\s*\}\}")
COUNTED = "counted"  # an additive model's source rows already counted: {{ counted }}

REFRESH_MODES = ("once", "full", "by_date", "incremental", "additive", "view")
LINE_COMMENT = re.compile(r"--[^\n]*")


class ModelError(LakehouseError):
    pass


@dataclass(frozen=True)
class Model:
    table: str
    description: str
    keys: tuple[str, ...]
    refresh: str  # once | full | by_date | incremental | additive | view
    date_column: str | None
    partition_by: tuple[str, ...]
    depends_on: tuple[str, ...]
    sql: str
    source: str
    incremental_source: str | None = None  # incremental, additive: the table whose new rows are taken in
    adds: tuple[tuple[str, str], ...] = ()  # additive: (column, measure) pairs (jobs/measures.py)
    checks: tuple[Suite, ...] = ()  # the table's quality checks (jobs/checks.py)

    @property
    def by_dates(self) -> bool:
        """Built for the business dates a run touched (not as a whole)."""
        return self.refresh in ("by_date", "incremental", "additive")

    @property
    def is_view(self) -> bool:
        """Never written: read as a subquery by the models that use it, a view in Trino."""
        return self.refresh == "view"

    @property
    def references(self) -> set[str]:
        return {name for name in REFERENCE.findall(self.sql) if name not in ("dates", COUNTED)}

    def render(self, resolve, dates: list[date]) -> str:
        """The SQL with references resolved and the dates filled in."""
        dates_sql = sql_date_list(dates)
        return REFERENCE.sub(lambda m: dates_sql if m[1] == "dates" else resolve(m[1]), self.sql)


def parse_model(path: Path) -> Model:
    text = path.read_text()
    match = HEADER.match(text)
    if not match:
        raise ModelError(f"{path.name}: missing the /* --- ... --- */ header")
    try:
        header = yaml.safe_load(match[1]) or {}
    except yaml.YAMLError as exc:
        raise ModelError(f"{path.name}: header is not valid YAML: {exc}") from None
    required = ("table", "keys", "refresh", "depends_on") + (() if header.get("refresh") == "view" else ("checks",))
    for key in required:
        if key not in header:
            raise ModelError(f"{path.name}: header needs '{key}'")
    if header["refresh"] not in REFRESH_MODES:
        raise ModelError(f"{path.name}: refresh is one of {', '.join(REFRESH_MODES)}")
    if header["refresh"] in ("by_date", "incremental", "additive") and not header.get("date_column"):
        raise ModelError(f"{path.name}: a {header['refresh']} model needs a date_column")
    if (
        header["refresh"] in ("incremental", "additive")
        and header.get("incremental_source") not in header["depends_on"]
    ):
        raise ModelError(
            f"{path.name}: an {header['refresh']} model names its incremental_source, one of its depends_on"
        )
    adds = header.get("adds") or {}
    if header["refresh"] == "additive" and not adds:
        raise ModelError(f"{path.name}: an additive model says in 'adds' how each measure adds up")
    unknown = sorted(m for m in adds.values() if m not in MEASURES)
    if unknown:
        raise ModelError(f"{path.name}: adds: unknown measure {unknown[0]!r} (one of {', '.join(MEASURES)})")
    model = Model(
        table=header["table"],
        description=str(header.get("description", "")),
        keys=tuple(header["keys"]),
        refresh=header["refresh"],
        date_column=header.get("date_column"),
        partition_by=tuple(header.get("partition_by") or ()),
        depends_on=tuple(header["depends_on"]),
        sql=text[match.end() :].strip().rstrip(";"),
        source=path.name,
        incremental_source=header.get("incremental_source"),
        adds=tuple(adds.items()),
        checks=()
        if header["refresh"] == "view"
        else parse_checks(header["checks"], header["table"], header.get("date_column"), path.name),
    )
    commented = [m[0] for m in LINE_COMMENT.finditer(model.sql) if REFERENCE.search(m[0])]
    if commented:
        raise ModelError(
            f"{path.name}: a -- comment holds a {{{{ }}}} reference, which would be rendered too: "
            f"name it without braces ({commented[0].strip()!r})"
        )
    if model.is_view:
        check_view(model, header)
    undeclared = model.references - set(model.depends_on)
    if undeclared:
        raise ModelError(f"{path.name}: uses {sorted(undeclared)} without declaring them in depends_on")
    if COUNTED in REFERENCE.findall(model.sql) and model.refresh != "additive":
        raise ModelError(f"{path.name}: only an additive model reads {{{{ {COUNTED} }}}}")
    if model.by_dates and "{{ dates }}" not in model.sql.replace("{{dates}}", "{{ dates }}"):
        raise ModelError(f"{path.name}: a {model.refresh} model must filter on {{{{ dates }}}}")
    return model


def check_view(model: Model, header: dict) -> None:
    """A view is read whole by whatever reads it: nothing of a written table applies."""
    written_only = ("checks", "incremental_source", "adds", "partition_by", "date_column")
    declared = sorted(key for key in written_only if header.get(key))
    if declared:
        raise ModelError(f"{model.source}: a view model is never written; it has no {', '.join(declared)}")
    if {"dates", COUNTED} & set(REFERENCE.findall(model.sql)):
        raise ModelError(
            f"{model.source}: a view model reads no {{{{ dates }}}} or {{{{ {COUNTED} }}}}: its readers filter"
        )
    seeds = sorted(name for name in model.references if name.startswith("seed."))
    if seeds:
        raise ModelError(f"{model.source}: a view model reads no seed ({seeds[0]}): Trino could not serve it")


def load_models(directory: Path = MODELS_DIR) -> list[Model]:
    """All models, in an order where every model comes after what it depends on."""
    models = {m.table: m for m in (parse_model(p) for p in sorted(directory.glob("*.sql")))}
    ordered: list[Model] = []
    visiting: set[str] = set()

    def visit(table: str, chain: tuple[str, ...]) -> None:
        if table in (m.table for m in ordered) or table not in models:
            return
        if table in visiting:
            raise ModelError(f"dependency cycle: {' -> '.join((*chain, table))}")
        visiting.add(table)
        for dependency in models[table].depends_on:
            if dependency.startswith("gold.") and dependency not in models:
                raise ModelError(f"{models[table].source}: depends on unknown model {dependency}")
            visit(dependency, (*chain, table))
        visiting.discard(table)
        ordered.append(models[table])

    for table in sorted(models):
        visit(table, ())
    for model in ordered:
        source = models.get(model.incremental_source or "")
        if source is not None and source.is_view:
            raise ModelError(
                f"{model.source}: incremental_source {source.table} is a view, which has no runs of its own: "
                "name the table it reads"
            )
    return ordered


def downstream(tables: set[str], models: list[Model]) -> list[str]:
    """The models that read any of `tables`, directly or through other models, in
    dependency order (`models` come in that order from load_models)."""
    reached = set(tables)
    found = []
    for model in models:
        if reached.intersection(model.depends_on):
            reached.add(model.table)
            found.append(model.table)
    return found
