"""Read enriched-event files into lines, keeping what a text reader would lose.

Spark's text source silently replaces invalid UTF-8, fails a whole job on a gzip
member cut short, and has no line numbers. So files are read as bytes and split per
file (one Arrow batch per file, no per-row Python function): every line keeps its
source file and line number, and a file-level defect becomes a row with a reason.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import datetime
from functools import partial

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import (
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from jobs.locations import raw_file_location

MAX_LINE_BYTES = 1024 * 1024

LINES_SCHEMA = StructType(
    [
        StructField("source_file", StringType(), nullable=False),
        StructField("line_number", LongType(), nullable=False),  # 1-based; 0 for a whole-file row
        StructField("line", StringType()),  # the text; undecodable bytes as \\x.. escapes
        StructField("line_bytes", IntegerType(), nullable=False),
        StructField("read_error", StringType()),  # invalid_utf8 | oversize_line | corrupt_file
        StructField("landed_at", TimestampType()),  # the file's modification time in the store
    ]
)
_ARROW_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("line_number", pa.int64()),
        ("line", pa.string()),
        ("line_bytes", pa.int32()),
        ("read_error", pa.string()),
        ("landed_at", pa.timestamp("us", tz="UTC")),
    ]
)


def decompress(content: bytes, path: str) -> tuple[bytes, str | None]:
    """The file's bytes, or (b"", "corrupt_file") if its gzip stream is broken."""
    if not path.endswith(".gz"):
        return content, None
    if not content:
        return b"", None  # an empty object: no lines, nothing wrong
    try:
        decoder = zlib.decompressobj(wbits=47)  # gzip or zlib, auto-detected
        data = decoder.decompress(content) + decoder.flush()
        while decoder.unused_data:  # concatenated gzip members are legal
            rest = decoder.unused_data
            decoder = zlib.decompressobj(wbits=47)
            data += decoder.decompress(rest) + decoder.flush()
        if not decoder.eof:
            return b"", "corrupt_file"
        return data, None
    except zlib.error:
        return b"", "corrupt_file"


def split_file(
    path: str, content: bytes, max_line_bytes: int = MAX_LINE_BYTES, landed_at: datetime | None = None
) -> pa.RecordBatch:
    data, error = decompress(content, path)
    if error:
        return pa.RecordBatch.from_pydict(
            {
                "source_file": [path],
                "line_number": [0],
                "line": [None],
                "line_bytes": [len(content)],
                "read_error": [error],
                "landed_at": [landed_at],
            },
            schema=_ARROW_SCHEMA,
        )
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()  # the newline that ends the last line
    try:
        # The common case: the whole file is valid UTF-8, decoded in one call.
        texts = data.decode("utf-8").split("\n")[: len(raw_lines)]
        errors: list[str | None] = [None] * len(raw_lines)
    except UnicodeDecodeError:
        texts, errors = [], []
        for raw in raw_lines:
            try:
                texts.append(raw.decode("utf-8"))
                errors.append(None)
            except UnicodeDecodeError:
                texts.append(raw.decode("utf-8", errors="backslashreplace"))
                errors.append("invalid_utf8")
    sizes = [len(raw) for raw in raw_lines]
    for i, size in enumerate(sizes):
        if size > max_line_bytes:
            errors[i] = "oversize_line"
    return pa.RecordBatch.from_pydict(
        {
            "source_file": [path] * len(raw_lines),
            "line_number": list(range(1, len(raw_lines) + 1)),
            "line": texts,
            "line_bytes": sizes,
            "read_error": errors,
            "landed_at": pa.repeat(pa.scalar(landed_at, _ARROW_SCHEMA.field("landed_at").type), len(raw_lines)),
        },
        schema=_ARROW_SCHEMA,
    )


def _split_batches(names: dict[str, str], batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        paths = batch.column("path").to_pylist()
        contents = batch.column("content").to_pylist()
        landed = batch.column("modificationTime").to_pylist()
        for path, content, landed_at in zip(paths, contents, landed, strict=False):
            yield split_file(names[raw_file_location(path)], content, landed_at=landed_at)


def read_lines(spark: SparkSession, paths: list[str], partitions: int | None = None) -> DataFrame:
    """All lines of the given files, one row each, with source file and line number.
    A line's source_file is its file's name exactly as given in `paths`."""
    if not paths:
        return spark.createDataFrame([], LINES_SCHEMA)
    # Spark names a local file its own way (file:/dir/f, whatever it was asked for):
    # the lines keep the caller's name, the one bronze's replaceWhere and
    # ops.ingested_files compare them with.
    names = {raw_file_location(path): path for path in paths}
    files = spark.read.format("binaryFile").load(paths).select("path", "content", "modificationTime")
    # Spreads files over the cores; the files themselves are the unit of work. Several
    # tasks per core: while one waits on the object store, another decompresses.
    files = files.repartition(partitions or 4 * max(spark.sparkContext.defaultParallelism, 1), "path")
    return files.mapInArrow(partial(_split_batches, names), LINES_SCHEMA)
