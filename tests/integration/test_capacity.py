"""`make capacity`'s storage figure counts what a table's current version reads: after
an overwrite, the replaced files stay on disk for rollback, and are not part of it."""

from __future__ import annotations

import os
from urllib.parse import urlparse

from bench.capacity import snapshot_bytes_by_layer
from jobs.curation.tables import path_of


def current_files_bytes(spark, path: str) -> int:
    return sum(os.path.getsize(urlparse(f).path) for f in spark.read.format("delta").load(path).inputFiles())


def files_on_disk_bytes(path: str) -> int:
    root = urlparse(path).path
    return sum(
        os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(root) if "_delta_log" not in d for f in files
    )


def test_storage_counts_the_current_snapshot_not_the_files_kept_for_rollback(spark, spark_settings, tmp_path):
    warehouse = spark_settings.with_overrides(warehouse=f"file://{tmp_path / 'lake'}")
    silver, gold = path_of(warehouse, "silver.things"), path_of(warehouse, "gold.things_daily")
    spark.range(5_000).selectExpr("id", "id % 7 AS day").write.format("delta").save(silver)
    spark.range(2_000).selectExpr("id * 3 AS id", "id % 5 AS day").write.format("delta").mode("overwrite").save(silver)
    spark.range(50).selectExpr("id AS day", "id * 2 AS n").write.format("delta").save(gold)

    sizes = snapshot_bytes_by_layer(spark, warehouse, ["silver.things", "gold.things_daily", "ops.absent"])

    assert sizes["silver"] == current_files_bytes(spark, silver) > 0
    assert files_on_disk_bytes(silver) > sizes["silver"]  # the overwritten version's files are still there
    assert sizes["gold"] == current_files_bytes(spark, gold) > 0
    assert sizes["ops"] == sizes["bronze"] == sizes["quarantine"] == 0
