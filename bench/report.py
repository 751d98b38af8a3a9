"""The bench's report: latest.json's figures as the Markdown of bench/results/latest.md.
Pure: a dict in, text out."""

from __future__ import annotations

from jobs.contracts import load_contracts

STAGE_ORDER = [
    "plan",
    "validate",
    "bronze",
    "quarantine",
    *load_contracts().target_tables,
    "quality_silver",
    "gold",
    "quality_gold",
    "quality_report",
    "ingested_files",
]


def scaling_lines(r: dict) -> list[str]:
    """(g)'s row: its figures, or why it failed; none if it did not run (`--scale 0`)."""
    scaling = r.get("scaling")
    if not scaling:
        return []
    row = f"| (g) first run of the day at {scaling['factor']}x the events ({scaling['events']:,}) |"
    if scaling.get("failed"):
        return [f"{row} failed | | {scaling['failed']} |"]
    return [
        f"{row} {scaling['seconds']:.1f} | {scaling['events'] / scaling['seconds']:,.0f} | scaled/first = "
        f"{r['ratios']['scaled/first']}; peak driver RSS {scaling['peak_rss_bytes'] / 2**30:.2f} GiB |"
    ]


def markdown(result: dict) -> str:
    r, stages = result, result["stage_seconds"]
    lines = [
        f"# make bench — {r['events']:,} events ({r['day']}, seed {r['seed']}), {r['generated_at']}",
        "",
        f"Machine: {r['machine']['cores']} cores, {r['machine']['memory_bytes'] / 2**30:.0f} GiB, "
        f"{r['machine']['cpu']}. Spark {r['versions']['pyspark']}, Delta {r['versions']['delta-spark']}, "
        f"GE {r['versions']['great-expectations']}, DuckDB {r['versions']['duckdb']}. "
        f"Settings: {', '.join(f'{k}={v}' for k, v in r['settings'].items())}. "
        f"Commit {r['commit']} (the history was built by {r['history_built_by_commit']}).",
        "",
        "| measurement | seconds | records/s | note |",
        "|---|---:|---:|---|",
        f"| (a) our job, first run, end to end | {r['e2e_seconds']:.1f} | {r['records_per_second']:,.0f} | "
        f"spark-submit, cold JVM; peak driver RSS {r['peak_rss_bytes'] / 2**30:.2f} GiB |",
        f"| (b) the same window again | {r['rerun_seconds']:.1f} | | rerun/first = {r['ratios']['rerun/first']}"
        f"{' (skipped: same input fingerprint)' if r['rerun_skipped'] else ''} |",
        f"| (c) the same day after {r['history_days']} days of history | {r['day31_seconds']:.1f} | | "
        f"day{r['history_days'] + 1}/day1 = {r['ratios']['day31/day1']} |",
        f"| (d) naive Spark (JSON → dropDuplicates → Delta) | {r['naive_spark_seconds']:.1f} | | "
        f"ours/naive = {r['ratios']['ours/naive_spark']} |",
        f"| (e) DuckDB, the same work (contracts, quarantine, upcast, in-window dedupe, Parquet) | "
        f"{r['duckdb_seconds']:.1f} | | ours/DuckDB = {r['ratios']['ours/duckdb']}; local copies of the files; "
        f"{'the same counts as ours' if r['duckdb_same_counts'] else 'counts differ from ours: see latest.json'} |",
        f"| (e') DuckDB, single-node floor (envelope checks, dedup, daily aggregate) | "
        f"{r['duckdb_floor_seconds']:.1f} | | ours/floor = {r['ratios']['ours/duckdb_floor']}; the readable files |",
        f"| (f) `lakehouse maintain` on the warehouse of (c) | {r['maintenance']['maintain_seconds']:.1f} | | "
        "OPTIMIZE, checkpoint, VACUUM of every table (below) |",
        *scaling_lines(r),
        "",
        "Stages of the first run (seconds, from ops.pipeline_runs):",
        "",
        "| stage | first run | rerun | after history |",
        "|---|---:|---:|---:|",
    ]

    def cell(seconds: float | None) -> str:
        return "—" if seconds is None else f"{seconds:.1f}"

    seen = [*stages, *r["rerun_stage_seconds"], *r["day31_stage_seconds"]]
    for stage in sorted(dict.fromkeys(seen), key=lambda s: STAGE_ORDER.index(s) if s in STAGE_ORDER else 99):
        lines.append(
            f"| {stage} | {cell(stages.get(stage))} | {cell(r['rerun_stage_seconds'].get(stage))} | "
            f"{cell(r['day31_stage_seconds'].get(stage))} |"
        )
    lines += [
        "",
        f"The runs of the history's backfill (seconds, oldest first, by window start): "
        f"{', '.join(f'{v:.0f}' for v in r['history_run_seconds'].values())}.",
    ]
    lines += ["", *maintenance_lines(r["maintenance"])]
    lines += [
        "",
        f"Quality gates (GE): {r['quality_seconds']:.1f} s = {r['quality_share']:.1%} of the stage seconds, "
        f"{r['quality_share_of_e2e']:.1%} of the end-to-end time.",
        "",
        "Targets: " + "; ".join(f"{k}: {v}" for k, v in r["targets"].items()),
        "",
    ]
    if r.get("profile"):
        lines += [
            "Where the first run's JVM spent its CPU (JFR execution samples; Python workers not included):",
            "",
            "| stage | samples | top categories |",
            "|---|---:|---|",
        ]
        for stage, row in r["profile"].items():
            shares = ", ".join(f"{name} {share:.0%}" for name, share in row["categories"].items())
            lines.append(f"| {stage} | {row['samples']} | {shares} |")
        lines.append("")
    return "\n".join(lines)


def maintenance_lines(m: dict) -> list[str]:
    lines = [
        f"Table maintenance (f), on the history of {m['days'][0]} to {m['days'][1]}: active files per table",
        "",
        "| table | files before | files after |",
        "|---|---:|---:|",
        *(f"| {table} | {before} | {after} |" for table, (before, after) in m["files"].items()),
        "",
        "Two dashboard-style queries over all those days (every column, by day; the fastest of three runs):",
        "",
        "| query over | seconds before | seconds after | GB read before | GB read after |",
        "|---|---:|---:|---:|---:|",
    ]
    for table, q in m["queries"].items():
        lines.append(
            f"| {table} | {q['before']['seconds']:.2f} | {q['after']['seconds']:.2f} | "
            f"{q['before']['gb']:.3f} | {q['after']['gb']:.3f} |"
        )
    return lines
