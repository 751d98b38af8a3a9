"""The envelope contract: one YAML file under models/contracts/envelope/.

Like the payload contracts, it is data: which envelope fields must be there, of which
type, and within which bounds. This module loads and checks the file (a broken one fails
fast, naming the file and the field); jobs/validation.py turns it into Spark SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from jobs.errors import LakehouseError

ENVELOPE_DIR_NAME = "envelope"
TYPES = {"string", "uuid", "object", "timestamp"}
VERSION = re.compile(r"^\d+-\d+-\d+$")

_KEYS = {"envelope_version", "description", "clock_skew_seconds", "fields"}
_FIELD_KEYS = {"name", "type", "nullable", "format", "pattern", "max_length", "not_before", "not_after_landing"}


class EnvelopeContractError(LakehouseError):
    pass


@dataclass(frozen=True)
class EnvelopeField:
    name: str
    type: str
    nullable: bool
    format: str | None = None  # timestamps
    pattern: str | None = None  # strings
    max_length: int | None = None  # strings
    not_before: datetime | None = None  # timestamps: absurdly old before this
    not_after_landing: bool = False  # timestamps: not after the file landed (+ skew)


@dataclass(frozen=True)
class EnvelopeContract:
    version: str
    clock_skew_seconds: int
    fields: tuple[EnvelopeField, ...]
    source: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def of_type(self, type_: str) -> list[EnvelopeField]:
        return [f for f in self.fields if f.type == type_]


def load_envelope(contracts_dir: Path) -> EnvelopeContract:
    directory = contracts_dir / ENVELOPE_DIR_NAME
    files = sorted(directory.glob("*.yaml"))
    if len(files) != 1:
        raise EnvelopeContractError(
            f"{directory}: expected exactly one envelope contract (*.yaml), found {[f.name for f in files]}"
        )
    path = files[0]
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise EnvelopeContractError(f"{path.name}: not valid YAML: {exc}") from None
    return parse_envelope(document, path.name)


def parse_envelope(document: Any, where: str) -> EnvelopeContract:
    if not isinstance(document, dict):
        raise EnvelopeContractError(f"{where}: expected a mapping at the top level")
    unknown = set(document) - _KEYS
    if unknown:
        raise EnvelopeContractError(f"{where}: unknown key(s) {sorted(unknown)}")
    version = str(document.get("envelope_version", ""))
    if not VERSION.match(version):
        raise EnvelopeContractError(f"{where}: envelope_version must look like MODEL-REVISION-ADDITION (1-0-0)")
    skew = document.get("clock_skew_seconds", 0)
    if not isinstance(skew, int) or skew < 0:
        raise EnvelopeContractError(f"{where}: clock_skew_seconds must be a whole number >= 0")
    fields = tuple(parse_field(raw, where) for raw in document.get("fields") or [])
    names = [f.name for f in fields]
    for name in {n for n in names if names.count(n) > 1}:
        raise EnvelopeContractError(f"{where}: field '{name}' is defined twice")
    if "payload" not in names or "event_type" not in names or "schema_version" not in names:
        raise EnvelopeContractError(f"{where}: the envelope must define event_type, schema_version and payload")
    return EnvelopeContract(version, skew, fields, where)


def parse_field(raw: Any, where: str) -> EnvelopeField:
    if not isinstance(raw, dict) or "name" not in raw:
        raise EnvelopeContractError(f"{where}: every field needs a 'name' ({raw!r})")
    here = f"{where}: field '{raw['name']}'"
    unknown = set(raw) - _FIELD_KEYS
    if unknown:
        raise EnvelopeContractError(f"{here}: unknown key(s) {sorted(unknown)}")
    type_ = raw.get("type")
    if type_ not in TYPES:
        raise EnvelopeContractError(f"{here}: type must be one of {sorted(TYPES)}")
    if not isinstance(raw.get("nullable"), bool):
        raise EnvelopeContractError(f"{here}: nullable must be true or false")
    timestamp_only = {"format", "not_before", "not_after_landing"} & set(raw)
    if type_ != "timestamp" and timestamp_only:
        raise EnvelopeContractError(f"{here}: {sorted(timestamp_only)} apply to timestamps only")
    if type_ == "timestamp" and not raw.get("format"):
        raise EnvelopeContractError(f"{here}: a timestamp needs a 'format'")
    if type_ != "string" and ({"pattern", "max_length"} & set(raw)):
        raise EnvelopeContractError(f"{here}: pattern and max_length apply to strings only")
    if "pattern" in raw:
        try:
            re.compile(raw["pattern"])
        except re.error as exc:
            raise EnvelopeContractError(f"{here}: pattern does not compile: {exc}") from None
    not_before = raw.get("not_before")
    if not_before is not None and not isinstance(not_before, date):
        raise EnvelopeContractError(f"{here}: not_before must be a date (YYYY-MM-DD)")
    return EnvelopeField(
        name=str(raw["name"]),
        type=type_,
        nullable=raw["nullable"],
        format=raw.get("format"),
        pattern=raw.get("pattern"),
        max_length=raw.get("max_length"),
        not_before=(datetime.combine(not_before, datetime.min.time(), tzinfo=UTC) if not_before is not None else None),
        not_after_landing=bool(raw.get("not_after_landing", False)),
    )
