"""Building the gold models (I/O): each model's SQL runs in Spark and replaces its table,
or only the business dates a run touched, or appends what its source gained.

One function per way a table is written:
- `rebuild`        the whole table (refresh full, and every model's first build)
- `replace_dates`  the dates a run touched, with replaceWhere (refresh by_date)
- `append_pending` the source rows on those dates that the model does not hold yet
                   (refresh incremental)
- `add_pending`    the same rows aggregated and added to what the rows of those dates
                   hold, or their dates computed whole (refresh additive), in one MERGE
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.curation import lake
from jobs.curation.tables import LINEAGE
from jobs.definitions import Definitions
from jobs.measures import added
from jobs.models import COUNTED, Model, ModelError
from jobs.settings import Settings
from jobs.sql_literals import sql_date_list, sql_string

log = logging.getLogger("gold")


@dataclass(frozen=True)
class References:
    """Resolves a model's `{{ schema.table }}` to what Spark SQL reads: a Delta path, a
    seed CSV as a temporary view, a view of only some rows of a table, or a view model's
    SQL as a subquery (resolved by these same references, so a narrowed table stays
    narrowed through it)."""

    spark: SparkSession
    settings: Settings
    definitions: Definitions
    views: dict[str, str] = field(default_factory=dict)  # name -> a view that replaces it

    def __call__(self, name: str) -> str:
        if name in self.views:
            return self.views[name]
        schema, table = name.split(".")
        if schema == "seed":
            view = f"seed_{table}"
            if not self.spark.catalog.tableExists(view):
                seed = self.definitions.seed(table).resolve().as_uri()
                self.spark.read.option("header", "true").csv(seed).createOrReplaceTempView(view)
            return view
        model = self.definitions.view_model(name)
        if model is not None:
            return f"(\n{model.render(self, [])}\n)"
        return f"delta.`{self.settings.table_path(schema, table)}`"

    def only_rows(self, name: str, condition: str) -> References:
        """The same references, but `name` reads only the rows that meet `condition`."""
        view = "pending_" + name.replace(".", "_")
        self.spark.sql(f"SELECT * FROM {self(name)} WHERE {condition}").createOrReplaceTempView(view)
        return self.with_view(name, view)

    def with_view(self, name: str, view: str) -> References:
        return References(self.spark, self.settings, self.definitions, {**self.views, name: view})


def build_gold(
    spark: SparkSession,
    settings: Settings,
    definitions: Definitions,
    dates: list[date],
    models: list[Model] | None = None,
) -> dict[str, int]:
    """Build every model (full ones entirely, by_date ones for `dates`, incremental ones
    with their source's new rows on `dates`; views are not written); returns the versions
    of the tables written."""
    models = models if models is not None else list(definitions.models)
    dates = sorted(set(dates))
    references = References(spark, settings, definitions)
    versions: dict[str, int] = {}
    for model in models:
        if model.is_view or (model.by_dates and not dates):
            continue
        started = time.monotonic()
        path = settings.table_path(*model.table.split("."))
        columns = lake.table_columns(spark, path)
        if model.refresh == "additive":
            done: str | None = add_pending(spark, settings, model, path, references, dates, columns)
        elif columns is None:
            done = rebuild(spark, model, path, references, dates)
        elif model.refresh == "once":
            continue  # static data (a calendar, a seed): built once
        elif model.refresh == "full":
            done = rebuild(spark, model, path, references, dates)
        elif model.refresh == "by_date":
            done = replace_dates(spark, model, path, references, dates)
        elif LINEAGE in columns:
            done = append_pending(spark, settings, model, path, references, dates)
        else:  # an incremental table from before lineage was kept: rebuilt once, whole
            assert model.incremental_source is not None and model.date_column is not None  # checked by load_models
            source = settings.table_path(*model.incremental_source.split("."))
            done = rebuild(spark, model, path, references, source_dates(spark, source, model.date_column))
        if done is None:
            log.info("%-32s nothing new on %d date(s)", model.table, len(dates))
            continue
        version = lake.table_version(spark, path)
        assert version is not None  # the table was just written
        versions[model.table] = version
        log.info("%-32s %s in %.1f s", model.table, done, time.monotonic() - started)
    return versions


def model_rows(spark: SparkSession, model: Model, references: References, dates: list[date]) -> DataFrame:
    frame = spark.sql(model.render(references, dates))
    if model.refresh == "incremental" and LINEAGE not in frame.columns:
        raise ModelError(f"{model.source}: an incremental model selects its source's {LINEAGE}")
    return frame


def rebuild(spark: SparkSession, model: Model, path: str, references: References, dates: list[date]) -> str:
    rows = model_rows(spark, model, references, dates)
    writer = (
        rows.write.format("delta")
        .mode("overwrite")
        .option("overwriteSchema", "true")
        .option(lake.STATISTICS_PROPERTY, lake.statistics_columns(rows.schema, model.partition_by))
    )
    if model.partition_by:
        writer = writer.partitionBy(*model.partition_by)
    writer.save(path)
    return f"{len(dates)} date(s) built" if model.by_dates else "rebuilt"


def replace_dates(spark: SparkSession, model: Model, path: str, references: References, dates: list[date]) -> str:
    (
        model_rows(spark, model, references, dates)
        .write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", f"{model.date_column} IN ({sql_date_list(dates)})")
        .save(path)
    )
    return f"{len(dates)} date(s) recomputed"


def append_pending(
    spark: SparkSession, settings: Settings, model: Model, path: str, references: References, dates: list[date]
) -> str | None:
    """Append the model's rows for the source rows of (date, run) pairs it lacks; None if
    there are none (then nothing is written)."""
    assert model.incremental_source is not None and model.date_column is not None  # checked by load_models
    source = settings.table_path(*model.incremental_source.split("."))
    pending = unmodelled_runs(spark, source, path, model.date_column, dates)
    if not pending:
        return None
    narrowed = references.only_rows(model.incremental_source, pending_condition(pending, model.date_column))
    model_rows(spark, model, narrowed, dates).write.format("delta").mode("append").save(path)
    return f"appended the rows of {sum(map(len, pending.values()))} (date, run) pair(s)"


def unmodelled_runs(
    spark: SparkSession, source_path: str, model_path: str, date_column: str, dates: list[date]
) -> dict[date, list[str]]:
    """{date: run ids} of the source rows on `dates` the model does not hold yet.

    Pairs, not run ids alone: a run killed before gold leaves rows on several dates, and a
    later run may append them one date at a time. A (date, run) pair is all or nothing in
    both tables (one MERGE commit inserts it into the source, one append into the model),
    so comparing pairs finds every missing row without joining row keys."""

    source_pairs = set(rows_per_run(spark, source_path, date_column, dates))
    pending: dict[date, list[str]] = defaultdict(list)
    for day, run_id in sorted(source_pairs - set(rows_per_run(spark, model_path, date_column, dates))):
        pending[day].append(run_id)
    return dict(pending)


def source_dates(spark: SparkSession, path: str, date_column: str) -> list[date]:
    rows = spark.read.format("delta").load(path).select(date_column).distinct().collect()
    return sorted(r[0] for r in rows if r[0] is not None)


def pending_condition(pending: dict[date, list[str]], date_column: str) -> str:
    """A predicate that keeps the source rows of the pending (date, run) pairs."""
    return " OR ".join(
        f"({date_column} = {sql_date_list([day])} AND {LINEAGE} IN ({', '.join(map(sql_string, runs))}))"
        for day, runs in sorted(pending.items())
    )


COUNTED_RUNS = "counted_runs"  # an additive model's rows: the source runs they count
WHOLE = "_whole"  # an additive model's computed rows: of a date computed whole
LARGE_SHARE = 0.5  # a date whose uncounted rows are more than this share is computed whole,
MAX_ADDED_ROWS = 1_000_000  # and one with more: their parties are broadcast (~100 bytes a pair)


@dataclass(frozen=True)
class Additions:
    """What an additive model takes in on its dates: {date: the runs it will count}."""

    whole: dict[date, list[str]]  # computed whole: first seen, replayed, or mostly new
    added: dict[date, list[str]]  # the runs' rows aggregated alone and added


def plan_additions(
    source_rows: dict[tuple[date, str], int], counted: dict[date, set[str | None]], dates: list[date]
) -> Additions:
    """Pure: from the source's rows per (date, run) and the runs the model's rows on each
    date count (None: a row from before runs were counted), which dates take in what.

    A date is computed whole when the model has no row on it, when a run it counts is no
    longer in the source (a replay rewrote it) or a row counts no runs, or when the rows not
    counted yet are more than LARGE_SHARE of the date or MAX_ADDED_ROWS; otherwise only the
    runs not counted are added. A date with nothing new is left alone."""
    whole: dict[date, list[str]] = {}
    added_runs: dict[date, list[str]] = {}
    for day in sorted(set(dates)):
        rows = {run: n for (d, run), n in source_rows.items() if d == day}
        counted_runs = counted.get(day, set())
        pending = sorted(set(rows) - counted_runs)
        if not pending and counted_runs <= set(rows):
            continue
        pending_rows = sum(rows[run] for run in pending)
        too_many = pending_rows > min(LARGE_SHARE * sum(rows.values()), MAX_ADDED_ROWS)
        if not counted_runs or not counted_runs <= set(rows) or too_many:
            whole[day] = sorted(rows)
        else:
            added_runs[day] = pending
    return Additions(whole, added_runs)


def add_pending(
    spark: SparkSession,
    settings: Settings,
    model: Model,
    path: str,
    references: References,
    dates: list[date],
    columns: list[str] | None,
) -> str | None:
    """Take in the source rows on `dates` that the model does not count yet; None if there
    are none. Each date either is computed whole or has the new runs' aggregate added."""
    assert model.incremental_source is not None and model.date_column is not None  # checked by load_models
    source = settings.table_path(*model.incremental_source.split("."))
    if columns is not None and COUNTED_RUNS not in columns:  # built before runs were counted
        spark.sql(f"ALTER TABLE delta.`{path}` ADD COLUMNS ({COUNTED_RUNS} ARRAY<STRING>)")
    first_build = columns is None  # every date is computed whole, and the table is written even if empty
    counted = {} if first_build else counted_runs(spark, path, model.date_column, dates)
    plan = plan_additions(rows_per_run(spark, source, model.date_column, dates), counted, dates)
    if not (plan.whole or plan.added or first_build):
        return None
    date_column, empty = model.date_column, f"(SELECT * FROM {references(model.incremental_source)} WHERE false)"
    parts = []
    if plan.whole or first_build:
        rows = model_rows(spark, model, references.with_view(COUNTED, empty), sorted(plan.whole))
        parts.append(counting(rows, date_column, plan.whole, whole=True))
    if plan.added:
        pending = pending_condition(plan.added, date_column)
        narrowed = references.only_rows(model.incremental_source, pending).with_view(
            COUNTED,
            f"(SELECT * FROM {references(model.incremental_source)} "
            f"WHERE {date_column} IN ({sql_date_list(plan.added)}) AND NOT ({pending}))",
        )
        rows = model_rows(spark, model, narrowed, sorted(plan.added))
        parts.append(counting(rows, date_column, plan.added, whole=False))
    computed = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
    measures = dict(model.adds)
    if set(computed.columns) != {*model.keys, *measures, COUNTED_RUNS, WHOLE}:
        raise ModelError(
            f"{model.source}: an additive model selects its keys and the columns of 'adds'; "
            f"it selects {sorted(set(computed.columns) - {COUNTED_RUNS, WHOLE})}"
        )
    if first_build:
        rebuilt = computed.drop(WHOLE)
        rebuilt.write.format("delta").option(lake.STATISTICS_PROPERTY, lake.statistics_columns(rebuilt.schema)).save(
            path
        )
        return f"{len(plan.whole)} date(s) built"
    lake.merge_additions(
        spark,
        path,
        computed,
        list(model.keys),
        prune=f"t.{date_column} IN ({sql_date_list([*plan.whole, *plan.added])})",
        whole=WHOLE,
        unseen=f"NOT arrays_overlap(t.{COUNTED_RUNS}, s.{COUNTED_RUNS})",
        added={
            **{column: added(column, measure) for column, measure in measures.items()},
            COUNTED_RUNS: f"array_union(t.{COUNTED_RUNS}, s.{COUNTED_RUNS})",
        },
        whole_dates=f"t.{date_column} IN ({sql_date_list(plan.whole)})",
    )
    return f"{len(plan.whole)} date(s) computed whole, runs added on {len(plan.added)}"


def counting(rows: DataFrame, date_column: str, runs: dict[date, list[str]], whole: bool) -> DataFrame:
    """The computed rows with the runs they count (per date) and whether their date is whole."""
    pairs = [item for day, day_runs in sorted(runs.items()) for item in (F.lit(day), F.array(*map(F.lit, day_runs)))]
    by_date = F.create_map(*pairs)[F.col(date_column)] if pairs else F.lit(None)
    return rows.withColumn(COUNTED_RUNS, by_date.cast("array<string>")).withColumn(WHOLE, F.lit(whole))


def rows_on(spark: SparkSession, path: str, date_column: str, dates: list[date]) -> DataFrame:
    return spark.read.format("delta").load(path).where(f"{date_column} IN ({sql_date_list(dates)})")


def rows_per_run(spark: SparkSession, path: str, date_column: str, dates: list[date]) -> dict[tuple[date, str], int]:
    """{(date, run id): rows} of a table with lineage, on `dates`."""
    rows = rows_on(spark, path, date_column, dates).groupBy(date_column, LINEAGE).count().collect()
    return {(r[0], r[1]): r[2] for r in rows}


def counted_runs(spark: SparkSession, path: str, date_column: str, dates: list[date]) -> dict[date, set[str | None]]:
    """{date: the runs an additive model's rows count}; None for a row that counts none."""
    rows = (
        rows_on(spark, path, date_column, dates).select(date_column, F.explode_outer(COUNTED_RUNS)).distinct().collect()
    )
    counted: dict[date, set[str | None]] = defaultdict(set)
    for day, run in rows:
        counted[day].add(run)
    return dict(counted)
