"""Payloads of any event type, made from its contract: no code per event type.

Every field gets a value its contract accepts: a type's value within `min`/`max`, one
of the `enum`, a string matching the `pattern` (rstr) or within `max_length`, a
timestamp in the field's `format` and `timezone`, a null now and then where the field
is nullable. Cross-field rules hold (a compared pair is put in order, as the pipeline
reads it back; a sum is the sum of its parts). The contract's `generate:` section adds
realism as data (docs/adding-a-source.md):

    generate:
      share: 0.05                           # weight of this type in a day's events
      versions: {1-0-0: 0.2}                # of them, sent in an older version
      group:                                # events that come in groups (a transaction's logs)
        size: {1: 60, 2: 25}                #   weights of the group sizes
        shared: [transaction_hash]          #   fields the events of a group share
        sequence: {log_index: [0, 300]}     #   a field counting up within the group from a start
      unique_keys: true                     # keys never repeat (a random 256-bit hash in them)
      fields:                               # in order: each may read those before it
        rider_type: {choice: {member: 0.7, casual: 0.3}}
        start_station: {pool: 400}          # drawn (skewed) from 400 values made once
        from_address: {formula: "hex(160)", pool: {name: wallets, size: 100000, skew: 3}}
        trip_minutes: {let: "max(2.0, lognormvariate(2.6, 0.55))"}   # a helper, not sent
        ended_at: {formula: "started_at + minutes(trip_minutes)"}
        decimals: {choice: {18: 70, 6: 12}, same_for: [address]}    # the same for an address

A field's value comes from one source: `choice`, `uniform: [low, high]`, `formula`
(an expression over the fields before it, generator/formulas.py), `seed: {table, column}`
(a value of a seed table), `pattern` (a regular expression), `after: field` with
`minutes: [low, high]`, `seconds_between: [start, end]`, or, with none, the contract's.
`pool`, `same_for` and `nulls` (a share of nulls) modify any source.

Defects break exactly one thing the contract checks, and name the reason code the
pipeline must give (jobs/validation.py). The truth record of a valid payload is its
business date and business key, rendered as the silver table's columns read as text.
"""

from __future__ import annotations

import random
import re
from collections import deque
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import rstr

from generator.formulas import Draws, GenerateError, compile_formula, seed_rows
from jobs.contract_model import CompareRule, Contract, FieldSpec, SumRule

JAVA_TOKENS = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
JAVA_TOKEN = re.compile(r"'([^']*)'|yyyy|MM|dd|HH|mm|ss|[A-Za-z]")
NULL_SHARE = 0.02
POOL_SKEW = 2.0
SOURCES = {"choice", "uniform", "formula", "let", "seed", "pattern", "after", "seconds_between"}
MODIFIERS = {"pool", "same_for", "nulls", "minutes"}
POOL_MOMENT = datetime(2000, 1, 1, tzinfo=UTC)  # pools do not depend on the day


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
    """Valid payloads of one contract version, their truth records and their defects.
    `generate`: the realism to apply (the current version's, for an older one)."""

    def __init__(self, contract: Contract, seed: int, generate: dict | None = None, seeds_dir: Path | None = None):
        self.contract = contract
        generate = contract.generate if generate is None else generate
        self.share = float(generate.get("share", 0))
        by_name = {spec.name: spec for spec in contract.fields}
        self.by_name, self.fields = by_name, contract.fields
        profile: dict[str, dict] = dict(generate.get("fields") or {})
        for name, spec in profile.items():
            if not isinstance(spec, dict) or len(spec.keys() & SOURCES) > 1 or set(spec) - SOURCES - MODIFIERS:
                raise GenerateError(
                    f"{contract.source}: generate.fields.{name} takes one of {sorted(SOURCES)} and {sorted(MODIFIERS)}"
                )
        unknown = sorted(n for n, s in profile.items() if "let" not in s and n not in by_name)
        if unknown and generate is contract.generate:
            raise GenerateError(f"{contract.source}: generate.fields names unknown fields {unknown}")
        # An older version takes the current one's realism for the fields it has.
        self.profile = {n: s for n, s in profile.items() if "let" in s or n in by_name}
        self.by_column = {spec.column: spec for spec in contract.fields}
        self.formats = {s.name: strftime_pattern(s.format or "") for s in self.fields if s.type == "timestamp"}
        self.zones = {s.name: ZoneInfo(s.timezone or "UTC") for s in self.fields if s.type == "timestamp"}
        self.date_field = contract.field(contract.business_date)
        key = set(contract.business_key)
        self.required = [s for s in self.fields if not s.nullable or s.column in key]
        self.rules_columns = {c for rule in contract.rules for c in rule.columns}
        self.seed = seed
        self.draws = Draws(seed, seeds_dir or Path(contract.source).parent.parent / "seeds")
        self.functions = {"__builtins__": {}, **self.draws.functions()}
        self.compiled = {
            name: compile_formula(
                str(spec.get("formula", spec.get("let"))), set(self.functions), f"{contract.source}: {name}"
            )
            for name, spec in self.profile.items()
            if "formula" in spec or "let" in spec
        }
        self.pools: dict[str, dict[int, Any]] = {name: {} for name, s in self.profile.items() if "pool" in s}
        # Fields the contract alone makes come first (in any order), then the profile's, in its order.
        self.plain = [s for s in self.fields if s.name not in self.profile and s is not self.date_field]
        group = generate.get("group") or {}
        self.group_sizes = {int(k): float(v) for k, v in (group.get("size") or {}).items()}
        self.group_shared = tuple(group.get("shared") or ())
        self.sequence = dict(group.get("sequence") or {})
        self.unique_keys = bool(generate.get("unique_keys"))

    # -- valid payloads ----------------------------------------------------------------
    def payload(self, rng: random.Random, moment: datetime, group: deque | None = None) -> dict:
        """A valid payload whose business date field is `moment` (UTC). `group`: the
        open group of this type (None: the payload opens none, as a late event does)."""
        fixed: dict[str, Any] = {}
        if self.group_sizes and group:
            fixed = group.popleft()
        names: dict[str, Any] = {}  # what formulas read: values, timestamps as instants
        payload: dict[str, Any] = {}
        date = self.date_field.name
        names[date] = moment.replace(microsecond=0)
        payload[date] = self.render_instant(self.date_field, names[date])
        for spec in self.plain:
            payload[spec.name] = self.value(rng, spec, {}, names)
        for name, value in fixed.items():
            payload[name] = value
            shared = self.by_name[name]
            names[name] = self.instant(shared, value) if shared.type == "timestamp" else value
        for name, custom in self.profile.items():
            if name in fixed:
                continue
            field_spec = self.by_name.get(name)
            if field_spec is None:  # a helper (`let`)
                names[name] = self.formula(rng, name, custom, names)
            else:
                payload[name] = self.value(rng, field_spec, custom, names)
        for rule in self.contract.rules:
            self.hold(rule, payload, names)
        if not fixed:
            for name, (low, high) in self.sequence.items():
                payload[name] = rng.randint(low, high)
            if self.group_sizes and group is not None:
                self.open_group(rng, payload, group)
        return payload

    def open_group(self, rng: random.Random, payload: dict, group: deque) -> None:
        """Queue the rest of the group the payload opens: they share its `shared` fields
        and count its `sequence` fields up."""
        size = rng.choices(list(self.group_sizes), weights=list(self.group_sizes.values()))[0]
        shared = {name: payload[name] for name in self.group_shared}
        for position in range(1, size):
            group.append({**shared, **{name: payload[name] + position for name in self.sequence}})

    def value(self, rng: random.Random, spec: FieldSpec, custom: dict, names: dict) -> Any:
        """A value of the field, made as `custom` says (with its modifiers)."""
        nulls = custom.get("nulls", 0 if custom else NULL_SHARE)
        if nulls and spec.nullable and spec.column not in self.contract.business_key and rng.random() < nulls:
            names[spec.name] = None
            return None
        if "pool" in custom:
            pool = custom["pool"] if isinstance(custom["pool"], dict) else {"size": custom["pool"]}
            size, skew = int(pool["size"]), float(pool.get("skew", POOL_SKEW))
            index = min(int(size * rng.random() ** skew), size - 1)
            made = self.pools[spec.name]
            if index not in made:
                stream = random.Random(f"{self.seed}:pool:{pool.get('name', self.contract.id + spec.name)}:{index}")
                made[index] = self.make(stream, spec, custom, {}, POOL_MOMENT)
            value = made[index]
        elif "same_for" in custom:
            stream = random.Random(f"{self.seed}:{spec.name}:" + ":".join(str(names[n]) for n in custom["same_for"]))
            value = self.make(stream, spec, custom, names, names[self.date_field.name])
        else:
            value = self.make(rng, spec, custom, names, names[self.date_field.name])
        if spec.type == "timestamp" and value is not None:
            names[spec.name] = value
            return self.render_instant(spec, value)
        names[spec.name] = value
        return value

    def make(self, rng: random.Random, spec: FieldSpec, custom: dict, names: dict, moment: datetime) -> Any:
        """A value from the field's source, typed as the field is (timestamps as instants)."""
        if "formula" in custom:
            return self.typed(spec, self.formula(rng, spec.name, custom, names))
        if "choice" in custom:
            options = custom["choice"]
            return self.typed(spec, rng.choices(list(options), weights=list(options.values()))[0])
        if "seed" in custom:
            rows = seed_rows(self.draws.seeds_dir / f"{custom['seed']['table']}.csv")
            return self.typed(spec, rng.choice(rows)[custom["seed"]["column"]])
        if "pattern" in custom:
            return rstr.Rstr(rng).xeger(custom["pattern"])
        if "after" in custom:
            low, high = custom.get("minutes", (1, 60))
            return names[custom["after"]] + timedelta(seconds=rng.randint(int(low * 60), int(high * 60)))
        if "seconds_between" in custom:
            start, end = (names[name] for name in custom["seconds_between"])
            return int((end - start).total_seconds())
        if spec.type == "timestamp":
            return moment.replace(microsecond=0) + timedelta(seconds=rng.randint(0, 3600))
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

    def formula(self, rng: random.Random, name: str, custom: dict, names: dict) -> Any:
        self.draws.rng = rng
        try:
            return eval(self.compiled[name], self.functions, names)  # checked by compile_formula
        except Exception as error:
            expression = custom.get("formula", custom.get("let"))
            raise GenerateError(f"{self.contract.source}: generate.fields.{name}: {expression!r}: {error}") from error

    @staticmethod
    def typed(spec: FieldSpec, value: Any) -> Any:
        if value is None or spec.type == "timestamp":
            return value
        if spec.type in ("integer", "long"):
            return int(value)
        if spec.type == "uint256":
            return str(int(value))
        if spec.type == "double":
            return float(value)
        if spec.type.startswith("decimal"):
            return float(round(Decimal(str(value)), decimal_scale(spec)))
        if spec.type == "boolean":
            return bool(value)
        return str(value)

    @staticmethod
    def number(rng: random.Random, spec: FieldSpec, low: float, high: float | None) -> Any:
        if spec.type == "uint256":
            return str(rng.randint(0, 10 ** rng.randint(1, 24)))
        if spec.type in ("integer", "long"):
            largest = int(high) if high is not None else (2**31 - 1 if spec.type == "integer" else 10**12)
            return rng.randint(int(low), largest)
        value = rng.uniform(float(low), float(high) if high is not None else float(low) + 1000.0)
        if spec.type.startswith("decimal"):
            return float(round(Decimal(value), decimal_scale(spec)))
        return round(value, 3)

    def hold(self, rule: CompareRule | SumRule, payload: dict, names: dict) -> None:
        """Make a cross-field rule true of the payload, as the pipeline reads it."""
        if isinstance(rule, SumRule):
            total, parts = self.by_column[rule.total], [self.by_column[c] for c in rule.parts]
            parts_sum = sum((Decimal(str(payload[p.name] or 0)) for p in parts if p.name in payload), Decimal(0))
            payload[total.name] = names[total.name] = float(round(parts_sum, 2))
            return
        left, right = self.by_column[rule.left], self.by_column[rule.right]
        a, b = payload[left.name], payload[right.name]
        if a is None or b is None:
            return
        # Timestamps as the pipeline reads their text back: a wall-clock time of a repeated
        # hour takes the earlier offset, so a trip across it may read as ending first.
        keys = (self.instant(left, a), self.instant(right, b)) if left.type == "timestamp" else (a, b)
        if not compare(rule.op, *keys):
            payload[left.name], payload[right.name] = b, a
            names[left.name], names[right.name] = names[right.name], names[left.name]

    # -- the truth ---------------------------------------------------------------------
    def truth(self, payload: dict) -> str:
        """business_date<TAB>key|key|...[<TAB>latest_by]: the silver row's date and key
        columns (and, for a dimension, the column whose latest value wins) as text."""
        spec = self.date_field
        instant = self.instant(spec, payload[spec.name])
        business_date = instant.astimezone(self.zones[spec.name]).date().isoformat()
        key = "|".join(self.render(self.by_column[column], payload) for column in self.contract.business_key)
        if self.contract.latest_by:
            return f"{business_date}\t{key}\t{self.render(self.by_column[self.contract.latest_by], payload)}"
        return f"{business_date}\t{key}"

    def instant(self, spec: FieldSpec, text: str) -> datetime:
        return parse_instant(text, self.formats[spec.name], self.zones[spec.name])

    def render_instant(self, spec: FieldSpec, instant: datetime) -> str:
        return instant.astimezone(self.zones[spec.name]).strftime(self.formats[spec.name])

    def render(self, spec: FieldSpec, payload: dict) -> str:
        value = payload[spec.name]
        if spec.type == "timestamp":  # silver holds the instant; read as UTC text
            return self.instant(spec, value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        if spec.type.startswith("decimal"):
            return f"{Decimal(str(value)):.{decimal_scale(spec)}f}"
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
        """One rule broken: a cross-field rule, or a field's range, enum or pattern on a
        field no cross-field rule reads. None if the contract has no rule to break."""
        fields = [
            s
            for s in self.fields
            if s.column not in self.rules_columns
            and s is not self.date_field
            and ((s.is_numeric and (s.min is not None or s.max is not None)) or s.enum or s.pattern)
        ]
        rules = [r for r in self.contract.rules if isinstance(r, SumRule) or r.op in ("<", "<=", ">", ">=")]
        candidates: list[FieldSpec | CompareRule | SumRule] = [*fields, *rules]
        if not candidates:
            return None
        target = rng.choice(candidates)
        if isinstance(target, SumRule):
            total = self.by_column[target.total].name
            payload[total] = round(payload[total] + 5.0, 2)
            return f"rule:{target.code}"
        if isinstance(target, CompareRule):
            self.reverse(target, payload)
            return f"rule:{target.code}"
        spec = target
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

    def reverse(self, rule: CompareRule, payload: dict) -> None:
        """Make a comparison plainly false: the left side a day (or 1) on the wrong side."""
        left, right = self.by_column[rule.left], self.by_column[rule.right]
        sign = -1 if rule.op in (">", ">=") else 1
        if right.type == "timestamp":
            moved = self.instant(right, payload[right.name]) + sign * timedelta(days=1)
            payload[left.name] = self.render_instant(left, moved)
        else:
            payload[left.name] = (payload[right.name] or 0) + sign


@lru_cache(maxsize=8192)
def parse_instant(text: str, strftime: str, zone: ZoneInfo) -> datetime:
    """A timestamp's text read back as the pipeline reads it (a repeated hour's wall-clock
    time takes the earlier offset); cached, as a block's time is read for each of its logs."""
    return datetime.strptime(text, strftime).replace(tzinfo=zone)


def compare(op: str, a: Any, b: Any) -> bool:
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[op]


def decimal_scale(spec: FieldSpec) -> int:
    return int(spec.type.rstrip(")").split(",")[1])
