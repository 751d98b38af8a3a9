"""The generator: deterministic, defects at their rates, truth that adds up, real-looking values."""

from __future__ import annotations

import csv
import gzip
import json
import math
import random
import zlib
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from generator.defects import DefectRates
from generator.from_contract import ContractPayloads
from generator.generate import GeneratorConfig, from_contracts, generate_day
from generator.sinks import LocalDirectory
from jobs.definitions import DEFINITIONS_DIR

DAY = date(2026, 11, 20)
NEW_YORK = ZoneInfo("America/New_York")
ZONES = DEFINITIONS_DIR / "seeds" / "taxi_zone_lookup.csv"


def generate(directory: Path, events: int, seed: int = 7, rates: DefectRates | None = None) -> dict:
    config = GeneratorConfig(day=DAY, events=events, seed=seed, rates=rates or DefectRates())
    return generate_day(config, LocalDirectory(directory), workers=2)


def data_files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*.gz"))}


def readable_lines(directory: Path) -> list[bytes]:
    lines = []
    for path in sorted(directory.glob("event_date=*/hour=*/*.jsonl.gz")):
        try:
            lines += zlib.decompress(path.read_bytes(), wbits=31).splitlines()
        except zlib.error:
            continue  # the truncated gzip file
    return lines


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> tuple[Path, dict]:
    directory = tmp_path_factory.mktemp("day")
    return directory, generate(directory, events=200_000, rates=DefectRates().scaled(3))


def test_the_same_seed_gives_byte_identical_files(tmp_path):
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(first, 20_000)
    generate(second, 20_000)
    generate(other, 20_000, seed=8)
    files = data_files(first)
    assert len(files) > 10
    assert files == data_files(second)
    assert (first / "_truth/event_date=2026-11-20/manifest.json").read_bytes() == (
        second / "_truth/event_date=2026-11-20/manifest.json"
    ).read_bytes()
    assert data_files(other) != files


def test_the_layout_is_the_upstream_one(day):
    directory, manifest = day
    names = sorted(str(p.relative_to(directory)) for p in directory.glob("event_date=*/hour=*/*.jsonl.gz"))
    assert len(names) == manifest["files"]["total"]
    hours = {name.split("/")[1] for name in names}
    assert hours == {f"hour={h:02d}" for h in range(24)}
    assert all(name.startswith("event_date=2026-11-20/") for name in names)
    assert {name.split("/")[2].rsplit("-", 1)[0] for name in names} == {"collector-1", "collector-2", "collector-3"}


def test_each_defect_appears_at_its_configured_rate(day):
    _, manifest = day
    rates = DefectRates().scaled(3)
    counts = manifest["lines"]["by_category"]
    events = manifest["generator"]["events"]
    for name in (*DefectRates.LINE_DEFECTS, *DefectRates.VALID_VARIANTS):
        expected = getattr(rates, name) * events
        # binomial: within 5 standard deviations (and a couple of lines for replays
        # that cannot happen at the start of a file)
        tolerance = 5 * math.sqrt(expected) + 0.02 * expected + 2
        assert abs(counts.get(name, 0) - expected) <= tolerance, (name, counts.get(name), expected)
    assert counts["oversize_line"] == rates.oversize_lines
    assert manifest["files"]["empty"] == rates.empty_files
    assert manifest["files"]["truncated_gzip"] == rates.truncated_gzip_files


def test_manifest_counts_add_up_to_the_lines_written(day):
    directory, manifest = day
    lines = readable_lines(directory)
    assert len(lines) == manifest["lines"]["readable"] == manifest["expected"]["lines_read"]
    by_category = manifest["lines"]["by_category"]
    assert sum(by_category.values()) == manifest["lines"]["total"]
    assert manifest["lines"]["total"] - manifest["lines"]["readable"] == by_category["in_truncated_gzip"]
    expected = manifest["expected"]
    quarantined = sum(expected["quarantine_by_reason"].values())
    # every readable line is valid or quarantined; the truncated file is one quarantine row
    assert expected["valid"] + quarantined - manifest["files"]["truncated_gzip"] == len(lines)
    truth = directory / "_truth/event_date=2026-11-20"
    for spec in expected["silver"].values():
        keys = gzip.decompress((truth / spec["keys_file"]).read_bytes()).decode().splitlines()
        assert len(keys) == len(set(keys)) == spec["rows"] == sum(spec["by_business_date"].values())
    rows = gzip.decompress((truth / "quarantine.tsv.gz").read_bytes()).decode().splitlines()
    assert len(rows) == quarantined
    assert Counter(r.rsplit("\t", 1)[1] for r in rows) == expected["quarantine_by_reason"]


def test_late_events_carry_an_earlier_business_date(day):
    _, manifest = day
    dates = manifest["expected"]["silver"]["silver.token_transfers"]["by_business_date"]
    assert {"2026-11-17", "2026-11-18"} <= set(dates)
    assert max(dates, key=dates.get) == "2026-11-20"


def test_values_look_like_the_real_sources(day):
    directory, _ = day
    events = []
    for line in readable_lines(directory)[:60_000]:
        try:
            events.append(json.loads(line))
        except (ValueError, UnicodeDecodeError):
            continue
    taxis = [
        e["payload"]
        for e in events
        if e.get("event_type") == "YellowTaxiTripRecords"
        and isinstance(e.get("payload"), dict)
        and "PULocationID" in e["payload"]
    ]
    transfers = [
        e["payload"]
        for e in events
        if e.get("event_type") == "EthereumTokenTransfer"
        and isinstance(e.get("payload"), dict)
        and {"value", "transaction_hash"} <= set(e["payload"])
    ]
    tokens = [
        e["payload"]
        for e in events
        if e.get("event_type") == "EthereumToken" and isinstance(e.get("payload"), dict) and "decimals" in e["payload"]
    ]
    assert len(taxis) > 1000 and len(transfers) > 20_000 and len(tokens) > 100

    zone_ids = {int(row["LocationID"]) for row in csv.DictReader(ZONES.open())}
    pickups = Counter(t["PULocationID"] for t in taxis if isinstance(t.get("PULocationID"), int))
    assert sum(n for zone, n in pickups.items() if zone not in zone_ids) < 0.01 * len(taxis)  # broken ranges only
    manhattan = {int(r["LocationID"]) for r in csv.DictReader(ZONES.open()) if r["Borough"] == "Manhattan"}
    assert all(
        (t["congestion_surcharge"] == 2.5) == (t["PULocationID"] in manhattan)
        for t in taxis
        if isinstance(t.get("congestion_surcharge"), float) and t["PULocationID"] in zone_ids  # not a broken one
    )
    card = [t for t in taxis if t.get("payment_type") == 1]
    cash = [t for t in taxis if t.get("payment_type") == 2]
    assert len(card) > 2 * len(cash) > 0
    assert sum(t["tip_amount"] > 0 for t in card if isinstance(t.get("tip_amount"), float)) > 0.8 * len(card)
    assert all(t.get("tip_amount", 0) == 0 for t in cash)
    fares = [
        (t["fare_amount"], t["trip_distance"])
        for t in taxis
        if isinstance(t.get("fare_amount"), float) and isinstance(t.get("trip_distance"), float)
    ]
    long_trips = [f for f, d in fares if d > 5]
    short_trips = [f for f, d in fares if d < 1]
    assert sum(long_trips) / len(long_trips) > 2 * sum(short_trips) / len(short_trips)

    values = [int(t["value"]) for t in transfers if str(t["value"]).isdigit()]
    assert min(values) >= 1 and max(values) > 2**200
    hashes = [t["transaction_hash"] for t in transfers]
    assert sum(len(h) == 66 and h.startswith("0x") for h in hashes) > 0.99 * len(hashes)  # the rest: broken patterns
    per_tx = Counter(t["transaction_hash"] for t in transfers)
    assert sum(1 for n in per_tx.values() if n > 1) > 0.1 * len(per_tx)
    token_addresses = {t.get("address") for t in tokens}
    assert sum(t.get("token_address") in token_addresses for t in transfers) > 0.25 * len(transfers)  # one pool
    states: dict[tuple, set] = {}
    for t in tokens:
        states.setdefault((t.get("address"), t.get("block_number")), set()).add(json.dumps(t, sort_keys=True))
    repeated = [s for s in states.values() if len(s) > 1]
    assert len(repeated) <= 0.01 * len(states)  # two events of one token and block agree (but for a defect)
    assert {t["decimals"] for t in tokens if isinstance(t["decimals"], int) and t["decimals"] < 256} <= set(range(19))
    assert {e.get("schema_version") for e in events if e.get("event_type") == "YellowTaxiTripRecords"} >= {
        "1-0-0",
        "1-1-0",
    }


def exists_once(wall_clock: datetime) -> bool:
    """True when New York's clocks showed `wall_clock` exactly once (not skipped, not repeated)."""
    instants = {wall_clock.replace(tzinfo=NEW_YORK, fold=fold).astimezone(UTC) for fold in (0, 1)}
    return len(instants) == 1 and next(iter(instants)).astimezone(NEW_YORK).replace(tzinfo=None) == wall_clock


@pytest.mark.parametrize("switch", [datetime(2024, 3, 10, 7, tzinfo=UTC), datetime(2024, 11, 3, 6, tzinfo=UTC)])
def test_taxi_times_around_a_clock_change_read_back_as_a_trip_that_exists(switch):
    # TLC records carry wall-clock times without an offset; the engine reads them back in New York
    # time, taking the earlier offset in a repeated hour (to_utc_timestamp). A pickup in the hour a
    # spring-forward day skips would be read an hour late, and a trip across the repeated hour as
    # ending before it starts: either lands a valid trip in quarantine.
    taxis: ContractPayloads = from_contracts("", 7)["YellowTaxiTripRecords"].current
    rng = random.Random(1)
    for second in range(-3 * 3600, 3 * 3600, 37):
        trip = taxis.payload(rng, switch + timedelta(seconds=second))
        pickup, dropoff = (datetime.fromisoformat(trip[f]) for f in ("tpep_pickup_datetime", "tpep_dropoff_datetime"))
        assert pickup.replace(tzinfo=NEW_YORK) <= dropoff.replace(tzinfo=NEW_YORK), trip  # fold 0: as read
        assert exists_once(pickup) or pickup.hour == 1, pickup  # 01:xx repeats on the fall-back day
        assert exists_once(dropoff) or dropoff.hour == 1, dropoff


def test_the_shipped_package_reaches_the_generator_only_from_the_generate_command():
    """The generator is a development tool: no module of jobs/ imports it, but the
    `generate` command, inside itself (the jobs image has no generator/)."""
    import ast

    from jobs.settings import PROJECT_ROOT

    def imports_generator(nodes) -> bool:
        return any(
            isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "generator"
            for node in nodes
            for n in ast.walk(node)
        )

    importers = set()
    for path in sorted((PROJECT_ROOT / "jobs").rglob("*.py")):
        tree = ast.parse(path.read_text())
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        outside = [n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        if imports_generator(outside):
            importers.add((path.name, "<module>"))
        importers |= {(path.name, f.name) for f in functions if imports_generator(f.body)}
    assert importers == {("cli.py", "generate")}
