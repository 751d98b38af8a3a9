"""Data contracts: one YAML file per (event_type, schema_version) under models/contracts.

This module loads and checks the files themselves; a broken contract fails fast with
the file and the field named. Turning contracts into Spark columns is
jobs/validation.py's job.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from jobs.checks import parse_checks
from jobs.contract_model import NUMERIC_TYPES, CompareRule, Contract, ContractRegistry, FieldSpec, SumRule
from jobs.envelope import load_envelope
from jobs.errors import LakehouseError
from jobs.settings import PROJECT_ROOT

CONTRACTS_DIR = PROJECT_ROOT / "models" / "contracts"

SIMPLE_TYPES = {"integer", "long", "double", "boolean", "string", "timestamp", "uint256"}
DECIMAL_TYPE = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
VERSION = re.compile(r"^\d+-\d+-\d+$")
COLUMN_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
COMPARE_OPS = {"<", "<=", ">", ">=", "==", "!="}

_FIELD_KEYS = {
    "name",
    "column",
    "type",
    "nullable",
    "format",
    "timezone",
    "min",
    "max",
    "enum",
    "pattern",
    "max_length",
    "description",
}
_CONTRACT_KEYS = {
    "event_type",
    "schema_version",
    "description",
    "target_table",
    "business_key",
    "business_date",
    "fields",
    "rules",
    "upcast",
    "latest_by",
    "partition_by",
    "look_back_days",
    "checks",
    "generate",
}


class ContractError(LakehouseError):
    pass


def load_contracts(directory: Path = CONTRACTS_DIR) -> ContractRegistry:
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise ContractError(f"{directory}: no contract files (*.yaml)")
    contracts = tuple(parse_contract_file(path) for path in files)
    registry = ContractRegistry(contracts, load_envelope(directory))
    check_registry(registry)
    return registry


def parse_contract_file(path: Path) -> Contract:
    where = _relative(path)
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ContractError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise ContractError(f"{where}: expected a mapping at the top level")
    return parse_contract(document, where)


def parse_contract(document: dict, where: str) -> Contract:
    unknown = set(document) - _CONTRACT_KEYS
    if unknown:
        raise ContractError(f"{where}: unknown key(s) {sorted(unknown)}")
    for key in ("event_type", "schema_version", "target_table", "business_key", "business_date", "fields"):
        if key not in document:
            raise ContractError(f"{where}: missing required key '{key}'")
    if not VERSION.match(str(document["schema_version"])):
        raise ContractError(f"{where}: schema_version must look like MODEL-REVISION-ADDITION (1-0-0)")
    if not re.match(r"^silver\.[a-z_]+$", str(document["target_table"])):
        raise ContractError(f"{where}: target_table must be silver.<name>")

    fields = tuple(parse_field(raw, where) for raw in document["fields"] or [])
    if not fields:
        raise ContractError(f"{where}: a contract needs at least one field")
    columns = [f.column for f in fields]
    for name in {c for c in columns if columns.count(c) > 1}:
        raise ContractError(f"{where}: column '{name}' is defined twice")
    names = [f.name for f in fields]
    for name in {n for n in names if names.count(n) > 1}:
        raise ContractError(f"{where}: field '{name}' is defined twice")

    def known_column(column: str, what: str) -> str:
        if column not in columns:
            raise ContractError(f"{where}: {what} names unknown column '{column}'")
        return column

    business_key = tuple(known_column(c, "business_key") for c in document["business_key"])
    business_date = known_column(document["business_date"], "business_date")
    if next(f for f in fields if f.column == business_date).type != "timestamp":
        raise ContractError(f"{where}: business_date '{business_date}' must be a timestamp field")
    latest_by = document.get("latest_by")
    if latest_by is not None:
        known_column(latest_by, "latest_by")

    partition_by = tuple(
        c if c == "business_date" else known_column(c, "partition_by") for c in document.get("partition_by") or []
    )

    rules = tuple(parse_rule(raw, where) for raw in document.get("rules") or [])
    for rule in rules:
        for column in rule.columns:
            known_column(column, f"rule '{rule.code}'")

    look_back_days = document.get("look_back_days")
    if look_back_days is not None and (not isinstance(look_back_days, int) or look_back_days < 0):
        raise ContractError(f"{where}: look_back_days must be a whole number of days, 0 or more")
    target_table = str(document["target_table"])
    checks = (
        parse_checks(document["checks"], target_table, "business_date", where, business_key)
        if "checks" in document
        else ()
    )

    upcast = document.get("upcast") or {}
    upcast_to = upcast.get("to")
    if upcast and (upcast_to is None or not VERSION.match(str(upcast_to))):
        raise ContractError(f"{where}: upcast needs 'to: <schema_version>'")

    return Contract(
        event_type=str(document["event_type"]),
        schema_version=str(document["schema_version"]),
        description=str(document.get("description", "")),
        target_table=target_table,
        business_key=business_key,
        business_date=business_date,
        fields=fields,
        rules=rules,
        upcast_to=str(upcast_to) if upcast_to else None,
        upcast_set=dict(upcast.get("set") or {}),
        latest_by=latest_by,
        partition_by=partition_by,
        look_back_days=look_back_days,
        checks=checks,
        generate=parse_generate(document.get("generate"), where),
        source=where,
    )


def parse_generate(raw: Any, where: str) -> dict[str, Any]:
    """The `generate:` section's shape (its generators are the generator's to check)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or set(raw) - {"share", "versions", "group", "unique_keys", "fields"}:
        raise ContractError(f"{where}: generate is a mapping of share, versions, group, unique_keys and fields")
    share = raw.get("share", 0)
    if not isinstance(share, (int, float)) or not 0 <= share <= 1:
        raise ContractError(f"{where}: generate.share is a weight among a day's event types, 0 <= share <= 1")
    if not isinstance(raw.get("fields", {}), dict):
        raise ContractError(f"{where}: generate.fields maps payload field names to generators")
    return dict(raw)


def parse_field(raw: Any, where: str) -> FieldSpec:
    if not isinstance(raw, dict) or "name" not in raw:
        raise ContractError(f"{where}: every field needs a 'name' ({raw!r})")
    name = raw["name"]
    here = f"{where}: field '{name}'"
    unknown = set(raw) - _FIELD_KEYS
    if unknown:
        raise ContractError(f"{here}: unknown key(s) {sorted(unknown)}")
    for key in ("column", "type", "nullable"):
        if key not in raw:
            raise ContractError(f"{here}: missing '{key}'")
    type_ = str(raw["type"])
    decimal = DECIMAL_TYPE.match(type_)
    if type_ not in SIMPLE_TYPES and not decimal:
        raise ContractError(f"{here}: unknown type '{type_}' (one of {sorted(SIMPLE_TYPES)} or decimal(p,s))")
    if decimal and not (0 < int(decimal[1]) <= 38 and int(decimal[2]) <= int(decimal[1])):
        raise ContractError(f"{here}: decimal precision must be 1..38 and scale <= precision")
    if not COLUMN_NAME.match(str(raw["column"])):
        raise ContractError(f"{here}: column '{raw['column']}' is not snake_case")
    if not isinstance(raw["nullable"], bool):
        raise ContractError(f"{here}: nullable must be true or false")
    if type_ == "timestamp" and not raw.get("format"):
        raise ContractError(f"{here}: a timestamp needs a 'format'")
    numeric = type_ in NUMERIC_TYPES or bool(decimal)
    for bound in ("min", "max"):
        if bound in raw and (not numeric or not isinstance(raw[bound], (int, float))):
            raise ContractError(f"{here}: '{bound}' needs a numeric field and a number")
    if "pattern" in raw:
        try:
            re.compile(raw["pattern"])
        except re.error as exc:
            raise ContractError(f"{here}: pattern does not compile: {exc}") from None
    if "enum" in raw and not (isinstance(raw["enum"], list) and raw["enum"]):
        raise ContractError(f"{here}: enum must be a non-empty list")
    return FieldSpec(
        name=str(name),
        column=str(raw["column"]),
        type=type_,
        nullable=raw["nullable"],
        format=raw.get("format"),
        timezone=raw.get("timezone"),
        min=raw.get("min"),
        max=raw.get("max"),
        enum=tuple(raw["enum"]) if "enum" in raw else None,
        pattern=raw.get("pattern"),
        max_length=raw.get("max_length"),
    )


def parse_rule(raw: Any, where: str) -> CompareRule | SumRule:
    if not isinstance(raw, dict) or "code" not in raw:
        raise ContractError(f"{where}: every rule needs a 'code' ({raw!r})")
    code, here = str(raw["code"]), f"{where}: rule '{raw['code']}'"
    if not COLUMN_NAME.match(code):
        raise ContractError(f"{here}: code must be snake_case")
    description = str(raw.get("description", ""))
    if "compare" in raw:
        spec = raw["compare"]
        if set(spec) != {"left", "op", "right"} or spec["op"] not in COMPARE_OPS:
            raise ContractError(f"{here}: compare needs left, op (one of {sorted(COMPARE_OPS)}), right")
        return CompareRule(code, description, spec["left"], spec["op"], spec["right"])
    if "sum_equals" in raw:
        spec = raw["sum_equals"]
        if not {"total", "parts"} <= set(spec):
            raise ContractError(f"{here}: sum_equals needs total and parts")
        return SumRule(code, description, spec["total"], tuple(spec["parts"]), float(spec.get("tolerance", 0)))
    raise ContractError(f"{here}: a rule is either 'compare' or 'sum_equals'")


def check_registry(registry: ContractRegistry) -> None:
    """Rules across files: one current version per event type, upcasts that land."""
    for event_type in registry.event_types:
        versions = registry.versions(event_type)
        current = [c for c in versions if c.upcast_to is None]
        if len(current) != 1:
            raise ContractError(
                f"{event_type}: exactly one version must have no 'upcast' (the current one); "
                f"found {[c.source for c in current]}"
            )
        (head,) = current
        if not head.checks:
            raise ContractError(
                f"{head.source}: {head.target_table} declares no checks: the current version says how its "
                "table is checked ('checks:' with at least one expectation, see jobs/checks.py)"
            )
        for contract in versions:
            if contract is head:
                continue
            if contract.checks:
                raise ContractError(
                    f"{contract.source}: checks belong to the current version {head.source}, not to one that upcasts"
                )
            if contract.upcast_to != head.schema_version:
                raise ContractError(f"{contract.source}: upcast.to must be the current version {head.schema_version}")
            if contract.target_table != head.target_table:
                raise ContractError(f"{contract.source}: target_table differs from {head.source}")
            missing = set(head.columns) - set(contract.columns) - set(contract.upcast_set)
            if missing:
                raise ContractError(f"{contract.source}: upcast must set the columns {sorted(missing)}")
            for column in contract.upcast_set:
                if column not in head.columns:
                    raise ContractError(f"{contract.source}: upcast sets unknown column '{column}'")


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
