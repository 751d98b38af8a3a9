"""Baseline 2 of `make bench`: the work of our validation pass, in DuckDB on one node.

Compiled from the same contract files as jobs/validation.py (models/contracts/), to
DuckDB's SQL: every line gets the same reason codes in the same order of precedence
(read errors, malformed JSON, the envelope's contract, unknown types and versions, the
payload's fields and cross-field rules); the valid events are conformed and upcast to
their table's current version and deduplicated on the business key in arrival order.
Written as Parquet: bronze (every parsed envelope, payload as text), quarantine (every
line with a reason, the raw line kept for the unparseable) and one file per silver table.

Lines are read as our job reads them (jobs/reader.py: gzip members, UTF-8, line numbers,
oversize lines), in a pool of processes, and handed to DuckDB as Arrow.

Not done here, and done by our job: deduplication against history (the measured first
run has none), Delta commits, the quality gates, gold. Known difference: a wall-clock time
in the repeated hour of a clock change takes the later offset here (ICU), the earlier one
in Spark.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from jobs.contract_model import ContractRegistry, FieldSpec
from jobs.reader import split_file
from jobs.sql_literals import sql_string
from jobs.validation import (
    UINT256_DIGITS,
    UINT256_MAX,
    Dialect,
    cross_rule_failure,
    envelope_field_failures,
    field_rule_failures,
)

# Spark's datetime pattern letters the contracts use, as strptime's directives.
JAVA_TO_STRPTIME = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S", "Z": "%z"}
JAVA_TOKEN = re.compile(r"'([^']*)'|yyyy|MM|dd|HH|mm|ss|Z|[A-Za-z]+|.", re.DOTALL)
# What Spark's (ANSI) cast from text to a whole number accepts.
WHOLE_NUMBER = r"^\s*[+-]?[0-9]+\s*$"
DUCKDB_TYPES = {"integer": "INTEGER", "long": "BIGINT", "double": "DOUBLE", "boolean": "BOOLEAN", "string": "VARCHAR"}


def strptime_format(java: str) -> str:
    """'yyyy-MM-dd HH:mm:ss Z' -> '%Y-%m-%d %H:%M:%S %z'; refuses letters it does not know."""
    out = []
    for match in JAVA_TOKEN.finditer(java):
        token = match.group(0)
        if match.group(1) is not None:
            out.append(match.group(1).replace("%", "%%"))
        elif token in JAVA_TO_STRPTIME:
            out.append(JAVA_TO_STRPTIME[token])
        elif token.isalpha():
            raise ValueError(f"datetime pattern {java!r}: {token!r} has no strptime directive here")
        else:
            out.append(token.replace("%", "%%"))
    return "".join(out)


def duck_type(spec: FieldSpec) -> str:
    if spec.type.startswith("decimal"):
        return spec.type.upper()
    return {"timestamp": "TIMESTAMP", "uint256": "VARCHAR"}.get(spec.type, DUCKDB_TYPES.get(spec.type, ""))


def quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return f"TIMESTAMP {sql_string(value.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S'))}"
    return sql_string(str(value))


# The contracts' rules are jobs/validation.py's, written in DuckDB's SQL.
DUCKDB = Dialect(
    literal,
    lambda value, pattern: f"regexp_matches({value}, {sql_string(pattern)})",
    lambda value, line, field_name: f"json_type({line}, {sql_string('$.' + quoted(field_name))}) = 'OBJECT'",
)


def json_field(document: str, field_name: str) -> str:
    """The field's value as text (a string's content, other values' JSON text), or NULL."""
    return f"({document} ->> {sql_string('$.' + quoted(field_name))})"


def typed_value(spec: FieldSpec, raw: str) -> str:
    if spec.type == "string":
        return raw
    if spec.type in ("integer", "long"):
        whole = f"regexp_matches({raw}, {sql_string(WHOLE_NUMBER)})"
        return f"CASE WHEN {whole} THEN TRY_CAST({raw} AS {duck_type(spec)}) END"
    if spec.type in ("double", "boolean") or spec.type.startswith("decimal"):
        return f"TRY_CAST({raw} AS {duck_type(spec)})"
    if spec.type == "timestamp":
        parsed = f"try_strptime({raw}, {sql_string(strptime_format(spec.format or ''))})"
        if spec.timezone and spec.timezone != "UTC":  # wall-clock time there, as a UTC instant
            return f"CAST(timezone({sql_string(spec.timezone)}, CAST({parsed} AS TIMESTAMP)) AS TIMESTAMP)"
        return f"CAST({parsed} AS TIMESTAMP)"
    if spec.type == "uint256":
        canonical = f"regexp_replace({raw}, '^0+([0-9])', '\\1')"
        fits = f"length({canonical}) < 78 OR {canonical} <= {sql_string(UINT256_MAX)}"
        return f"CASE WHEN regexp_matches({raw}, {sql_string(UINT256_DIGITS)}) AND ({fits}) THEN {canonical} END"
    raise ValueError(f"unsupported type {spec.type}")


def field_failures(spec: FieldSpec, raw: str, value: str) -> list[tuple[str, str]]:
    failures = [] if spec.nullable else [(f"{raw} IS NULL", f"missing_field:payload.{spec.name}")]
    failures.append((f"{raw} IS NOT NULL AND {value} IS NULL", f"wrong_type:payload.{spec.name}"))
    return failures + field_rule_failures(spec, value, DUCKDB)


def reasons(failures: list[tuple[str, str]]) -> str:
    """[code for (condition, code) if condition], a NULL condition counting as false."""
    if not failures:
        return "CAST([] AS VARCHAR[])"
    codes = ", ".join(f"CASE WHEN {condition} THEN {sql_string(code)} END" for condition, code in failures)
    return f"[code FOR code IN [{codes}] IF code IS NOT NULL]"


def validation_sql(registry: ContractRegistry) -> str:
    """SELECT over `lines` (jobs/reader.py's columns): the envelope, `contract_id`,
    `reasons` (empty: valid) and, per silver table, its conformed columns `<n>__<column>`."""
    envelope = registry.envelope
    stamps = {spec.name: f"_env_{spec.name}" for spec in envelope.of_type("timestamp")}
    parsed_stamps = [
        f"CAST(try_strptime(_raw_{spec.name}, {sql_string(strptime_format(spec.format or ''))}) AS TIMESTAMP)"
        f" AS {stamps[spec.name]}"
        for spec in envelope.of_type("timestamp")
    ]
    raw_fields = ", ".join(
        f"CASE WHEN _parsed THEN {json_field('line', spec.name)} END AS _raw_{spec.name}" for spec in envelope.fields
    )
    is_contract = {
        c.id: f"(_event_type = {sql_string(c.event_type)} AND _schema_version = {sql_string(c.schema_version)})"
        for c in registry.contracts
    }
    typed_columns, payload_failures, values_of = [], [], {}
    for number, contract in enumerate(registry.contracts):
        raw = {spec.column: json_field("_payload", spec.name) for spec in contract.fields}
        values = {spec.column: f"_c{number}_{spec.column}" for spec in contract.fields}
        applies = is_contract[contract.id]
        typed_columns += [
            f"CASE WHEN {applies} THEN {typed_value(spec, raw[spec.column])} END AS {values[spec.column]}"
            for spec in contract.fields
        ]
        failures = [f for spec in contract.fields for f in field_failures(spec, raw[spec.column], values[spec.column])]
        failures += [cross_rule_failure(rule, contract, values, DUCKDB) for rule in contract.rules]
        payload_failures.append((is_contract[contract.id], reasons(failures)))
        values_of[contract.id] = values
    conformed = []
    for number, table in enumerate(registry.target_tables):
        current = registry.current(registry.target_tables[table])
        versions = [c for c in registry.contracts if c.target_table == table]
        columns = {}
        for spec in current.fields:
            branches = " ".join(
                f"WHEN {is_contract[v.id]} THEN CAST("
                f"{values_of[v.id].get(spec.column) or literal(v.upcast_set.get(spec.column))} AS {duck_type(spec)})"
                for v in versions
            )
            columns[spec.column] = f"CASE {branches} END"
        instant = columns[current.field(current.business_date).column]
        zone = current.field(current.business_date).timezone
        local = f"timezone({sql_string(zone)}, timezone('UTC', {instant}))" if zone and zone != "UTC" else instant
        conformed += [f"{value} AS {quoted(f't{number}__{column}')}" for column, value in columns.items()]
        conformed.append(f"CAST({local} AS DATE) AS {quoted(f't{number}__business_date')}")
    envelope_reasons = reasons(
        [
            failure
            for spec in envelope.fields
            for failure in envelope_field_failures(
                spec, f"_raw_{spec.name}", stamps.get(spec.name), "line", "_not_after", DUCKDB
            )
        ]
    )
    contract_id = "CASE " + " ".join(f"WHEN {cond} THEN {sql_string(i)}" for i, cond in is_contract.items()) + " END"
    known = ", ".join(sql_string(t) for t in registry.event_types)
    payload_reasons = "CASE " + " ".join(f"WHEN {c} THEN {r}" for c, r in payload_failures) + " END"
    line_reasons = (
        "CASE WHEN read_error IS NOT NULL THEN [read_error] WHEN NOT _parsed THEN ['malformed_json']"
        " WHEN len(_envelope_reasons) > 0 THEN _envelope_reasons"
        f" WHEN NOT (_event_type IN ({known})) THEN ['unknown_event_type']"
        f" WHEN _contract_id IS NULL THEN ['unknown_schema_version'] ELSE {payload_reasons} END"
    )
    stamp_columns = ", ".join(f"{column} AS {quoted(name)}" for name, column in stamps.items())
    # JSON functions fail a whole query on a malformed document: every one of them is
    # guarded by _parsed (a CASE evaluates a branch only for the rows that take it).
    return f"""
WITH read AS (
  SELECT *, CASE WHEN read_error IS NULL AND json_valid(line) THEN json_type(line) = 'OBJECT' ELSE false END AS _parsed,
         CAST(landed_at AS TIMESTAMP) + INTERVAL {envelope.clock_skew_seconds} SECOND AS _not_after
  FROM lines
), enveloped AS (
  SELECT *, {raw_fields}, CASE WHEN _parsed THEN json_extract(line, '$.payload') END AS _payload FROM read
), stamped AS (
  SELECT *, _raw_event_type AS _event_type, _raw_schema_version AS _schema_version, {", ".join(parsed_stamps)}
  FROM enveloped
), typed AS (
  SELECT *, {contract_id} AS _contract_id, {", ".join(typed_columns)} FROM stamped
), checked AS (
  SELECT *, {envelope_reasons} AS _envelope_reasons FROM typed
)
SELECT source_file, line_number, line, read_error,
       _event_type AS event_type, _schema_version AS schema_version, _raw_root_id AS root_id,
       _raw_collector_id AS collector_id, {stamp_columns},
       _raw_payload AS payload_json, _contract_id AS contract_id, _parsed AS parsed, {line_reasons} AS reasons,
       {", ".join(conformed)}
FROM checked
"""


# -- the run -----------------------------------------------------------------------------------


def _split(path: str) -> pa.RecordBatch:
    file = Path(path)
    landed_at = datetime.fromtimestamp(file.stat().st_mtime, UTC)
    return split_file(path, file.read_bytes(), landed_at=landed_at)


def read_lines(files: list[str], workers: int = 2) -> pa.Table:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return pa.Table.from_batches(list(pool.map(_split, files, chunksize=4)))


def silver_sql(registry: ContractRegistry, number: int, table: str) -> str:
    """The valid rows of one silver table, first arrival per business key (newest state
    first for a table with `latest_by`), as our job orders them (jobs/curation/transform.py)."""
    current = registry.current(registry.target_tables[table])

    def column(name: str) -> str:
        return quoted(f"t{number}__{name}")

    selected = ", ".join(f"{column(c)} AS {quoted(c)}" for c in [*current.columns, "business_date"])
    order = [f"{column(current.latest_by)} DESC"] if current.latest_by else []
    order += ["collector_tstamp ASC NULLS LAST", "root_id", "source_file", "line_number"]
    key = ", ".join(column(k) for k in current.business_key)
    return (
        f"SELECT {selected}, root_id, collector_id, collector_tstamp, schema_version FROM validated"
        f" WHERE len(reasons) = 0 AND event_type = {sql_string(current.event_type)}"
        f" QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {', '.join(order)}) = 1"
    )


def run(files: list[str], registry: ContractRegistry, out: Path, workers: int = 2) -> tuple[float, dict[str, int]]:
    """Validate, quarantine, deduplicate and write the files' lines; (seconds, counts)."""
    import duckdb

    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(f"SET threads = {workers}")
    connection.register("lines", read_lines(files, workers))
    connection.execute(f"CREATE TEMP TABLE validated AS {validation_sql(registry)}")
    writes = {
        "bronze": "SELECT * EXCLUDE (line, read_error, reasons, parsed) FROM validated WHERE parsed",
        "quarantine": "SELECT source_file, line_number, CASE WHEN NOT parsed THEN line END AS raw_line, reasons,"
        " reasons[1] AS primary_reason, event_type, schema_version FROM validated WHERE len(reasons) > 0",
        **{table: silver_sql(registry, n, table) for n, table in enumerate(registry.target_tables)},
    }

    def count(query: str) -> int:
        row = connection.execute(f"SELECT count(*) FROM {query}").fetchone()
        assert row is not None  # a count has one row
        return int(row[0])

    counts = {}
    for name, query in writes.items():
        target = sql_string(str(out / f"{name}.parquet"))
        connection.execute(f"COPY ({query}) TO {target} (FORMAT parquet)")
        counts[name] = count(f"read_parquet({target})")
    counts["lines_read"] = count("validated")
    counts["valid"] = count("validated WHERE len(reasons) = 0")
    connection.close()
    return time.monotonic() - started, counts
