"""A table's quality checks, declared beside its definition: the `checks:` of a silver
table's current contract, or of a gold model's header.

    checks:
      rows: touched_dates          # the rows checked: the dates a run touched, or all
      engine: spark                # GE's Spark engine for batches too big for pandas
      freshness: {column: started_at, timezone: Europe/Paris}  # adds hours_before_window_end
      references:                  # adds a flag: is `column` a known `key` of `table`?
        - {flag: station_known, column: station_id, table: seed.stations, key: id}
      expect:                      # Great Expectations' own expectation types and arguments
        - {type: expect_column_values_to_not_be_null, column: rider_count, mostly: 0.9, severity: warn}
      volume: {previous_days: 7, min_previous_days: 3, min_rows: 1, ratio_between: [0.5, 3.0], severity: error}

Each table becomes one GE suite (and `<table>.volume` with a `volume`); jobs/quality.py
builds the GE context from them at run time. `severity: error` holds the table back,
`warn` is recorded. Parsing is pure: a broken declaration fails with its file named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jobs.errors import LakehouseError

# our severities -> GE's (an expectation GE runs with `critical` fails the gate)
GE_SEVERITY = {"error": "critical", "warn": "warning"}
ROWS = ("touched_dates", "all")
ENGINES = ("pandas", "spark")
_KEYS = {"rows", "engine", "freshness", "references", "expect", "volume"}
_VOLUME_KEYS = {"previous_days", "min_previous_days", "min_rows", "ratio_between", "severity"}
COLUMN_KWARGS = ("column", "column_A", "column_B")


class ChecksError(LakehouseError):
    pass


@dataclass(frozen=True)
class Reference:
    """`flag` is true where `column` is a known `key` of `table` (a lake table or seed.<name>)."""

    flag: str
    column: str
    table: str
    key: str


@dataclass(frozen=True)
class BatchSpec:
    """The rows a suite is checked against.

    rows: `touched_dates` (the table's rows on the business dates this run touched),
    `all` (the whole table: dimensions), or `daily_volume` (one row per window day:
    its row count against the median of the previous days). `key`: a silver table's
    business key (beyond a run's window, its gate checks the rows sharing a key with
    rows no gate has passed; see jobs/quality.py)."""

    table: str
    rows: str
    date_column: str | None = None
    freshness: Mapping[str, str] | None = None  # {"column": ..., "timezone": ...} -> hours_before_window_end
    references: tuple[Reference, ...] = ()
    key: tuple[str, ...] = ()
    previous_days: int = 7
    min_previous_days: int = 3

    @property
    def layer(self) -> str:
        return self.table.split(".")[0]


@dataclass(frozen=True)
class Expectation:
    type: str
    kwargs: Mapping[str, Any]
    severity: str  # error | warn

    @property
    def columns(self) -> list[str]:
        return [self.kwargs[k] for k in COLUMN_KWARGS if k in self.kwargs] + list(self.kwargs.get("column_list", []))


@dataclass(frozen=True)
class Suite:
    name: str
    batch: BatchSpec
    expectations: tuple[Expectation, ...]
    engine: str = "pandas"
    where: str = field(default="", compare=False)  # the file that declared it

    @property
    def columns(self) -> list[str]:
        """The columns its expectations read: the batch carries only these."""
        return list(dict.fromkeys(c for e in self.expectations for c in e.columns))


def parse_checks(
    document: Any, table: str, date_column: str | None, where: str, key: tuple[str, ...] = ()
) -> tuple[Suite, ...]:
    """The suites a table's `checks:` declare (`key`: a silver table's business key)."""
    here = f"{where}: checks"
    if not isinstance(document, dict):
        raise ChecksError(f"{here}: expected a mapping with 'expect' (and optionally {sorted(_KEYS - {'expect'})})")
    unknown = set(document) - _KEYS
    if unknown:
        raise ChecksError(f"{here}: unknown key(s) {sorted(unknown)}")
    rows = document.get("rows", "touched_dates" if date_column else "all")
    if rows not in ROWS:
        raise ChecksError(f"{here}: rows is one of {', '.join(ROWS)}")
    if rows == "touched_dates" and not date_column:
        raise ChecksError(f"{here}: rows touched_dates needs a table with a date column")
    engine = document.get("engine", "pandas")
    if engine not in ENGINES:
        raise ChecksError(f"{here}: engine is one of {', '.join(ENGINES)}")
    freshness = document.get("freshness")
    if freshness is not None and (not isinstance(freshness, dict) or "column" not in freshness):
        raise ChecksError(f"{here}: freshness needs a column (and a timezone, UTC if not given)")
    references = tuple(parse_reference(raw, here) for raw in document.get("references") or [])
    expectations = tuple(parse_expectation(raw, here) for raw in document.get("expect") or [])
    if not expectations:
        raise ChecksError(f"{here}: 'expect' lists no expectation")
    batch = BatchSpec(table, rows, date_column, freshness, references, key)
    suites = [Suite(table, batch, expectations, engine, where)]
    if "volume" in document:
        suites.append(parse_volume(document["volume"], table, date_column, where))
    return tuple(suites)


def parse_reference(raw: Any, here: str) -> Reference:
    keys = {"flag", "column", "table", "key"}
    if not isinstance(raw, dict) or set(raw) != keys:
        raise ChecksError(f"{here}: a reference has exactly {sorted(keys)} ({raw!r})")
    return Reference(**{k: str(v) for k, v in raw.items()})


def parse_expectation(raw: Any, here: str) -> Expectation:
    if not isinstance(raw, dict) or not str(raw.get("type", "")).startswith("expect_"):
        raise ChecksError(f"{here}: every expectation needs a type expect_... ({raw!r})")
    severity = raw.get("severity")
    if severity not in GE_SEVERITY:
        raise ChecksError(f"{here}: {raw['type']} needs a severity, one of {', '.join(GE_SEVERITY)}")
    kwargs = {k: v for k, v in raw.items() if k not in ("type", "severity")}
    return Expectation(str(raw["type"]), kwargs, severity)


def parse_volume(raw: Any, table: str, date_column: str | None, where: str) -> Suite:
    """A day's rows against the median of the previous days': at least `min_rows`, and a
    ratio to that median within `ratio_between`."""
    here = f"{where}: checks.volume"
    if not date_column:
        raise ChecksError(f"{here}: needs a table with a date column")
    if not isinstance(raw, dict) or set(raw) - _VOLUME_KEYS:
        raise ChecksError(f"{here}: a mapping of {sorted(_VOLUME_KEYS)}")
    severity = raw.get("severity", "error")
    if severity not in GE_SEVERITY:
        raise ChecksError(f"{here}: severity is one of {', '.join(GE_SEVERITY)}")
    low, high = raw.get("ratio_between", (0.5, 3.0))
    batch = BatchSpec(
        table,
        "daily_volume",
        date_column,
        previous_days=int(raw.get("previous_days", 7)),
        min_previous_days=int(raw.get("min_previous_days", 3)),
    )
    expectations = (
        Expectation(
            "expect_column_values_to_be_between", {"column": "rows", "min_value": raw.get("min_rows", 1)}, severity
        ),
        Expectation(
            "expect_column_values_to_be_between",
            {"column": "volume_ratio", "min_value": float(low), "max_value": float(high)},
            severity,
        ),
    )
    return Suite(f"{table}.volume", batch, expectations, "pandas", where)
