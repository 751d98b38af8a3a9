"""The envelope contract in Spark: lines that are well-formed JSON but lie about the
envelope are quarantined with their reason; valid ones pass."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from jobs.contracts import load_contracts
from jobs.reader import LINES_SCHEMA
from jobs.validation import validate

pytestmark = pytest.mark.integration

LANDED = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
TOKEN = {
    "address": "0x" + "ab" * 20,
    "symbol": "TKN",
    "name": "Token",
    "decimals": 18,
    "total_supply": "1000",
    "block_timestamp": "2026-11-20 10:00:00 UTC",
    "block_number": 1,
    "block_hash": "0x" + "cd" * 32,
}


def envelope(**changes) -> dict:
    valid = {
        "event_type": "EthereumToken",
        "schema_version": "1-0-0",
        "payload": dict(TOKEN),
        "collector_tstamp": "2026-11-20 10:00:05 +0000",
        "root_id": "0b8c5e52-2f0c-4d5e-9f2a-3c1d2e4f5a6b",
        "collector_id": "collector-1",
        "enriched_tstamp": "2026-11-20 10:00:09 +0000",
    }
    valid.update(changes)
    return valid


def line(**changes) -> str:
    return json.dumps(envelope(**changes), separators=(",", ":"))


CASES = {
    # name: (line, expected reasons)
    "valid": (line(), []),
    "valid, spaced out, a nested 'payload' string": (
        json.dumps(envelope(payload={**TOKEN, "payload": "not me"}), indent=1),
        [],
    ),
    "valid, other key order": (json.dumps(dict(reversed(list(envelope().items())))), []),
    "empty root_id": (line(root_id=""), ["missing_field:root_id"]),
    "root_id not a uuid": (line(root_id="12345"), ["wrong_type:root_id"]),
    "root_id almost a uuid": (line(root_id="0b8c5e52-2f0c-4d5e-9f2a-3c1d2e4f5a6"), ["wrong_type:root_id"]),
    "collector_tstamp in year 9999": (
        line(collector_tstamp="9999-01-01 00:00:00 +0000"),
        ["rule:collector_tstamp_range"],
    ),
    "enriched after the file landed": (
        line(enriched_tstamp="2026-11-21 03:00:01 +0000"),
        ["rule:enriched_tstamp_range"],
    ),
    "enriched within the clock skew": (line(enriched_tstamp="2026-11-21 02:59:59 +0000"), []),
    "collector_tstamp at the epoch": (
        line(collector_tstamp="1970-01-01 00:00:00 +0000"),
        ["rule:collector_tstamp_range"],
    ),
    "collector_tstamp in another format": (
        line(collector_tstamp="2026-11-20T10:00:05Z"),
        ["wrong_type:collector_tstamp"],
    ),
    "payload as a JSON-encoded string": (line(payload=json.dumps(TOKEN)), ["wrong_type:payload"]),
    "payload as a compact JSON-encoded string": (
        line(payload=json.dumps(TOKEN, separators=(",", ":"))),
        ["wrong_type:payload"],
    ),
    "payload as a spaced JSON-encoded string": (
        json.dumps(envelope(payload=json.dumps(TOKEN))),
        ["wrong_type:payload"],
    ),
    "payload a number": (line(payload=42), ["wrong_type:payload"]),
    "payload a list": (line(payload=[TOKEN]), ["wrong_type:payload"]),
    "payload empty string": (line(payload=""), ["missing_field:payload"]),
    "event_type with a space": (line(event_type="Ethereum Token"), ["rule:event_type_pattern"]),
    "event_type too long": (line(event_type="E" * 129), ["rule:event_type_length"]),
    "schema_version not M-R-A": (line(schema_version="1.0"), ["rule:schema_version_pattern"]),
    "collector_id empty": (line(collector_id=""), ["missing_field:collector_id"]),
    "collector_id absent": (
        json.dumps({k: v for k, v in envelope().items() if k != "collector_id"}),
        ["missing_field:collector_id"],
    ),
    "two envelope defects at once": (
        line(root_id="x", collector_tstamp="9999-01-01 00:00:00 +0000"),
        ["rule:collector_tstamp_range", "wrong_type:root_id"],
    ),
}


def test_the_envelope_contract_quarantines_what_lies_about_the_envelope(spark):
    rows = [
        ("s3a://raw/event_date=2026-11-20/hour=10/c-1.jsonl.gz", number, text, len(text), None, LANDED)
        for number, (text, _) in enumerate(CASES.values(), start=1)
    ]
    validated = validate(spark.createDataFrame(rows, LINES_SCHEMA), load_contracts())
    got = {row.line_number: sorted(row.reasons) for row in validated.select("line_number", "reasons").collect()}
    mismatches = {
        name: (got[number], sorted(expected))
        for number, (name, (_, expected)) in enumerate(CASES.items(), start=1)
        if got[number] != sorted(expected)
    }
    assert mismatches == {}
