"""Write one day of enriched-event files, with defects, and the ground truth beside them.

The upstream layout: event_date=YYYY-MM-DD/hour=HH/<collector_id>-<sequence>.jsonl.gz
Ground truth: _truth/event_date=YYYY-MM-DD/{manifest.json, keys/<table>.tsv.gz,
quarantine.tsv.gz}. Last of all, as the upstream batch loader does, the day's completion
marker event_date=YYYY-MM-DD/_SUCCESS (jobs/landing.py).

Each file is generated from its own seeded random stream, so files are independent
units of work (a process pool writes them in parallel) and the same seed gives
byte-identical files. Memory is bounded by one file per worker.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import random
import tempfile
import time
import uuid
from collections import Counter, deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

from generator.defects import DefectRates, dumps, make_defect
from generator.from_contract import ContractPayloads
from generator.sinks import Sink
from generator.truth import TruthWriter
from jobs.contracts import load_contracts
from jobs.definitions import DEFINITIONS_DIR
from jobs.landing import marker_key

log = logging.getLogger("generate")

# Share of a day's events per UTC hour: quiet nights, busy afternoons.
HOURLY_PROFILE = (3, 2, 2, 2, 2, 3, 4, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 5, 5, 4, 4, 3, 3)
TRUTH_PREFIX = "_truth"


@dataclass(frozen=True)
class GeneratorConfig:
    day: date
    events: int
    seed: int = 42
    collectors: int = 3
    max_events_per_file: int = 25_000
    rates: DefectRates = field(default_factory=DefectRates)
    definitions_dir: str = ""  # whose contracts are generated ("" = this project's)


@dataclass(frozen=True)
class EventType:
    """One event type as the generator makes it: its versions' payloads, weighted."""

    name: str
    share: float
    versions: tuple[ContractPayloads, ...]
    weights: tuple[float, ...]

    @property
    def current(self) -> ContractPayloads:
        return self.versions[0]

    def pick(self, rng: random.Random) -> ContractPayloads:
        if len(self.versions) == 1:
            return self.versions[0]
        return rng.choices(self.versions, weights=self.weights)[0]


@lru_cache(maxsize=4)
def from_contracts(definitions_dir: str, seed: int) -> dict[str, EventType]:
    """The event types whose current contract gives them a share of the day, with the
    older versions its `generate.versions` still sends."""
    root = Path(definitions_dir) if definitions_dir else DEFINITIONS_DIR
    registry = load_contracts(root / "contracts")
    seeds = root / "seeds"
    types = {}
    for name in registry.event_types:
        current = registry.current(name)
        generate = current.generate
        if not generate.get("share"):
            continue
        older = {str(v): float(w) for v, w in (generate.get("versions") or {}).items()}
        payloads = [ContractPayloads(current, seed, generate, seeds)]
        for version in older:
            contract = registry.get(name, version)
            if contract is None:
                raise ValueError(f"{current.source}: generate.versions names {version}, which has no contract")
            payloads.append(ContractPayloads(contract, seed, generate, seeds))
        weights = (1 - sum(older.values()), *older.values())
        types[name] = EventType(name, float(generate["share"]), tuple(payloads), weights)
    if not types:
        raise ValueError(f"no contract under {root / 'contracts'} has a generate.share")
    return types


def day_mix(config: GeneratorConfig) -> dict[str, float]:
    """Each event type's share of a day: the contracts' shares are weights."""
    types = from_contracts(config.definitions_dir, config.seed)
    total = sum(t.share for t in types.values())
    return {name: t.share / total for name, t in sorted(types.items())}


def truth_modes(config: GeneratorConfig) -> dict[str, str]:
    """How the truth writer treats each silver table's keys (generator/truth.py)."""
    modes = {}
    for event_type in from_contracts(config.definitions_dir, config.seed).values():
        current = event_type.current
        mode = "latest" if current.contract.latest_by else "unique" if current.unique_keys else "dedupe"
        modes[current.contract.target_table] = mode
    return modes


@dataclass(frozen=True)
class FilePlan:
    key: str  # object key / relative path
    hour: int
    collector_id: str
    events: int
    kind: str = "events"  # events | empty | truncated_gzip


@dataclass
class FileResult:
    key: str
    kind: str
    lines: int
    bytes: int
    categories: Counter
    keys_by_table: dict  # table -> list of "business_date\tkey[\textra]"
    quarantine: list  # "line_number\tcategory\treason"


def plan_files(config: GeneratorConfig) -> list[FilePlan]:
    """Which files the day has and how many events each holds (deterministic)."""
    rng = random.Random(f"{config.seed}:{config.day}:plan")
    total_weight = sum(HOURLY_PROFILE)
    plans: list[FilePlan] = []
    remaining = config.events
    for hour, weight in enumerate(HOURLY_PROFILE):
        in_hour = remaining if hour == 23 else round(config.events * weight / total_weight)
        remaining -= in_hour
        for c in range(config.collectors):
            per_collector = in_hour // config.collectors + (1 if c < in_hour % config.collectors else 0)
            collector_id = f"collector-{c + 1}"
            sequence = 0
            while per_collector > 0:
                n = min(per_collector, config.max_events_per_file)
                plans.append(FilePlan(file_key(config.day, hour, collector_id, sequence), hour, collector_id, n))
                per_collector -= n
                sequence += 1
    for kind, count in (("empty", config.rates.empty_files), ("truncated_gzip", config.rates.truncated_gzip_files)):
        for _i in range(count):
            hour, collector = rng.randrange(24), f"collector-{rng.randrange(config.collectors) + 1}"
            sequence = 900 + len([p for p in plans if p.kind != "events"])
            plans.append(
                FilePlan(
                    file_key(config.day, hour, collector, sequence), hour, collector, 0 if kind == "empty" else 40, kind
                )
            )
    return plans


def file_key(day: date, hour: int, collector_id: str, sequence: int) -> str:
    return f"event_date={day.isoformat()}/hour={hour:02d}/{collector_id}-{sequence:05d}.jsonl.gz"


def deterministic_gzip(data: bytes) -> bytes:
    """gzip with mtime 0 and no file name: the same bytes for the same input."""
    return gzip.compress(data, compresslevel=3, mtime=0)


class EventFactory:
    """Builds the valid envelopes of one file, in collector-time order."""

    def __init__(self, config: GeneratorConfig, plan: FilePlan, rng: random.Random):
        self.config, self.plan, self.rng = config, plan, rng
        day_start = datetime.combine(config.day, datetime.min.time(), tzinfo=UTC)
        self.hour_start = day_start + timedelta(hours=plan.hour)
        self.types = from_contracts(config.definitions_dir, config.seed)
        mix = day_mix(config)
        self.names = list(mix)
        self.cum_weights = list(accumulate(mix.values()))
        self.groups: dict[str, deque] = {name: deque() for name in self.names}  # open groups, per type

    def envelope(self, index: int, late_days: int = 0) -> tuple[dict, ContractPayloads]:
        """A valid envelope, and the payloads of the version it carries."""
        rng = self.rng
        collected = self.hour_start + timedelta(seconds=3600 * index / max(self.plan.events, 1))
        event_type = rng.choices(self.names, cum_weights=self.cum_weights)[0]
        business_time = collected - timedelta(seconds=rng.randint(5, 300), days=late_days)
        version = self.types[event_type].pick(rng)
        # A late event opens no group: it belongs with none of the day's.
        payload = version.payload(rng, business_time, None if late_days else self.groups[event_type])
        enriched = collected + timedelta(seconds=rng.randint(1, 20))
        envelope = {
            "event_type": event_type,
            "schema_version": version.contract.schema_version,
            "payload": payload,
            "collector_tstamp": collected.strftime("%Y-%m-%d %H:%M:%S %z"),
            "root_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "collector_id": self.plan.collector_id,
            "enriched_tstamp": enriched.strftime("%Y-%m-%d %H:%M:%S %z"),
        }
        return envelope, version


def pick_category(rng: random.Random, rates: DefectRates, has_recent: bool) -> str:
    roll = rng.random()
    for name in (*DefectRates.VALID_VARIANTS, *DefectRates.LINE_DEFECTS):
        roll -= getattr(rates, name)
        if roll < 0:
            if name in ("exact_replay", "resend") and not has_recent:
                return "valid"
            return name
    return "valid"


def generate_file(config: GeneratorConfig, plan: FilePlan, oversize_indices: frozenset) -> tuple[FileResult, bytes]:
    rng = random.Random(f"{config.seed}:{plan.key}")
    factory = EventFactory(config, plan, rng)
    out = io.BytesIO()
    categories: Counter = Counter()
    keys: dict[str, list[str]] = {}
    quarantine: list[str] = []
    recent: deque = deque(maxlen=256)  # (line bytes, envelope) of valid events
    rates = config.rates
    lines = plan.events
    if plan.kind == "empty":
        lines = 0

    for index in range(lines):
        line_number = index + 1
        category = "oversize_line" if index in oversize_indices else pick_category(rng, rates, bool(recent))
        if category == "exact_replay":
            line, _ = rng.choice(recent)
        elif category == "resend":
            _, original = rng.choice(recent)
            envelope, _ = factory.envelope(index)  # a fresh envelope for its times and id...
            envelope["event_type"], envelope["schema_version"] = original["event_type"], original["schema_version"]
            envelope["payload"] = original["payload"]  # ...carrying the same business content
            line = dumps(envelope).encode()
        elif category in ("valid", "late"):
            late_days = rng.randint(1, rates.max_late_days) if category == "late" else 0
            envelope, version = factory.envelope(index, late_days)
            line = dumps(envelope).encode()
            if plan.kind == "events":
                keys.setdefault(version.contract.target_table, []).append(version.truth(envelope["payload"]))
                recent.append((line, envelope))
        else:
            envelope, version = factory.envelope(index)
            line, reason = make_defect(rng, category, envelope, version)
            quarantine.append(f"{line_number}\t{category}\t{reason}")
        categories[category] += 1
        out.write(line)
        out.write(b"\n")

    data = deterministic_gzip(out.getvalue())
    if plan.kind == "truncated_gzip":
        # Cut inside the deflate stream: no line of this file can be trusted.
        data = data[: len(data) * 2 // 3]
        categories = Counter({"in_truncated_gzip": lines})
        keys, quarantine = {}, ["0\ttruncated_gzip\tcorrupt_file"]
    return FileResult(plan.key, plan.kind, lines, len(data), categories, keys, quarantine), data


def _generate_and_write(args) -> FileResult:
    config, plan, oversize_indices, sink = args
    result, data = generate_file(config, plan, oversize_indices)
    sink.write(plan.key, data)
    return result


def generate_day(config: GeneratorConfig, sink: Sink, workers: int | None = None) -> dict:
    """Generate one day into the sink; returns the manifest (also written beside the data)."""
    started = time.monotonic()
    plans = plan_files(config)
    rng = random.Random(f"{config.seed}:{config.day}:oversize")
    event_plans = [p for p in plans if p.kind == "events"]
    oversize: dict[str, set] = {}
    for _ in range(config.rates.oversize_lines if event_plans else 0):
        plan = rng.choice(event_plans)
        oversize.setdefault(plan.key, set()).add(rng.randrange(plan.events))

    jobs = [(config, plan, frozenset(oversize.get(plan.key, ())), sink) for plan in plans]
    workers = workers or min(os.cpu_count() or 1, 8)
    last_report = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="lakehouse-truth-") as scratch,
        TruthWriter(Path(scratch), truth_modes(config)) as truth,
        ProcessPoolExecutor(max_workers=workers) as pool,
    ):
        # pool.map keeps file order: the truth files come out the same for a seed.
        for done, result in enumerate(pool.map(_generate_and_write, jobs, chunksize=1), start=1):
            truth.add(result)
            if time.monotonic() - last_report > 5 or done == len(jobs):
                elapsed = time.monotonic() - started
                log.info(
                    "%s: %d/%d files, %d/%d events, %.0f events/s",
                    config.day,
                    done,
                    len(jobs),
                    truth.lines_total,
                    config.events,
                    truth.lines_total / max(elapsed, 1e-9),
                )
                last_report = time.monotonic()
        manifest = truth.manifest(described(config))
        truth.close()
        prefix = f"{TRUTH_PREFIX}/event_date={config.day.isoformat()}"
        for name, path in truth.files().items():
            sink.write_file(f"{prefix}/{name}", path)
        sink.write(f"{prefix}/manifest.json", (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
        # Written last: a reader that sees the marker sees the whole day (and its truth).
        sink.write(marker_key(config.day), json.dumps({"files": manifest["files"]["total"]}).encode())
    # Timing is reported, not written: the truth is the same bytes for the same seed.
    return {**manifest, "seconds": round(time.monotonic() - started, 2)}


def described(config: GeneratorConfig) -> dict:
    """How a day was generated, for its manifest."""
    return {
        "day": config.day.isoformat(),
        "events": config.events,
        "seed": config.seed,
        "collectors": config.collectors,
        "mix": {name: round(share, 6) for name, share in day_mix(config).items()},
        "versions": {
            name: {v.contract.schema_version: round(w, 6) for v, w in zip(t.versions, t.weights, strict=True)}
            for name, t in sorted(from_contracts(config.definitions_dir, config.seed).items())
        },
        "rates": config.rates.as_dict(),
    }
