"""What a data contract is, once loaded: its fields, rules and versions (jobs/contracts.py
reads and checks the files; jobs/validation.py compiles them to Spark SQL)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobs.checks import Suite
from jobs.envelope import EnvelopeContract

NUMERIC_TYPES = {"integer", "long", "double"}


@dataclass(frozen=True)
class FieldSpec:
    name: str  # as in the payload
    column: str  # conformed silver column
    type: str
    nullable: bool
    format: str | None = None
    timezone: str | None = None
    min: float | None = None
    max: float | None = None
    enum: tuple | None = None
    pattern: str | None = None
    max_length: int | None = None

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES or self.type.startswith("decimal")


@dataclass(frozen=True)
class CompareRule:
    code: str
    description: str
    left: str
    op: str
    right: str

    @property
    def columns(self) -> list[str]:
        return [self.left, self.right]


@dataclass(frozen=True)
class SumRule:
    code: str
    description: str
    total: str
    parts: tuple[str, ...]
    tolerance: float

    @property
    def columns(self) -> list[str]:
        return [self.total, *self.parts]


@dataclass(frozen=True)
class Contract:
    event_type: str
    schema_version: str
    description: str
    target_table: str
    business_key: tuple[str, ...]
    business_date: str
    fields: tuple[FieldSpec, ...]
    rules: tuple[CompareRule | SumRule, ...] = ()
    upcast_to: str | None = None
    upcast_set: dict[str, Any] = field(default_factory=dict)
    latest_by: str | None = None
    partition_by: tuple[str, ...] = ()  # the silver table's partition columns (business_date or its own)
    look_back_days: int | None = None  # how far back its MERGE looks for duplicates (None: the setting)
    checks: tuple[Suite, ...] = ()  # the silver table's quality checks (jobs/checks.py): the current version's
    # How the development generator (generator/) makes realistic payloads of this version:
    # its share of a day's events and per-field generators. Read by the generator only.
    generate: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def id(self) -> str:
        return f"{self.event_type}/{self.schema_version}"

    @property
    def columns(self) -> list[str]:
        return [f.column for f in self.fields]

    def field(self, column: str) -> FieldSpec:
        for spec in self.fields:
            if spec.column == column:
                return spec
        raise KeyError(column)


@dataclass(frozen=True)
class ContractRegistry:
    contracts: tuple[Contract, ...]
    envelope: EnvelopeContract

    def get(self, event_type: str, schema_version: str) -> Contract | None:
        for contract in self.contracts:
            if (contract.event_type, contract.schema_version) == (event_type, schema_version):
                return contract
        return None

    @property
    def event_types(self) -> list[str]:
        return sorted({c.event_type for c in self.contracts})

    def current(self, event_type: str) -> Contract:
        """The version every other version of the event type upcasts to."""
        (current,) = [c for c in self.contracts if c.event_type == event_type and c.upcast_to is None]
        return current

    def versions(self, event_type: str) -> list[Contract]:
        return [c for c in self.contracts if c.event_type == event_type]

    @property
    def target_tables(self) -> dict[str, str]:
        """silver table -> event type."""
        return {self.current(t).target_table: t for t in self.event_types}
