"""Where a run's driver JVM spent its CPU, stage by stage: a JFR recording summarised.

    python -m bench.jfr_summary RECORDING.jfr JOB.log

`make bench BENCH_ARGS=--profile` records the first run with Java Flight Recorder
(JFR, part of the JDK) and writes this summary into the results. Each execution sample
(a thread caught running Java code, every 10-20 ms) is put in the first category its
stack names (JSON parsing, Parquet writing, sorting, ...: CATEGORIES), and in
the stage whose log line brackets its time. Python workers (the file reader) and the
JIT compiler are not Java threads: they are not in the samples.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

# (category, pieces of a frame's class or method name), most specific first: a sample is
# put in the first category that any frame of its stack names (a UTF8String copy inside
# the Parquet writer is Parquet writing; one inside a sort is sorting).
CATEGORIES = [
    ("regex", ("java.util.regex.",)),
    ("timestamp parsing", ("DateTimeFormatter", "DateTimeFormatterHelper")),
    ("json parsing", ("JacksonParser", "com.fasterxml.jackson")),
    (
        "parquet write",
        ("ParquetOutputWriter", "InternalParquetRecordWriter", "ParquetFileWriter", "org.apache.parquet.column.values"),
    ),
    (
        "parquet read",
        ("VectorizedParquetRecordReader", "ParquetFileFormat", "ParquetFileReader", "VectorizedColumnReader"),
    ),
    ("sort", ("UnsafeExternalSorter", "UnsafeInMemorySorter", "UnsafeExternalRowSorter")),
    ("hash aggregate / join", ("BytesToBytesMap", "HashedRelation", "HashAggregateExec", "ObjectAggregation")),
    ("shuffle", ("org.apache.spark.shuffle", "ShuffleBlockFetcherIterator")),
    ("python exchange (arrow)", ("org.apache.spark.sql.execution.python", "org.apache.arrow")),
    ("code generation", ("org.codehaus.janino", "CodeGenerator")),
    (
        "delta log",
        (
            "org.apache.spark.sql.delta.Snapshot",
            "org.apache.spark.sql.delta.DeltaLog",
            "OptimisticTransaction",
            "org.apache.spark.sql.delta.Checkpoint",
            "DeltaHistoryManager",
            "org.apache.spark.sql.delta.actions",
            "org.apache.spark.sql.delta.stats",
        ),
    ),
    ("object store", ("org.apache.hadoop.fs.s3a", "software.amazon.awssdk")),
    (
        "query planning",
        (
            "org.apache.spark.sql.catalyst.trees",
            "org.apache.spark.sql.catalyst.analysis",
            "org.apache.spark.sql.catalyst.optimizer",
            "QueryExecution",
        ),
    ),
    ("class loading", ("java.lang.ClassLoader", "java.util.zip", "java.util.jar")),
    (
        "staging cache (build / read)",
        ("ColumnBuilder", "ColumnAccessor", "columnar.compression", "columnar.ColumnType", "DiskStore"),
    ),
    (
        "row code (projections, filters)",
        ("GeneratedClass", "org.apache.spark.sql.catalyst.expressions", "org.apache.spark.unsafe"),
    ),
]
STAGE_LINE = re.compile(r"^(\d\d:\d\d:\d\d) curate stage (\S+)\s+([\d.]+) s")
SAMPLE_TIME = re.compile(r"^\s*startTime = (\d\d:\d\d:\d\d)")


def jfr_tool() -> str:
    """The `jfr` command of the JDK that runs Spark."""
    java = subprocess.run(["bash", "-c", "command -v java"], capture_output=True, text=True).stdout.strip()
    return str(Path(java).resolve().with_name("jfr")) if java else "jfr"


def samples(recording: Path) -> Iterator[tuple[str, list[str]]]:
    """(HH:MM:SS, frames innermost first) of each execution sample, streamed from `jfr print`."""
    command = [jfr_tool(), "print", "--events", "jdk.ExecutionSample", "--stack-depth", "48", str(recording)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None  # stdout=PIPE
        frames: list[str]
        moment, frames, in_stack = None, [], False
        for line in process.stdout:
            if line.startswith("jdk.ExecutionSample"):
                moment, frames, in_stack = None, [], False
            elif match := SAMPLE_TIME.match(line):
                moment = match[1]
            elif line.strip() == "stackTrace = [":
                in_stack = True
            elif in_stack and line.strip() == "]":
                in_stack = False
                if moment:
                    yield moment, frames
            elif in_stack and line.strip() != "...":
                frames.append(line.strip())


def category(frames: list[str]) -> str:
    stack = "\n".join(frames)
    return next((name for name, pieces in CATEGORIES if any(piece in stack for piece in pieces)), "other")


def stage_windows(log_lines: list[str]) -> list[tuple[str, datetime, datetime]]:
    """(stage, start, end) from the job's `HH:MM:SS curate stage NAME S s` lines."""
    windows = []
    for line in log_lines:
        if match := STAGE_LINE.match(line):
            end = datetime.strptime(match[1], "%H:%M:%S")
            windows.append((match[2], end - timedelta(seconds=float(match[3])), end))
    return windows


def summarise(recording: Path, log_lines: list[str], top: int = 4) -> dict[str, dict]:
    """{stage: {samples, categories: {category: share}}} with each stage's `top` categories."""
    windows = stage_windows(log_lines)
    counts: dict[str, Counter] = defaultdict(Counter)
    for moment, frames in samples(recording):
        at = datetime.strptime(moment, "%H:%M:%S")
        stage = next((name for name, start, end in windows if start <= at <= end), None)
        if stage:
            counts[stage][category(frames)] += 1
    summary = {}
    for stage, _, _ in windows:
        total = sum(counts[stage].values())
        summary[stage] = {
            "samples": total,
            "categories": {name: round(n / total, 3) for name, n in counts[stage].most_common(top)} if total else {},
        }
    return summary


def main(argv: list[str]) -> int:
    recording, log = Path(argv[0]), Path(argv[1])
    for stage, row in summarise(recording, log.read_text().splitlines()).items():
        shares = ", ".join(f"{name} {share:.0%}" for name, share in row["categories"].items())
        print(f"{stage:24} {row['samples']:6d} samples  {shares}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
