"""Contracts compiled to Spark SQL: every line gets its reason codes in one pass.

Reason codes (machine-readable, stable):
  malformed_json, invalid_utf8, oversize_line, corrupt_file    the line could not be read
  missing_field:<envelope field> / missing_field:payload.<f>  absent or null (or an empty
                                                              envelope string), not nullable
  wrong_type:<envelope field> / wrong_type:payload.<f>        present, but not of its type
  unknown_event_type, unknown_schema_version                  no contract for the event
  rule:<field or column>_range|_enum|_pattern|_length         a field rule failed
  rule:<code>                                                 a cross-field rule failed
The envelope is checked first, by its own contract (jobs/envelope.py); payload field
names are the producer's (as sent); payload rule codes use conformed columns.

The contracts become SQL expression text, handed to Spark a projection at a time: built
as Column objects, the same expressions cost one call into the JVM per node (some twenty
thousand a run, most of the validate stage's time); as text, Spark parses each projection
once. The text is built with jobs/sql_literals.py's small functions, one per construct.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame

from jobs.contract_model import CompareRule, Contract, ContractRegistry, FieldSpec, SumRule
from jobs.envelope import EnvelopeContract, EnvelopeField
from jobs.patterns import spark_matches
from jobs.sql_literals import all_of, any_of, case, literal, name, spark_string

CORRUPT = "_corrupt_record"
UINT256_MAX = str(2**256 - 1)
LEADING_ZEROS = r"^0+(?=\d)"
UINT256_DIGITS = r"^[0-9]{1,78}$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
EMPTY_REASONS = "CAST(array() AS array<string>)"


def reasons_array(failures: list[tuple[str, str]]) -> str:
    """[code for (condition, code) if condition], nulls treated as false.

    Built with `concat`, not `array_compact`/`filter`: those are higher-order functions,
    which Spark never compiles, and they drag every condition beneath them into row-by-row
    interpretation."""
    if not failures:
        return EMPTY_REASONS
    parts = [case([(condition, f"array({spark_string(code)})")], EMPTY_REASONS) for condition, code in failures]
    return f"concat({', '.join(parts)})"


# -- payload fields -------------------------------------------------------------------


def typed_value(spec: FieldSpec, raw: str) -> str:
    """The raw JSON text of a field, as its contract type; null if it is not of that type."""
    if spec.type == "string":
        return raw
    if spec.type in ("integer", "long", "double", "boolean") or spec.type.startswith("decimal"):
        return f"TRY_CAST({raw} AS {spark_type(spec)})"
    if spec.type == "timestamp":
        wall_clock = f"try_to_timestamp({raw}, {spark_string(spec.format or '')})"
        if spec.timezone and spec.timezone != "UTC":
            return f"to_utc_timestamp({wall_clock}, {spark_string(spec.timezone)})"
        return wall_clock
    if spec.type == "uint256":
        canonical = f"regexp_replace({raw}, {spark_string(LEADING_ZEROS)}, '')"
        fits = f"length({canonical}) < 78 OR {canonical} <= {spark_string(UINT256_MAX)}"
        return case([(f"{raw} RLIKE {spark_string(UINT256_DIGITS)} AND ({fits})", canonical)])
    raise ValueError(f"unsupported type {spec.type}")


# -- what differs between SQL engines ------------------------------------------------


def holds_json_object(value: str, line: str, field_name: str) -> str:
    """Whether the top-level field `field_name` of the JSON `line` is an object.

    Spark hands an object's text and a string's content alike (`{"a":1}` both for
    `"payload":{"a":1}` and for `"payload":"{\\"a\\":1}"`), so a text that opens like
    an object is told from a JSON-encoded string by the raw line: the key followed by a
    quote. Quotes inside a string are escaped, so nothing nested in a string can look
    like the key. The compact form is tested first: a substring search, no regex."""
    compact_object = spark_string(f'"{field_name}":{{')
    string_form = spark_string(f'"{field_name}"' + r'\s*:\s*"')
    object_form = spark_string(f'"{field_name}"' + r"\s*:\s*\{")
    return (
        f"startswith({value}, '{{') AND (contains({line}, {compact_object})"
        f" OR NOT ({line} RLIKE {string_form}) OR {line} RLIKE {object_form})"
    )


@dataclass(frozen=True)
class Dialect:
    """What the SQL text of the rules needs from an engine: its literals, its
    regular-expression match and its test of a JSON object. Spark's is the job's; bench/duckdb_same_work.py
    writes the same rules for DuckDB."""

    literal: Callable[[object], str]
    matches: Callable[[str, str], str]  # (value, regular expression) -> a condition
    holds_object: Callable[[str, str, str], str]  # (value, line, field name) -> a condition


SPARK = Dialect(
    literal,
    spark_matches,
    holds_json_object,
)


def field_rule_failures(spec: FieldSpec, value: str, dialect: Dialect = SPARK) -> list[tuple[str, str]]:
    failures = []
    if spec.min is not None or spec.max is not None:
        bounds = [f"{value} >= {dialect.literal(spec.min)}"] if spec.min is not None else []
        bounds += [f"{value} <= {dialect.literal(spec.max)}"] if spec.max is not None else []
        failures.append((f"{value} IS NOT NULL AND NOT ({all_of(bounds)})", f"rule:{spec.column}_range"))
    if spec.enum is not None:
        allowed = ", ".join(dialect.literal(v) for v in spec.enum)
        failures.append((f"{value} IS NOT NULL AND NOT ({value} IN ({allowed}))", f"rule:{spec.column}_enum"))
    if spec.pattern is not None:
        failures.append(
            (f"{value} IS NOT NULL AND NOT ({dialect.matches(value, spec.pattern)})", f"rule:{spec.column}_pattern")
        )
    if spec.max_length is not None:
        failures.append((f"{value} IS NOT NULL AND length({value}) > {spec.max_length}", f"rule:{spec.column}_length"))
    return failures


COMPARISONS = {"<", "<=", ">", ">=", "==", "!="}


def cross_rule_failure(
    rule: CompareRule | SumRule, contract: Contract, values: dict[str, str], dialect: Dialect = SPARK
) -> tuple[str, str]:
    # A cross-field rule is judged only when its required inputs are there: a missing
    # or mistyped input already has its own reason.
    judged = all_of(f"{values[c]} IS NOT NULL" for c in rule.columns if not contract.field(c).nullable)
    if isinstance(rule, CompareRule):
        assert rule.op in COMPARISONS, rule.op  # checked when the contract is loaded
        op = "=" if rule.op == "==" else rule.op
        holds = f"{values[rule.left]} {op} {values[rule.right]}"
        return f"({judged}) AND NOT coalesce({holds}, true)", f"rule:{rule.code}"
    parts = " + ".join(f"coalesce({values[p]}, 0)" for p in rule.parts)
    mismatch = f"abs({values[rule.total]} - ({parts})) > {dialect.literal(float(rule.tolerance))}"
    return f"({judged}) AND coalesce({mismatch}, false)", f"rule:{rule.code}"


class CompiledContract:
    """One contract as SQL over the parsed payload struct `payload` (a column name)."""

    def __init__(self, contract: Contract, payload: str):
        self.contract = contract
        self.raw = {spec.column: f"{payload}.{name(spec.name)}" for spec in contract.fields}
        self.values = {spec.column: typed_value(spec, self.raw[spec.column]) for spec in contract.fields}

    def typed_columns(self, prefix: str, applies: str) -> dict[str, str]:
        """The typed values as columns of a projection of their own, computed only where
        this contract applies; from then on `values` refers to those columns."""
        columns = {f"{prefix}{column}": case([(applies, value)]) for column, value in self.values.items()}
        self.values = {column: name(f"{prefix}{column}") for column in self.values}
        return columns

    def failures(self) -> list[tuple[str, str]]:
        failures: list[tuple[str, str]] = []
        for spec in self.contract.fields:
            raw, value = self.raw[spec.column], self.values[spec.column]
            if not spec.nullable:
                failures.append((f"{raw} IS NULL", f"missing_field:payload.{spec.name}"))
            failures.append((f"{raw} IS NOT NULL AND {value} IS NULL", f"wrong_type:payload.{spec.name}"))
            failures.extend(field_rule_failures(spec, value))
        failures.extend(cross_rule_failure(rule, self.contract, self.values) for rule in self.contract.rules)
        return failures


def payload_ddl(registry: ContractRegistry) -> str:
    """Every payload field of every contract, as raw text: one JSON parse serves them all."""
    names = sorted({spec.name for contract in registry.contracts for spec in contract.fields})
    return ", ".join(f"{name(n)} STRING" for n in names)


# -- the envelope ---------------------------------------------------------------------


def envelope_ddl(envelope: EnvelopeContract) -> str:
    """Every envelope field as raw text (a JSON object's text for the payload)."""
    return ", ".join(f"{name(n)} STRING" for n in [*envelope.names, CORRUPT])


def envelope_field_failures(
    spec: EnvelopeField, raw: str, typed: str | None, line: str, not_after: str, dialect: Dialect = SPARK
) -> list[tuple[str, str]]:
    """(condition, reason) for one envelope field. `typed`: a timestamp's parsed value;
    `not_after`: the latest instant a timestamp may name (landing time plus skew)."""
    field_name = spec.name
    present = f"({raw} IS NOT NULL AND {raw} != '')"
    failures = [] if spec.nullable else [(f"NOT {present}", f"missing_field:{field_name}")]
    if spec.type == "uuid":
        failures.append((f"{present} AND NOT ({dialect.matches(raw, UUID_PATTERN)})", f"wrong_type:{field_name}"))
    if spec.type == "object":
        failures.append(
            (f"{present} AND NOT ({dialect.holds_object(raw, line, field_name)})", f"wrong_type:{field_name}")
        )
    if spec.type == "timestamp":
        assert typed is not None, f"{field_name}: a timestamp field needs its parsed value"
        failures.append((f"{present} AND {typed} IS NULL", f"wrong_type:{field_name}"))
        out_of_range = [f"{typed} < {dialect.literal(spec.not_before)}"] if spec.not_before is not None else []
        out_of_range += [f"{typed} > {not_after}"] if spec.not_after_landing else []
        failures.append((f"{typed} IS NOT NULL AND ({any_of(out_of_range)})", f"rule:{field_name}_range"))
    if spec.pattern is not None:
        failures.append((f"{present} AND NOT ({dialect.matches(raw, spec.pattern)})", f"rule:{field_name}_pattern"))
    if spec.max_length is not None:
        failures.append((f"{present} AND length({raw}) > {spec.max_length}", f"rule:{field_name}_length"))
    return failures


# -- the whole line -------------------------------------------------------------------


def validate(lines: DataFrame, registry: ContractRegistry) -> DataFrame:
    """Adds the envelope columns, `contract_id`, `reasons` (empty = valid) and one struct
    per silver table holding the conformed, upcast values (null for other tables).
    `lines` has reader.LINES_SCHEMA's columns; `landed_at` bounds the envelope's timestamps."""
    envelope = registry.envelope
    json_options = f"map('mode', 'PERMISSIVE', 'columnNameOfCorruptRecord', {spark_string(CORRUPT)})"
    parsed = lines.selectExpr(
        "*",
        f"CASE WHEN read_error IS NULL THEN from_json(line, {spark_string(envelope_ddl(envelope))}, {json_options}) END"
        " AS _envelope",
    ).selectExpr("*", f"from_json(_envelope.payload, {spark_string(payload_ddl(registry))}) AS _payload")

    def env(field_name: str) -> str:
        return f"_envelope.{name(field_name)}"

    compiled = [CompiledContract(c, "_payload") for c in registry.contracts]
    is_contract = {
        c.contract.id: f"({env('event_type')} = {spark_string(c.contract.event_type)}"
        f" AND {env('schema_version')} = {spark_string(c.contract.schema_version)})"
        for c in compiled
    }

    # Every typed value is computed once, in a projection of its own, and only for the
    # lines of its contract: the reasons, the conformed structs and the business date
    # then refer to the column. (Spark does not hoist common subexpressions out of the
    # branches of a CASE, so inline they were evaluated up to four times a line.)
    timestamps = envelope.of_type("timestamp")
    typed_columns: dict[str, str] = {
        f"_envelope_{spec.name}": f"try_to_timestamp({env(spec.name)}, {spark_string(spec.format or '')})"
        for spec in timestamps
    }
    for number, contract in enumerate(compiled):
        typed_columns.update(contract.typed_columns(f"_typed_{number}_", is_contract[contract.contract.id]))
    parsed = parsed.selectExpr("*", *[f"{value} AS {name(column)}" for column, value in typed_columns.items()])
    typed_envelope = {spec.name: name(f"_envelope_{spec.name}") for spec in timestamps}

    malformed = f"(_envelope IS NULL OR {env(CORRUPT)} IS NOT NULL)"
    not_after = f"(landed_at + INTERVAL {envelope.clock_skew_seconds} SECONDS)"
    envelope_failures = [
        failure
        for spec in envelope.fields
        for failure in envelope_field_failures(spec, env(spec.name), typed_envelope.get(spec.name), "line", not_after)
    ]
    parsed = parsed.selectExpr("*", f"{reasons_array(envelope_failures)} AS _envelope_reasons")

    contract_id = case([(is_contract[c.contract.id], spark_string(c.contract.id)) for c in compiled])
    payload_reasons = case([(is_contract[c.contract.id], reasons_array(c.failures())) for c in compiled])
    known_type = f"{env('event_type')} IN ({', '.join(spark_string(t) for t in registry.event_types)})"
    reasons = case(
        [
            ("read_error IS NOT NULL", "array(read_error)"),
            (malformed, "array('malformed_json')"),
            ("size(_envelope_reasons) > 0", "_envelope_reasons"),
            (f"NOT ({known_type})", "array('unknown_event_type')"),
            (f"({contract_id}) IS NULL", "array('unknown_schema_version')"),
        ],
        payload_reasons,
    )
    return parsed.selectExpr(
        "source_file",
        "line_number",
        "line",
        "read_error",
        f"{env('event_type')} AS event_type",
        f"{env('schema_version')} AS schema_version",
        f"{env('root_id')} AS root_id",
        f"{env('collector_id')} AS collector_id",
        f"{typed_envelope['collector_tstamp']} AS collector_tstamp",
        f"{typed_envelope['enriched_tstamp']} AS enriched_tstamp",
        f"{env('payload')} AS payload_json",
        f"{contract_id} AS contract_id",
        f"(read_error IS NULL AND NOT {malformed}) AS parsed",
        f"{reasons} AS reasons",
        *[
            f"{conformed_struct(registry, table, compiled, is_contract)} AS {name(struct_name(table))}"
            for table in registry.target_tables
        ],
    )


def struct_name(table: str) -> str:
    """silver.rides -> typed_rides"""
    return "typed_" + table.split(".", 1)[1]


def conformed_struct(
    registry: ContractRegistry, table: str, compiled: list[CompiledContract], is_contract: dict[str, str]
) -> str:
    """The current version's columns for rows of this table; older versions upcast."""
    current = registry.current(registry.target_tables[table])
    versions = [c for c in compiled if c.contract.target_table == table]
    columns = {}
    for spec in current.fields:
        branches = []
        for version in versions:
            if spec.column in version.values:
                candidate = version.values[spec.column]
            else:
                candidate = literal(version.contract.upcast_set.get(spec.column))
            branches.append((is_contract[version.contract.id], f"CAST({candidate} AS {spark_type(spec)})"))
        assert branches, f"{table}: no compiled contract version"  # the current one is among them
        columns[spec.column] = case(branches)
    business_date = business_date_sql(current, columns[current.field(current.business_date).column])
    fields = [f"{spark_string(column)}, {value}" for column, value in columns.items()]
    return f"named_struct({', '.join(fields)}, 'business_date', {business_date})"


def business_date_sql(contract: Contract, instant: str) -> str:
    spec = contract.field(contract.business_date)
    if spec.timezone and spec.timezone != "UTC":
        return f"to_date(from_utc_timestamp({instant}, {spark_string(spec.timezone)}))"
    return f"to_date({instant})"


def spark_type(spec: FieldSpec) -> str:
    return {
        "integer": "int",
        "long": "bigint",
        "double": "double",
        "boolean": "boolean",
        "string": "string",
        "timestamp": "timestamp",
        "uint256": "string",
    }.get(spec.type, spec.type)
