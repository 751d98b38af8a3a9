"""Generated data against the contracts, with the rules running in Spark."""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from generator.defects import DefectRates
from generator.generate import GeneratorConfig, generate_day
from generator.sinks import LocalDirectory
from jobs.contract_model import FieldSpec
from jobs.contracts import load_contracts
from jobs.object_store import s3_client
from jobs.reader import read_lines
from jobs.validation import typed_value, validate
from tests.conftest import ROOT, run

pytestmark = pytest.mark.integration
DAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("raw")
    generate_day(
        GeneratorConfig(day=DAY, events=30_000, seed=11, rates=DefectRates().scaled(5)),
        LocalDirectory(directory),
        workers=2,
    )
    return directory


@pytest.fixture(scope="module")
def validated(spark, generated):
    files = [str(p) for p in sorted(generated.glob("event_date=*/hour=*/*.jsonl.gz"))]
    return validate(read_lines(spark, files), load_contracts()).cache()


def test_valid_events_pass_and_every_injected_violation_fails_with_its_reason(validated, generated):
    truth = {}
    with gzip.open(generated / "_truth/event_date=2026-11-20/quarantine.tsv.gz", "rt") as rows:
        for row in rows:
            file, line_number, category, reason = row.rstrip("\n").split("\t")
            truth[(file, int(line_number))] = (category, reason)
    assert len({category for category, _ in truth.values()}) == 12  # every kind of bad line

    seen = {}
    for row in validated.select("source_file", "line_number", "reasons").toLocalIterator():
        relative = row.source_file.split(str(generated) + "/", 1)[-1]
        seen[(relative, row.line_number)] = row.reasons

    wrongly_quarantined = {k: r for k, r in seen.items() if r and k not in truth}
    assert wrongly_quarantined == {}
    missed = {k: (truth[k], seen.get(k)) for k in truth if seen.get(k) != [truth[k][1]]}
    assert missed == {}
    assert sum(1 for r in seen.values() if not r) > 25_000


def test_older_versions_are_upcast_and_values_are_conformed_exactly(validated, generated):
    taxis = validated.where("size(reasons) = 0 and event_type = 'YellowTaxiTripRecords'")
    by_version = {
        r.schema_version: r.n for r in taxis.groupBy("schema_version").count().withColumnRenamed("count", "n").collect()
    }
    assert by_version.keys() == {"1-0-0", "1-1-0"}
    old = taxis.where("schema_version = '1-0-0'").select("typed_taxi_trips.*", "payload_json").first()
    assert old.airport_fee is None  # unknown, not zero
    payload = json.loads(old.payload_json)
    assert old.total_amount == Decimal(str(payload["total_amount"])).quantize(Decimal("0.01"))
    # pickup is New York wall-clock time; the business date is its local date
    local = datetime.strptime(payload["tpep_pickup_datetime"], "%Y-%m-%d %H:%M:%S")
    assert old.business_date == local.date()

    transfer = (
        validated.where("size(reasons) = 0 and event_type = 'EthereumTokenTransfer'")
        .where("length(typed_token_transfers.value) > 61")
        .select("typed_token_transfers.*", "payload_json")
        .first()
    )
    assert transfer.value == json.loads(transfer.payload_json)["value"]  # > 2**200, exact text
    assert int(transfer.value) > 2**200
    stamp = json.loads(transfer.payload_json)["block_timestamp"]
    expected = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
    assert transfer.block_timestamp.astimezone(UTC) == expected


def test_lakehouse_generate_writes_the_layout_and_truth_to_the_raw_bucket(settings):
    result = run(
        [str(ROOT / ".venv/bin/lakehouse"), "generate", "--date", "2031-01-02", "--events", "5000", "--seed", "3"]
    )
    assert result.returncode == 0, result.stderr[-2000:]
    s3 = s3_client(settings)  # the jobs' identity can read what the loader wrote
    listing = s3.list_objects_v2(Bucket=settings.raw_bucket, Prefix="event_date=2031-01-02/")
    keys = [o["Key"] for o in listing.get("Contents", []) if o["Key"] != "event_date=2031-01-02/_SUCCESS"]
    assert len(keys) >= 70 and all(k.endswith(".jsonl.gz") for k in keys)
    marker = json.loads(s3.get_object(Bucket=settings.raw_bucket, Key="event_date=2031-01-02/_SUCCESS")["Body"].read())
    assert marker == {"files": len(keys)}  # the loader's completion marker, written last
    manifest = json.loads(
        s3.get_object(Bucket=settings.raw_bucket, Key="_truth/event_date=2031-01-02/manifest.json")["Body"].read()
    )
    assert manifest["lines"]["readable"] == 5000
    assert manifest["files"]["total"] == len(keys)


HEX_PATTERNS = ["^0x[0-9a-f]{40}$", "^[0-9a-f]{3}$", "^0x[0-9a-f]{1}$", "^[A-Za-z][A-Za-z0-9_.]*$"]
HEX_CANDIDATES = [
    "0x" + "ab12" * 10,
    "0x" + "AB12" * 10,  # upper-case digits
    "0X" + "ab12" * 10,  # upper-case prefix
    "0x" + "ab12" * 10 + "\n",  # a line break after the digits (Java's $ would accept it)
    "0x" + "ab12" * 10 + "0",
    "0x" + "ab12" * 9 + "ab1",
    "0x" + "ab12" * 9 + "ab1g",
    "0x" + "ab12" * 9 + "ab1é",
    "0x" + "ab12" * 9 + "ab 1",
    "1x" + "ab12" * 10,
    "0x",
    "",
    "abc",
    "ABC",
    "ab",
    "a-c",
    "0x0",
    "0xg",
    "00x1",
    "x.y_1",
]


def test_a_pattern_decided_without_a_regex_matches_as_the_pattern_does(spark):
    """jobs/patterns.py: hex-string patterns become length, prefix, unhex and lower checks;
    for every pattern and value, the condition agrees with a full match of the pattern."""
    from jobs.patterns import spark_matches

    values = spark.createDataFrame([(v,) for v in HEX_CANDIDATES], "value string")
    conditions = [F.expr(spark_matches("value", p)).alias(f"p{i}") for i, p in enumerate(HEX_PATTERNS)]
    rows = values.select("value", *conditions).collect()
    for row in rows:
        for i, pattern in enumerate(HEX_PATTERNS):
            expected = re.fullmatch(pattern.removeprefix("^").removesuffix("$"), row["value"]) is not None
            assert row[f"p{i}"] is expected, (pattern, row["value"])
    assert any(row["p0"] for row in rows) and any(row["p1"] for row in rows) and any(row["p2"] for row in rows)


def test_a_uint256_is_its_digits_without_leading_zeros_and_null_past_2_to_the_256(spark):
    spec = FieldSpec("value", "value", "uint256", nullable=False)
    values = ["0", "000", "007", "10", str(2**256 - 1), "0" + str(2**256 - 1), str(2**256), "9" * 77, "", "1e5", "-1"]
    rows = spark.createDataFrame([(v,) for v in values], "raw string").select(
        "raw", F.expr(typed_value(spec, "raw")).alias("typed")
    )
    typed = {row.raw: row.typed for row in rows.collect()}
    expected = {v: str(int(v)) if re.fullmatch("[0-9]{1,78}", v) and int(v) < 2**256 else None for v in values}
    assert typed == expected
    assert typed["007"] == "7" and typed["000"] == "0" and typed[str(2**256)] is None
