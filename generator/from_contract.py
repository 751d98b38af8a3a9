"""Payloads of any event type, made from its contract: no code per event type.

Every field gets a value its contract accepts: a type's value within `min`/`max`, one
of the `enum`, a string matching the `pattern` (rstr) or within `max_length`, a
timestamp in the field's `format` and `timezone`, a null now and then where the field
is nullable. Cross-field rules hold (a compared pair is put in order; a sum is the sum
of its parts). The contract's `generate:` section adds realism as data:

    generate:
      share: 0.05                        # of a day's events
      fields:
        rider_type: {choice: {member: 0.7, casual: 0.3}}
        start_station: {pool: 400}        # values drawn (skewed) from a fixed pool of 400
        duration_s: {uniform: [120, 3600]}
        ended_at: {after: started_at, minutes: [2, 60]}
        duration_s: {seconds_between: [started_at, ended_at]}   # consistent with both

Defects break exactly one thing the contract checks, and name the reason code the
pipeline must give (jobs/validation.py). The truth record of a valid payload is its
business date and business key, rendered as the silver table's columns read as text.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import rstr

from jobs.contracts import CompareRule, Contract, FieldSpec, SumRule

JAVA_TOKENS = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
JAVA_TOKEN = re.compile(r"'([^']*)'|yyyy|MM|dd|HH|mm|ss|[A-Za-z]")
NULL_SHARE = 0.02
POOL_SKEW = 2.0
GENERATORS = {"choice", "pool", "uniform", "after", "seconds_between"}
POOL_MOMENT = datetime(2000, 1, 1, tzinfo=UTC)  # pools do not depend on the day


class GenerateError(ValueError):
    pass


def strftime_pattern(java: str) -> str:
    """A contract's (Spark/Java) timestamp format as a strftime pattern."""

    def token(match: re.Match) -> str:
        if match[1] is not None:
            return match[1].replace("%", "%%")
        if match[0] not in JAVA_TOKENS:
            raise GenerateError(f"timestamp format {java!r}: the generator does not know {match[0]!r}")
        return JAVA_TOKENS[match[0]]

    return JAVA_TOKEN.sub(token, java)


class ContractPayloads:
    """Valid payloads of one contract, their truth records and their defects."""

    def __init__(self, contract: Contract, seed: int):
        self.contract = contract
        self.share = float(contract.generate.get("share", 0))
        self.profile: dict[str, dict] = dict(contract.generate.get("fields") or {})
        by_name = {spec.name: spec for spec in contract.fields}
        unknown = set(self.profile) - set(by_name)
        if unknown:
            raise GenerateError(f"{contract.source}: generate.fields names unknown fields {sorted(unknown)}")
        for name, spec in self.profile.items():
            if not isinstance(spec, dict) or len(spec.keys() & GENERATORS) != 1:
                raise GenerateError(f"{contract.source}: generate.fields.{name} is one of {sorted(GENERATORS)}")
        self.fields = contract.fields
        self.by_column = {spec.column: spec for spec in contract.fields}
        self.formats = {s.name: strftime_pattern(s.format or "") for s in self.fields if s.type == "timestamp"}
        self.zones = {s.name: ZoneInfo(s.timezone or "UTC") for s in self.fields if s.type == "timestamp"}
        self.date_field = contract.field(contract.business_date)
        key = set(contract.business_key)
        self.required = [s for s in self.fields if not s.nullable or s.column in key]
        rng = random.Random(f"{seed}:{contract.id}:pools")
        self.pools = {
            name: [self.value(rng, by_name[name], {}, POOL_MOMENT, free=True) for _ in range(int(spec["pool"]))]
            for name, spec in self.profile.items()
            if "pool" in spec
        }
        self.rules_columns = {c for rule in contract.rules for c in rule.columns}

    # -- valid payloads ----------------------------------------------------------------
    def payload(self, rng: random.Random, moment: datetime) -> dict:
        """A valid payload whose business date field is `moment` (UTC)."""
        instants: dict[str, datetime] = {}
        payload: dict[str, Any] = {}
        for spec in self.fields:
            payload[spec.name] = self.value(rng, spec, instants, moment)
        for rule in self.contract.rules:
            self.hold(rule, payload, instants)
        return payload

    def value(self, rng: random.Random, spec: FieldSpec, instants: dict, moment: datetime, free: bool = False) -> Any:
        custom = {} if free else self.profile.get(spec.name, {})
        if spec.nullable and spec.column not in self.contract.business_key and not free and rng.random() < NULL_SHARE:
            return None
        if "pool" in custom:
            pool = self.pools[spec.name]
            return pool[min(int(len(pool) * rng.random() ** POOL_SKEW), len(pool) - 1)]
        if "choice" in custom:
            options = custom["choice"]
            return rng.choices(list(options), weights=list(options.values()))[0]
        if spec.type == "timestamp":
            if spec is self.date_field:
                instant = moment.replace(microsecond=0)
            elif "after" in custom:
                low, high = custom.get("minutes", (1, 60))
                instant = instants[custom["after"]] + timedelta(seconds=rng.randint(int(low * 60), int(high * 60)))
            else:
                instant = moment.replace(microsecond=0) + timedelta(seconds=rng.randint(0, 3600))
            instants[spec.name] = instant
            return instant.astimezone(self.zones[spec.name]).strftime(self.formats[spec.name])
        if "seconds_between" in custom:
            start, end = (instants[name] for name in custom["seconds_between"])
            return int((end - start).total_seconds())
        if spec.enum:
            return rng.choice(spec.enum)
        if "uniform" in custom:
            low, high = custom["uniform"]
            return self.number(rng, spec, low, high)
        if spec.is_numeric or spec.type == "uint256":
            return self.number(rng, spec, spec.min if spec.min is not None else 0, spec.max)
        if spec.type == "boolean":
            return rng.random() < 0.5
        if spec.pattern:
            return rstr.Rstr(rng).xeger(spec.pattern)
        length = min(spec.max_length or 12, 12)
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(1, length)))

    @staticmethod
    def number(rng: random.Random, spec: FieldSpec, low: float, high: float | None) -> Any:
        if spec.type == "uint256":
            return str(rng.randint(0, 10 ** rng.randint(1, 24)))
        if spec.type in ("integer", "long"):
            largest = int(high) if high is not None else (2**31 - 1 if spec.type == "integer" else 10**12)
            return rng.randint(int(low), largest)
        value = rng.uniform(float(low), float(high) if high is not None else float(low) + 1000.0)
        if spec.type.startswith("decimal"):
            scale = int(spec.type.rstrip(")").split(",")[1])
            return float(round(Decimal(value), scale))
        return round(value, 3)

    def hold(self, rule: CompareRule | SumRule, payload: dict, instants: dict) -> None:
        """Make a cross-field rule true of the payload."""
        if isinstance(rule, SumRule):
            total, parts = self.by_column[rule.total], [self.by_column[c] for c in rule.parts]
            parts_sum = sum((Decimal(str(payload[p.name] or 0)) for p in parts), Decimal(0))
            payload[total.name] = float(round(parts_sum, 2))
            return
        left, right = self.by_column[rule.left], self.by_column[rule.right]
        a, b = payload[left.name], payload[right.name]
        if a is None or b is None:
            return
        keys = (instants[left.name], instants[right.name]) if left.type == "timestamp" else (a, b)
        holds = {"<": keys[0] < keys[1], "<=": keys[0] <= keys[1], ">": keys[0] > keys[1], ">=": keys[0] >= keys[1]}
        if rule.op in holds and not holds[rule.op]:
            payload[left.name], payload[right.name] = b, a
            if left.type == "timestamp":
                instants[left.name], instants[right.name] = instants[right.name], instants[left.name]

    # -- the truth ---------------------------------------------------------------------
    def truth(self, payload: dict) -> str:
        """business_date<TAB>key|key|...: the silver row's date and key columns as text."""
        spec = self.date_field
        instant = self.instant(spec, payload[spec.name])
        business_date = instant.astimezone(self.zones[spec.name]).date().isoformat()
        key = "|".join(self.render(self.by_column[column], payload) for column in self.contract.business_key)
        return f"{business_date}\t{key}"

    def instant(self, spec: FieldSpec, text: str) -> datetime:
        return datetime.strptime(text, self.formats[spec.name]).replace(tzinfo=self.zones[spec.name])

    def render(self, spec: FieldSpec, payload: dict) -> str:
        value = payload[spec.name]
        if spec.type == "timestamp":  # silver holds the instant; read as UTC text
            return self.instant(spec, value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        if spec.type.startswith("decimal"):
            return f"{Decimal(str(value)):.{int(spec.type.rstrip(')').split(',')[1])}f}"
        if spec.type == "boolean":
            return str(value).lower()
        return str(value)

    # -- defects -----------------------------------------------------------------------
    def wrong_type(self, rng: random.Random, payload: dict) -> str | None:
        """A numeric or timestamp field sent as words; None if the contract has none."""
        candidates = [s for s in self.fields if s.is_numeric or s.type in ("timestamp", "boolean")]
        candidates = [s for s in candidates if s is not self.date_field] or candidates
        if not candidates:
            return None
        spec = rng.choice(candidates)
        payload[spec.name] = rng.choice(("n/a", "two", "latest")) if spec.type != "boolean" else "maybe"
        return f"wrong_type:payload.{spec.name}"

    def missing_field(self, rng: random.Random, payload: dict) -> str:
        spec = rng.choice(self.required)
        del payload[spec.name]
        return f"missing_field:payload.{spec.name}"

    def break_rule(self, rng: random.Random, payload: dict) -> str | None:
        """One field rule broken (a value out of range, off the enum, off the pattern),
        on a field no cross-field rule reads; None if the contract has no such rule."""
        candidates = [
            s
            for s in self.fields
            if s.column not in self.rules_columns
            and s is not self.date_field
            and ((s.is_numeric and (s.min is not None or s.max is not None)) or s.enum or s.pattern)
        ]
        if not candidates:
            return None
        spec = rng.choice(candidates)
        if spec.enum:
            payload[spec.name] = "zzz" if isinstance(spec.enum[0], str) else max(spec.enum) + 1000
            return f"rule:{spec.column}_enum"
        if spec.pattern:
            payload[spec.name] = "!" + str(payload[spec.name] or "x")
            return f"rule:{spec.column}_pattern"
        if spec.max is not None:
            payload[spec.name] = (spec.max + 1) if spec.type in ("integer", "long") else spec.max + 1.5
        else:
            assert spec.min is not None
            payload[spec.name] = (spec.min - 1) if spec.type in ("integer", "long") else spec.min - 1.5
        return f"rule:{spec.column}_range"
