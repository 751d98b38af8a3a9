"""`lakehouse report`: what landed, as Trino serves it, printed as plain tables."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from jobs.curation.tables import LEDGER
from jobs.definitions import Definitions
from jobs.settings import Settings
from jobs.trino_catalog import query, trino_connection


def display_value(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, Decimal):
        return format(value, "f")  # never scientific notation: -0.000000000000000001
    return str(value)


def print_table(header: list[str], rows: list[list]) -> None:
    cells = [header, *[[display_value(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=False)).rstrip())
        if n == 0:
            print("  ".join("-" * width for width in widths))


def print_report(settings: Settings, day: date) -> None:
    """What landed, as Trino serves it: every table from the contract and model registries."""
    definitions = Definitions.load(settings)
    silver = list(definitions.contracts.target_tables)
    gold = [*definitions.gold_tables, *(view.table for view in definitions.gold_views)]
    conn = trino_connection(settings)

    def show(title: str, sql: str, header: list[str], connection=conn, user: str = "") -> None:
        print(f"\n{title}\nTrino{user} > {' '.join(sql.split())}")
        print_table(header, query(connection, sql))

    def rows_of(tables: list[str]) -> str:
        return " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in tables) + " ORDER BY 1"

    landed = day.isoformat()
    show("Rows per table", rows_of(["bronze.events", "quarantine.events", *silver, LEDGER]), ["table", "rows"])
    show(
        f"Quarantine by reason (landed {landed})",
        f"""
        SELECT primary_reason, count(*) AS lines FROM quarantine.events
        WHERE event_date = DATE '{landed}' GROUP BY 1 ORDER BY 2 DESC, 1""",
        ["reason", "lines"],
    )
    show(
        "Last runs",
        f"""
        SELECT run_id, status, window_start, round(seconds, 1),
               element_at(counts, 'lines_read'), element_at(counts, 'inserted'),
               element_at(counts, 'duplicates_in_window') + element_at(counts, 'duplicates_history'),
               element_at(counts, 'quarantined_unparseable') + element_at(counts, 'quarantined_contract')
        FROM {LEDGER} WHERE status <> 'running' ORDER BY started_at DESC LIMIT 5""",
        ["run", "status", "window", "seconds", "lines", "inserted", "duplicates", "quarantined"],
    )
    for table in silver:
        show(
            f"{table} by business date",
            f"SELECT business_date, count(*) FROM {table} GROUP BY 1 ORDER BY 1 DESC LIMIT 4",
            ["business_date", "rows"],
        )
    analyst = trino_connection(settings, as_analyst=True)  # read-only: gold and serving only
    show("Gold, as the read-only analyst", rows_of(gold), ["table", "rows"], analyst, " (user analyst)")
