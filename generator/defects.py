"""The defects real enriched-event files contain, and the reason each must be quarantined with.

A defect turns a valid envelope into a bad line. Each returns the line's bytes and
the reason code the pipeline must give it (None: the line is valid, e.g. a replay).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from jobs.contracts import CONTRACTS_DIR
from jobs.envelope import load_envelope

if TYPE_CHECKING:
    from generator.from_contract import ContractPayloads

MAX_LINE_BYTES = 1024 * 1024  # longer lines are quarantined unparsed as oversize_line


@dataclass(frozen=True)
class DefectRates:
    """Share of lines per defect, plus per-day counts of the costly file-level ones."""

    exact_replay: float = 0.01  # same root_id again (valid: a duplicate)
    resend: float = 0.005  # same business content, new root_id (valid: a duplicate)
    late: float = 0.01  # business date 1..max_late_days before the folder's (valid)
    unknown_event_type: float = 0.001
    unknown_schema_version: float = 0.001
    non_json: float = 0.0005
    truncated_line: float = 0.0005
    wrong_type: float = 0.001
    missing_envelope_field: float = 0.001
    envelope_violation: float = 0.001  # well-formed JSON that lies about the envelope
    missing_payload_field: float = 0.001
    rule_violation: float = 0.002
    invalid_utf8: float = 0.0003
    oversize_lines: int = 1  # per day: each is > 1 MiB
    empty_files: int = 1  # per day
    truncated_gzip_files: int = 1  # per day: a gzip member cut short
    max_late_days: int = 3

    LINE_DEFECTS = (
        "unknown_event_type",
        "unknown_schema_version",
        "non_json",
        "truncated_line",
        "wrong_type",
        "missing_envelope_field",
        "envelope_violation",
        "missing_payload_field",
        "rule_violation",
        "invalid_utf8",
    )
    VALID_VARIANTS = ("exact_replay", "resend", "late")

    @classmethod
    def none(cls) -> DefectRates:
        zero = {f.name: 0 for f in fields(cls) if f.name != "max_late_days"}
        return cls(**zero)

    def scaled(self, factor: float) -> DefectRates:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in (*self.LINE_DEFECTS, *self.VALID_VARIANTS):
            values[name] = min(values[name] * factor, 0.2)
        return DefectRates(**values)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# The envelope's required fields, from its contract: deleting one is missing_field:<name>.
ENVELOPE_FIELDS = tuple(f.name for f in load_envelope(CONTRACTS_DIR).fields if not f.nullable)

NON_JSON_LINES = (
    "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    "ERROR collector: upstream timed out after 30000 ms",
    "event_type,schema_version,payload",
    "\x00\x00\x00\x00",
)


def dumps(envelope: dict) -> str:
    return json.dumps(envelope, separators=(",", ":"))


def _break_envelope(rng: random.Random, envelope: dict) -> tuple[str, str]:
    """Break exactly one rule of the envelope contract; returns the line and its reason."""
    choice = rng.randrange(5)
    if choice == 0:
        envelope["root_id"] = ""
        return dumps(envelope), "missing_field:root_id"
    if choice == 1:
        envelope["root_id"] = envelope["root_id"].replace("-", "")[: rng.randint(1, 31)]
        return dumps(envelope), "wrong_type:root_id"
    if choice == 2:
        envelope["collector_tstamp"] = "9999" + envelope["collector_tstamp"][4:]
        return dumps(envelope), "rule:collector_tstamp_range"
    if choice == 3:
        envelope["payload"] = dumps(envelope["payload"])  # sent JSON-encoded, as a string
        return dumps(envelope), "wrong_type:payload"
    envelope["collector_id"] = ""
    return dumps(envelope), "missing_field:collector_id"


def make_defect(rng: random.Random, kind: str, envelope: dict, payloads: ContractPayloads) -> tuple[bytes, str]:
    """Turn a valid envelope (a fresh copy, free to change) into a bad line. `payloads`:
    those of the envelope's version, which break their own fields and rules."""
    payload = envelope["payload"]
    if kind in ("wrong_type", "missing_payload_field", "rule_violation"):
        broken = {
            "wrong_type": payloads.wrong_type,
            "missing_payload_field": payloads.missing_field,
            "rule_violation": payloads.break_rule,
        }[kind](rng, payload)
        reason = broken or payloads.missing_field(rng, payload)  # nothing of that kind to break
        return dumps(envelope).encode(), reason
    if kind == "unknown_event_type":
        known = envelope["event_type"]  # a type no contract has, or a known one misspelt
        envelope["event_type"] = rng.choice(("BitcoinBlock", known.lower(), f"{known}V2"))
        return dumps(envelope).encode(), "unknown_event_type"
    if kind == "unknown_schema_version":
        envelope["schema_version"] = rng.choice(("2-0-0", "1-9-0", "0-0-1"))
        return dumps(envelope).encode(), "unknown_schema_version"
    if kind == "non_json":
        return rng.choice(NON_JSON_LINES).encode(), "malformed_json"
    if kind == "truncated_line":
        text = dumps(envelope)
        return text[: rng.randint(1, len(text) - 2)].encode(), "malformed_json"
    if kind == "missing_envelope_field":
        name = rng.choice(ENVELOPE_FIELDS)
        del envelope[name]
        return dumps(envelope).encode(), f"missing_field:{name}"
    if kind == "envelope_violation":
        line, reason = _break_envelope(rng, envelope)
        return line.encode(), reason
    if kind == "invalid_utf8":
        data = dumps(envelope).encode()
        cut = data.index(b'"collector_id":"') + len(b'"collector_id":"')
        return data[:cut] + b"\xff\xfe\xc3" + data[cut:], "invalid_utf8"
    if kind == "oversize_line":
        payload["debug_blob"] = "x" * (MAX_LINE_BYTES + rng.randint(1, 4096))
        return dumps(envelope).encode(), "oversize_line"
    raise ValueError(f"unknown defect {kind!r}")
