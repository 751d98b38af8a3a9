"""What `lakehouse maintain` buys on the bench's history: the Trino latency of two
dashboard-style queries over every day of it, before and after (the files per table come
from the maintain run's ledger row).

The two queries read every column, day by day, of the silver table and of the dated gold
model that hold the most rows (chosen from the definitions, not named here). Each side is
registered in a schema of its own, so that Trino plans the "after" queries on the tables'
new snapshots."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from bench.trino_scratch import dashboard_query, plain_columns, registered, timed
from jobs.definitions import Definitions
from jobs.settings import Settings
from jobs.trino_catalog import query, trino_connection


def dated_tables(definitions: Definitions) -> dict[str, str]:
    """The tables a dashboard reads by day, with their date column."""
    silver = {table: "business_date" for table in definitions.contracts.target_tables}
    gold = {model.table: model.date_column for model in definitions.models if model.date_column}
    return {**silver, **gold}


def largest(settings: Settings, names: dict[str, str], layer: str) -> str:
    conn = trino_connection(settings)
    rows = {t: query(conn, f"SELECT count(*) FROM {q}")[0][0] for t, q in names.items() if t.startswith(f"{layer}.")}
    return max(rows, key=lambda t: rows[t])


def latencies(settings: Settings, warehouse: Settings, schema: str, tables: dict[str, str], days: tuple[date, date]):
    """{table: fastest of three runs of its dashboard query} over the days (first, last)."""
    with registered(settings, warehouse, schema, list(tables)) as names:
        conn = trino_connection(settings)
        return {
            table: timed(conn, dashboard_query(names[table], plain_columns(settings, names[table]), *days, column))
            for table, column in tables.items()
        }


def measure(settings: Settings, warehouse: Settings, days: tuple[date, date], maintain: Callable[[], float]) -> dict:
    """The two queries' latency before and after `maintain()` (which returns its seconds)."""
    dated = dated_tables(Definitions.load(warehouse))
    with registered(settings, warehouse, "bench_pick", list(dated)) as names:
        chosen = [largest(settings, names, "silver"), largest(settings, names, "gold")]
    queried = {table: dated[table] for table in chosen}
    before = latencies(settings, warehouse, "bench_before_maintain", queried, days)
    seconds = maintain()
    after = latencies(settings, warehouse, "bench_after_maintain", queried, days)
    return {
        "maintain_seconds": round(seconds, 2),
        "days": [str(d) for d in days],
        "queries": {table: {"before": before[table], "after": after[table]} for table in chosen},
    }
