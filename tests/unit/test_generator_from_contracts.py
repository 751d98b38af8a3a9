"""Event types the generator knows only from their contracts: valid payloads that keep
every field rule and cross-field rule, realism from the contract's `generate:` section,
defects with the reason the pipeline must give, and truth beside them."""

from __future__ import annotations

import gzip
import json
import random
import re
import shutil
import zlib
from collections import Counter, deque
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from generator.defects import DefectRates
from generator.formulas import GenerateError, compile_formula
from generator.from_contract import ContractPayloads, strftime_pattern
from generator.generate import GeneratorConfig, from_contracts, generate_day
from generator.sinks import LocalDirectory
from jobs.contracts import parse_contract_file
from jobs.definitions import DEFINITIONS_DIR
from tests.conftest import ROOT

BIKES = ROOT / "tests" / "fixtures" / "bike_share"
CONTRACT = BIKES / "contracts" / "BikeShareTrip-1-0-0.yaml"
MOMENT = datetime(2025, 3, 1, 10, 0, 5, tzinfo=UTC)


def bikes() -> ContractPayloads:
    return ContractPayloads(parse_contract_file(CONTRACT), seed=42)


def test_java_timestamp_formats_become_strftime_patterns():
    assert strftime_pattern("yyyy-MM-dd HH:mm:ss 'UTC'") == "%Y-%m-%d %H:%M:%S UTC"
    assert strftime_pattern("yyyy-MM-dd'T'HH:mm:ss") == "%Y-%m-%dT%H:%M:%S"
    with pytest.raises(GenerateError, match="does not know 'S'"):
        strftime_pattern("HH:mm:ss.SSS")


def test_payloads_keep_every_rule_of_their_contract_and_its_realism():
    generator, rng = bikes(), random.Random(3)
    contract = generator.contract
    payloads = [generator.payload(rng, MOMENT) for _ in range(2000)]
    for payload in payloads:
        assert set(payload) == {spec.name for spec in contract.fields}
        for spec in contract.fields:
            value = payload[spec.name]
            if spec.pattern:
                assert re.match(spec.pattern, value), (spec.name, value)
            if spec.enum:
                assert value in spec.enum
            if spec.min is not None:
                assert spec.min <= value <= spec.max
        started, ended = (datetime.fromisoformat(payload[f]) for f in ("started_at", "ended_at"))
        assert ended >= started and payload["duration_s"] == (ended - started).total_seconds()
        assert payload["started_at"] == "2025-03-01 10:00:05"  # the business date field is the moment
    riders = Counter(p["rider_type"] for p in payloads)
    assert 0.64 < riders["member"] / len(payloads) < 0.76  # choice {member: 0.7, casual: 0.3}
    stations = Counter(p["start_station_id"] for p in payloads)
    assert len(stations) <= 300 and stations.most_common(1)[0][1] > 3 * len(payloads) / 300  # a skewed pool


def test_the_truth_is_the_business_date_and_key_as_silver_renders_them():
    generator = bikes()
    payload = generator.payload(random.Random(1), MOMENT)
    assert generator.truth(payload) == f"2025-03-01\t{payload['trip_id']}"


@pytest.mark.parametrize(
    "defect, reason",
    [
        ("wrong_type", r"wrong_type:payload\.\w+"),
        ("missing_field", r"missing_field:payload\.\w+"),
        ("break_rule", r"rule:(\w+_(range|enum|pattern)|ended_before_started)"),
    ],
)
def test_a_defect_breaks_one_thing_and_names_its_reason(defect, reason):
    generator, rng = bikes(), random.Random(5)
    for _ in range(200):
        payload = generator.payload(rng, MOMENT)
        before = dict(payload)
        code = getattr(generator, defect)(rng, payload)
        assert re.fullmatch(reason, code), code
        changed = {k for k in before if before[k] != payload.get(k, "<gone>")}
        assert (len(changed) == 1 and code.endswith(next(iter(changed)))) or defect == "break_rule", (code, changed)


def test_a_generator_naming_an_unknown_field_is_refused(tmp_path):
    text = CONTRACT.read_text().replace("rider_type: {choice", "rider_kind: {choice")
    (tmp_path / CONTRACT.name).write_text(text)
    with pytest.raises(GenerateError, match=r"unknown fields \['rider_kind'\]"):
        ContractPayloads(parse_contract_file(tmp_path / CONTRACT.name), seed=1)


def test_a_contract_with_a_share_joins_the_day_with_its_truth_and_defects(tmp_path):
    definitions = tmp_path / "models"
    shutil.copytree(DEFINITIONS_DIR, definitions)
    shutil.copy(CONTRACT, definitions / "contracts")
    config = GeneratorConfig(
        day=date(2025, 3, 1), events=4000, seed=9, rates=DefectRates().scaled(4), definitions_dir=str(definitions)
    )
    out = tmp_path / "raw"
    manifest = generate_day(config, LocalDirectory(out), workers=2)
    assert manifest["generator"]["mix"]["BikeShareTrip"] == round(0.05 / 1.05, 6)  # shares are weights
    expected = manifest["expected"]["silver"]["silver.bike_trips"]
    assert 120 < expected["rows"] < 280  # ~5 % of 4,000, less the defects
    keys = gzip.decompress((out / "_truth/event_date=2025-03-01/keys/silver.bike_trips.tsv.gz").read_bytes())
    assert len(keys.decode().splitlines()) == expected["rows"]
    lines = [
        json.loads(line)
        for path in sorted(out.glob("event_date=*/hour=*/*.jsonl.gz"))
        for line in _lines(path)
        if line.startswith(b"{") and b'"BikeShareTrip"' in line
    ]
    versions = Counter(line["schema_version"] for line in lines)
    assert versions["1-0-0"] > 0.95 * len(lines)  # the others: unknown_schema_version defects
    reasons = Counter(manifest["expected"]["quarantine_by_reason"])
    assert any(r.startswith(("rule:", "wrong_type:payload.", "missing_field:payload.")) for r in reasons)


def _lines(path: Path) -> list[bytes]:
    try:
        return zlib.decompress(path.read_bytes(), wbits=31).splitlines()
    except zlib.error:
        return []


@pytest.mark.parametrize(
    "formula, refused",
    [
        ("__import__('os').system('true')", "only the text methods"),
        ("__import__('os')", "unknown function '__import__'"),
        ("symbol.__class__", "only the text methods"),
        ("[x for x in range(3)]", "may not hold ListComp"),
        ("(lambda: 1)()", "only functions by name may be called"),
        ("round(lambda: 1)", "may not hold Lambda"),
        ("open('/etc/passwd')", "unknown function 'open'"),
    ],
)
def test_a_formula_is_data_not_a_way_to_run_code(formula, refused):
    with pytest.raises(GenerateError, match=re.escape(refused)):
        compile_formula(formula, {"hex", "round"}, "a contract")


def test_a_group_shares_its_fields_and_counts_its_sequence_up():
    transfers = from_contracts("", 3)["EthereumTokenTransfer"].current
    rng, group = random.Random(2), deque[dict]()
    payloads = [transfers.payload(rng, MOMENT, group) for _ in range(3000)]
    by_tx: dict[str, list[dict]] = {}
    for payload in payloads:
        by_tx.setdefault(payload["transaction_hash"], []).append(payload)
    sizes = Counter(len(logs) for logs in by_tx.values())
    assert set(sizes) <= {1, 2, 3, 4} and sizes[1] > sizes[2] > sizes[3] > 0  # size: {1: 60, 2: 25, 3: 10, 4: 5}
    for logs in by_tx.values():
        assert len({(p["block_number"], p["block_hash"], p["block_timestamp"]) for p in logs}) == 1
        indexes = [p["log_index"] for p in logs]
        assert indexes == list(range(indexes[0], indexes[0] + len(logs)))
    numbers = {p["block_number"]: p["block_timestamp"] for p in payloads}
    seconds = {datetime.fromisoformat(t.removesuffix(" UTC")).timestamp() for t in numbers.values()}
    assert all(s % 12 == 0 for s in seconds)  # a block every 12 s
    assert len(numbers) == len(set(numbers.values()))  # one time per block number


def test_an_older_version_takes_the_current_realism_for_the_fields_it_has():
    taxis = from_contracts("", 3)["YellowTaxiTripRecords"]
    old = next(v for v in taxis.versions if v.contract.schema_version == "1-0-0")
    assert (
        0.1 < dict(zip([v.contract.schema_version for v in taxis.versions], taxis.weights, strict=True))["1-0-0"] < 0.3
    )
    rng = random.Random(4)
    for _ in range(500):
        trip = old.payload(rng, MOMENT)
        assert "Airport_fee" not in trip
        parts = ("fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount", "improvement_surcharge")
        total = sum(trip[p] for p in parts) + (trip["congestion_surcharge"] or 0)
        assert abs(trip["total_amount"] - total) < 0.005  # the old version's sum, without the fee
        assert trip["fare_amount"] >= 3.0 + 0.35 * 2  # flag drop plus at least two minutes
