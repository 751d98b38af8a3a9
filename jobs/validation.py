"""Contracts compiled to Spark columns: every line gets its reason codes in one pass.

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
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from jobs.contracts import CompareRule, Contract, ContractRegistry, FieldSpec, SumRule
from jobs.envelope import EnvelopeContract, EnvelopeField

CORRUPT = "_corrupt_record"
UINT256_MAX = str(2**256 - 1)
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def reasons_array(conditions: list[tuple[Column, str]]) -> Column:
    """[code for (condition, code) if condition], nulls treated as false.

    Built with `concat`, not `array_compact`/`filter`: those are higher-order functions,
    which Spark never compiles, and they drag every condition beneath them into row-by-row
    interpretation."""
    empty = F.array().cast("array<string>")
    if not conditions:
        return empty
    return F.concat(*[F.when(cond, F.array(F.lit(code))).otherwise(empty) for cond, code in conditions])


# -- payload fields -------------------------------------------------------------------


def typed_value(spec: FieldSpec, raw: Column) -> Column:
    """The raw JSON text of a field, as its contract type; null if it is not of that type."""
    if spec.type == "string":
        return raw
    if spec.type == "integer":
        return raw.try_cast("int")
    if spec.type == "long":
        return raw.try_cast("bigint")
    if spec.type == "double":
        return raw.try_cast("double")
    if spec.type == "boolean":
        return raw.try_cast("boolean")
    if spec.type.startswith("decimal"):
        return raw.try_cast(spec.type)
    if spec.type == "timestamp":
        wall_clock = F.try_to_timestamp(raw, F.lit(spec.format))
        if spec.timezone and spec.timezone != "UTC":
            return F.to_utc_timestamp(wall_clock, spec.timezone)
        return wall_clock
    if spec.type == "uint256":
        canonical = F.regexp_replace(raw, r"^0+(?=\d)", "")
        fits = (F.length(canonical) < 78) | (canonical <= F.lit(UINT256_MAX))
        return F.when(raw.rlike(r"^[0-9]{1,78}$") & fits, canonical)
    raise ValueError(f"unsupported type {spec.type}")


def field_rule_failures(spec: FieldSpec, value: Column) -> list[tuple[Column, str]]:
    failures = []
    if spec.min is not None or spec.max is not None:
        in_range = F.lit(True)
        if spec.min is not None:
            in_range = in_range & (value >= F.lit(spec.min))
        if spec.max is not None:
            in_range = in_range & (value <= F.lit(spec.max))
        failures.append((value.isNotNull() & ~in_range, f"rule:{spec.column}_range"))
    if spec.enum is not None:
        failures.append((value.isNotNull() & ~value.isin(list(spec.enum)), f"rule:{spec.column}_enum"))
    if spec.pattern is not None:
        failures.append((value.isNotNull() & ~value.rlike(spec.pattern), f"rule:{spec.column}_pattern"))
    if spec.max_length is not None:
        failures.append((value.isNotNull() & (F.length(value) > spec.max_length), f"rule:{spec.column}_length"))
    return failures


def cross_rule_failure(
    rule: CompareRule | SumRule, contract: Contract, values: dict[str, Column]
) -> tuple[Column, str]:
    # A cross-field rule is judged only when its required inputs are there: a missing
    # or mistyped input already has its own reason.
    required = [values[c] for c in rule.columns if not contract.field(c).nullable]
    judged = reduce(lambda a, b: a & b, [v.isNotNull() for v in required], F.lit(True))
    if isinstance(rule, CompareRule):
        left, right = values[rule.left], values[rule.right]
        holds = {
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
            "==": left == right,
            "!=": left != right,
        }[rule.op]
        return judged & ~F.coalesce(holds, F.lit(True)), f"rule:{rule.code}"
    parts = reduce(lambda a, b: a + b, [F.coalesce(values[p], F.lit(0)) for p in rule.parts])
    mismatch = F.abs(values[rule.total] - parts) > F.lit(rule.tolerance)
    return judged & F.coalesce(mismatch, F.lit(False)), f"rule:{rule.code}"


class CompiledContract:
    """One contract as Spark columns over the parsed payload struct `p`."""

    def __init__(self, contract: Contract, payload: Column):
        self.contract = contract
        self.raw = {spec.column: payload[spec.name] for spec in contract.fields}
        self.values = {spec.column: typed_value(spec, self.raw[spec.column]) for spec in contract.fields}

    def typed_columns(self, prefix: str, applies: Column) -> dict[str, Column]:
        """The typed values as columns of a projection of their own, computed only where
        this contract applies; from then on `values` refers to those columns."""
        columns = {f"{prefix}{column}": F.when(applies, value) for column, value in self.values.items()}
        self.values = {column: F.col(f"{prefix}{column}") for column in self.values}
        return columns

    def failures(self) -> list[tuple[Column, str]]:
        failures: list[tuple[Column, str]] = []
        for spec in self.contract.fields:
            raw, value = self.raw[spec.column], self.values[spec.column]
            if not spec.nullable:
                failures.append((raw.isNull(), f"missing_field:payload.{spec.name}"))
            failures.append((raw.isNotNull() & value.isNull(), f"wrong_type:payload.{spec.name}"))
            failures.extend(field_rule_failures(spec, value))
        failures.extend(cross_rule_failure(rule, self.contract, self.values) for rule in self.contract.rules)
        return failures


def payload_schema(registry: ContractRegistry) -> StructType:
    """Every payload field of every contract, as raw text: one JSON parse serves them all."""
    names = sorted({spec.name for contract in registry.contracts for spec in contract.fields})
    return StructType([StructField(name, StringType()) for name in names])


# -- the envelope ---------------------------------------------------------------------


def envelope_schema(envelope: EnvelopeContract) -> StructType:
    """Every envelope field as raw text (a JSON object's text for the payload)."""
    return StructType(
        [StructField(name, StringType()) for name in envelope.names] + [StructField(CORRUPT, StringType())]
    )


def holds_json_object(text: Column, line: Column, name: str) -> Column:
    """Whether the top-level field `name` of the JSON `line` is an object.

    Spark hands an object's text and a string's content alike (`{"a":1}` both for
    `"payload":{"a":1}` and for `"payload":"{\\"a\\":1}"`), so a text that opens like
    an object is told from a JSON-encoded string by the raw line: the key followed by a
    quote. Quotes inside a string are escaped, so nothing nested in a string can look
    like the key. The compact form is tested first: a substring search, no regex."""
    compact_object = line.contains(f'"{name}":{{')
    string_form = line.rlike(f'"{name}"\\s*:\\s*"')
    object_form = line.rlike(f'"{name}"\\s*:\\s*\\{{')
    return text.startswith("{") & (compact_object | ~string_form | object_form)


def envelope_field_failures(
    spec: EnvelopeField, raw: Column, typed: Column | None, line: Column, not_after: Column
) -> list[tuple[Column, str]]:
    """(condition, reason) for one envelope field. `typed`: a timestamp's parsed value;
    `not_after`: the latest instant a timestamp may name (landing time plus skew)."""
    name = spec.name
    present = raw.isNotNull() & (raw != "")
    failures = [] if spec.nullable else [(~present, f"missing_field:{name}")]
    if spec.type == "uuid":
        failures.append((present & ~raw.rlike(UUID_PATTERN), f"wrong_type:{name}"))
    if spec.type == "object":
        failures.append((present & ~holds_json_object(raw, line, name), f"wrong_type:{name}"))
    if spec.type == "timestamp":
        assert typed is not None, f"{name}: a timestamp field needs its parsed value"
        failures.append((present & typed.isNull(), f"wrong_type:{name}"))
        out_of_range = F.lit(False)
        if spec.not_before is not None:
            out_of_range = out_of_range | (typed < F.lit(spec.not_before))
        if spec.not_after_landing:
            out_of_range = out_of_range | (typed > not_after)
        failures.append((typed.isNotNull() & out_of_range, f"rule:{name}_range"))
    if spec.pattern is not None:
        failures.append((present & ~raw.rlike(spec.pattern), f"rule:{name}_pattern"))
    if spec.max_length is not None:
        failures.append((present & (F.length(raw) > spec.max_length), f"rule:{name}_length"))
    return failures


# -- the whole line -------------------------------------------------------------------


def validate(lines: DataFrame, registry: ContractRegistry) -> DataFrame:
    """Adds the envelope columns, `contract_id`, `reasons` (empty = valid) and one struct
    per silver table holding the conformed, upcast values (null for other tables).
    `lines` has reader.LINES_SCHEMA's columns; `landed_at` bounds the envelope's timestamps."""
    envelope = registry.envelope
    parsed = lines.withColumn(
        "_envelope",
        F.when(
            F.col("read_error").isNull(),
            F.from_json(
                "line", envelope_schema(envelope), {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}
            ),
        ),
    )
    env = F.col("_envelope")
    parsed = parsed.withColumn("_payload", F.from_json(env["payload"], payload_schema(registry)))
    payload = F.col("_payload")

    compiled = [CompiledContract(c, payload) for c in registry.contracts]
    is_contract = {
        c.contract.id: (env["event_type"] == c.contract.event_type)
        & (env["schema_version"] == c.contract.schema_version)
        for c in compiled
    }

    # Every typed value is computed once, in a projection of its own, and only for the
    # lines of its contract: the reasons, the conformed structs and the business date
    # then refer to the column. (Spark does not hoist common subexpressions out of the
    # branches of a CASE, so inline they were evaluated up to four times a line.)
    timestamps = envelope.of_type("timestamp")
    typed_columns: dict[str, Column] = {
        f"_envelope_{spec.name}": F.try_to_timestamp(env[spec.name], F.lit(spec.format)) for spec in timestamps
    }
    for number, contract in enumerate(compiled):
        typed_columns.update(contract.typed_columns(f"_typed_{number}_", is_contract[contract.contract.id]))
    parsed = parsed.select("*", *[value.alias(name) for name, value in typed_columns.items()])
    typed_envelope = {spec.name: F.col(f"_envelope_{spec.name}") for spec in timestamps}

    malformed = env.isNull() | env[CORRUPT].isNotNull()
    not_after = F.col("landed_at") + F.expr(f"INTERVAL {envelope.clock_skew_seconds} SECONDS")
    envelope_failures = [
        failure
        for spec in envelope.fields
        for failure in envelope_field_failures(
            spec, env[spec.name], typed_envelope.get(spec.name), F.col("line"), not_after
        )
    ]
    parsed = parsed.withColumn("_envelope_reasons", reasons_array(envelope_failures))
    envelope_reasons = F.col("_envelope_reasons")

    contract_id = reduce(
        lambda acc, c: acc.when(is_contract[c.contract.id], F.lit(c.contract.id)),
        compiled[1:],
        F.when(is_contract[compiled[0].contract.id], F.lit(compiled[0].contract.id)),
    )
    payload_reasons = reduce(
        lambda acc, c: acc.when(is_contract[c.contract.id], reasons_array(c.failures())),
        compiled[1:],
        F.when(is_contract[compiled[0].contract.id], reasons_array(compiled[0].failures())),
    )
    known_type = env["event_type"].isin(registry.event_types)

    reasons = (
        F.when(F.col("read_error").isNotNull(), F.array(F.col("read_error")))
        .when(malformed, F.array(F.lit("malformed_json")))
        .when(F.size(envelope_reasons) > 0, envelope_reasons)
        .when(~known_type, F.array(F.lit("unknown_event_type")))
        .when(contract_id.isNull(), F.array(F.lit("unknown_schema_version")))
        .otherwise(payload_reasons)
    )

    result = parsed.select(
        "source_file",
        "line_number",
        "line",
        "read_error",
        env["event_type"].alias("event_type"),
        env["schema_version"].alias("schema_version"),
        env["root_id"].alias("root_id"),
        env["collector_id"].alias("collector_id"),
        typed_envelope["collector_tstamp"].alias("collector_tstamp"),
        typed_envelope["enriched_tstamp"].alias("enriched_tstamp"),
        env["payload"].alias("payload_json"),
        contract_id.alias("contract_id"),
        (F.col("read_error").isNull() & ~malformed).alias("parsed"),
        reasons.alias("reasons"),
        *[
            conformed_struct(registry, table, compiled, is_contract).alias(struct_name(table))
            for table in registry.target_tables
        ],
    )
    return result


def struct_name(table: str) -> str:
    """silver.taxi_trips -> typed_taxi_trips"""
    return "typed_" + table.split(".", 1)[1]


def conformed_struct(
    registry: ContractRegistry, table: str, compiled: list[CompiledContract], is_contract: dict[str, Column]
) -> Column:
    """The current version's columns for rows of this table; older versions upcast."""
    current = registry.current(registry.target_tables[table])
    versions = [c for c in compiled if c.contract.target_table == table]
    columns = []
    for spec in current.fields:
        value = None
        for version in versions:
            if spec.column in version.values:
                candidate = version.values[spec.column]
            else:
                candidate = F.lit(version.contract.upcast_set.get(spec.column))
            candidate = candidate.cast(spark_type(spec))
            cond = is_contract[version.contract.id]
            value = F.when(cond, candidate) if value is None else value.when(cond, candidate)
        assert value is not None, f"{table}: no compiled contract version"  # the current one is among them
        columns.append(value.alias(spec.column))
    business_date = business_date_column(current, F.struct(*columns))
    return F.struct(*columns, business_date.alias("business_date"))


def business_date_column(contract: Contract, row: Column) -> Column:
    spec = contract.field(contract.business_date)
    instant = row[spec.column]
    if spec.timezone and spec.timezone != "UTC":
        return F.to_date(F.from_utc_timestamp(instant, spec.timezone))
    return F.to_date(instant)


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
