"""Shared pieces of the integration tests: generated datasets in the raw bucket,
a fresh warehouse per scenario, edited copies of the declared checks, and readers of the
generator's ground truth."""

from __future__ import annotations

import gzip
import json
import shutil
import uuid
from datetime import date, timedelta
from pathlib import Path

import yaml
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from generator.defects import DefectRates
from jobs.contracts import load_contracts
from jobs.curation.tables import path_of
from jobs.definitions import DEFINITIONS_DIR, Definitions
from jobs.gold import References
from jobs.object_store import copy_prefix, s3_client

DAY1 = date(2025, 3, 1)  # in the past: the envelope contract quarantines timestamps after landing
DAYS = [DAY1, DAY1 + timedelta(days=1), DAY1 + timedelta(days=2)]
SILVER = sorted(load_contracts(DEFINITIONS_DIR / "contracts").target_tables)  # the silver tables the contracts define
CURATED = ["bronze.events", "quarantine.events", *SILVER]
RATES = DefectRates().scaled(4)
EVENTS = 6_000
DATASET = f"tests/raw-{uuid.uuid4().hex[:6]}"


def clone(settings, scenario, name: str):
    """A copy of a scenario's warehouse (Delta logs name their files relatively)."""
    copy = lake(settings, scenario.raw_uri, name)
    copy_prefix(settings, settings.lake_bucket, scenario.lake_key_prefix, copy.lake_key_prefix)
    return copy


def lake(settings, dataset: str, name: str, **overrides):
    """Settings for a fresh warehouse of its own."""
    return settings.with_overrides(
        warehouse=f"s3a://{settings.lake_bucket}/tests/{name}-{uuid.uuid4().hex[:6]}",
        raw_uri=dataset,
        trino_register=False,
        lock_wait_seconds=5,
        **overrides,
    )


def edited_checks(tmp_path, table: str, column: str | None = None, volume: dict | None = None, **kwargs) -> str:
    """A copy of the definitions with one check of a silver table changed, as a person
    would: the expectation on `column` gets `kwargs`, or the volume check gets `volume`.
    Returns the copy's directory (for the setting definitions_dir)."""
    root = tmp_path / "models"
    shutil.copytree(DEFINITIONS_DIR, root)
    registry = load_contracts(root / "contracts")
    path = root / "contracts" / Path(registry.current(registry.target_tables[table]).source).name
    document = yaml.safe_load(path.read_text())
    checks = document["checks"]
    if volume:
        checks["volume"].update(volume)
    else:
        matching = [e for e in checks["expect"] if e.get("column") == column]
        assert len(matching) == 1, f"{table}: expected one expectation on {column}"
        matching[0].update(kwargs)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return str(root)


def env_for(scenario) -> dict[str, str]:
    """The same scenario for a `lakehouse` subprocess."""
    return {
        "LAKEHOUSE_WAREHOUSE": scenario.warehouse,
        "LAKEHOUSE_RAW_URI": scenario.raw_uri,
        "LAKEHOUSE_TRINO_REGISTER": str(scenario.trino_register).lower(),
        "LAKEHOUSE_LOCK_WAIT_SECONDS": str(scenario.lock_wait_seconds),
        "LAKEHOUSE_SPARK_DRIVER_MEMORY": "2g",
    }


def truth(settings, day: date, name: str, dataset: str = DATASET) -> bytes:
    """A ground-truth file of a generated day; `dataset`: its key prefix in the raw bucket."""
    key = f"{dataset}/_truth/event_date={day}/{name}".lstrip("/")
    return s3_client(settings).get_object(Bucket=settings.raw_bucket, Key=key)["Body"].read()


def manifest(settings, day: date) -> dict:
    return json.loads(truth(settings, day, "manifest.json"))


def truth_keys(
    settings, days: list[date], table: str, dataset: str = DATASET, definitions_dir: Path = DEFINITIONS_DIR
) -> set[str]:
    """The keys silver should hold after those days: for a dimension (a contract with
    `latest_by`), the latest record of each key over all the days."""
    registry = load_contracts(Path(definitions_dir) / "contracts")
    dimension = registry.current(registry.target_tables[table]).latest_by is not None
    keys: set[str] = set()
    latest: dict[str, tuple[int, str]] = {}
    for day in days:
        for line in gzip.decompress(truth(settings, day, f"keys/{table}.tsv.gz", dataset)).decode().splitlines():
            if dimension:
                business_date, key, value = line.split("\t")
                if key not in latest or int(value) > latest[key][0]:
                    latest[key] = (int(value), business_date)
            elif line:
                keys.add(line)
    return keys | {f"{d}\t{k}\t{v}" for k, (v, d) in latest.items()}


def read(spark, scenario, table: str) -> DataFrame:
    """A table's rows; a view model's as the models that read it see them."""
    definitions = Definitions.load(scenario)
    view = definitions.view_model(table)
    if view is not None:
        return spark.sql(view.render(References(spark, scenario, definitions), []))
    return spark.read.format("delta").load(path_of(scenario, table))


def silver_keys(
    spark, scenario, table: str, run_ids: list[str] | None = None, definitions_dir: Path = DEFINITIONS_DIR
) -> set[str]:
    """Silver rows (of the given runs only, if any) rendered the way the generator writes
    its truth keys, from the table's contract."""
    frame = read(spark, scenario, table)
    if run_ids is not None:
        frame = frame.where(F.col("run_id").isin(run_ids))
    registry = load_contracts(Path(definitions_dir) / "contracts")
    return keys_as_truth(frame, registry.current(registry.target_tables[table]))


def keys_as_truth(frame: DataFrame, contract) -> set[str]:
    """business_date<TAB>key|key|...[<TAB>latest_by]: timestamps as UTC text (the session's
    time zone), decimals at their scale, as generator/from_contract.py renders them."""

    def text(column: str):
        if contract.field(column).type == "timestamp":
            return F.date_format(column, "yyyy-MM-dd HH:mm:ss")
        return F.col(column).cast("string")

    parts = [F.col("business_date").cast("string"), F.concat_ws("|", *(text(c) for c in contract.business_key))]
    if contract.latest_by:
        parts.append(text(contract.latest_by))
    return {r[0] for r in frame.select(F.concat_ws("\t", *parts)).collect()}


RUN_LINEAGE = ("run_id", "counted_runs")  # which runs wrote a row: differs between two lakes


def checksums(spark, scenario, tables=CURATED, ignore=RUN_LINEAGE, where=None) -> dict[str, list[str]]:
    """Sorted row hashes of each table: equal iff the tables hold the same rows.
    `where`: a function (table, frame) -> frame that keeps the rows to compare."""
    result = {}
    for table in tables:
        frame = read(spark, scenario, table)
        if where is not None:
            frame = where(table, frame)
        columns = sorted(c for c in frame.columns if c not in ignore)
        hashes = frame.select(F.sha2(F.to_json(F.struct(*columns)), 256).alias("h")).collect()
        result[table] = sorted(r.h for r in hashes)
    return result


def ledger(spark, scenario) -> list:
    return (
        read(spark, scenario, "ops.pipeline_runs")
        .orderBy("started_at", F.col("finished_at").asc_nulls_first())
        .collect()
    )
