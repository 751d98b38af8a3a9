"""The ground truth of a generated day, written as the files' results arrive:
keys/<table>.tsv.gz (the business keys a correct pipeline ends with),
quarantine.tsv.gz (file, line, defect, expected reason) and the manifest's counts."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

if TYPE_CHECKING:
    from generator.generate import FileResult


class TruthWriter:
    """Streams the ground truth to gzip files as file results arrive: memory stays
    bounded by the sets that need deduplicating (keys that may repeat, token states).

    The keys of `unique_by_construction` tables (random 256-bit transaction hashes) never
    repeat, and replays and re-sends never add keys, so they are written as they come."""

    def __init__(self, directory: Path, tables: list[str], unique_by_construction: frozenset[str] = frozenset()):
        self.directory = directory
        self.tables = tables
        self.unique_by_construction = unique_by_construction
        self.keys = {table: self._open(f"keys/{table}.tsv.gz") for table in tables}
        self.quarantine = self._open("quarantine.tsv.gz")
        self.seen: set[str] = set()
        self.token_latest: dict[str, tuple[int, str]] = {}
        self.rows: Counter = Counter()
        self.by_date: dict[str, Counter] = {table: Counter() for table in tables}
        self.categories: Counter = Counter()
        self.reasons: Counter = Counter()
        self.file_kinds: Counter = Counter()
        self.lines_total = self.lines_readable = self.bytes = 0

    def _open(self, name: str) -> gzip.GzipFile:
        path = self.directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return gzip.GzipFile(filename="", mode="wb", fileobj=path.open("wb"), mtime=0, compresslevel=3)

    def __enter__(self) -> TruthWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def add(self, result: FileResult) -> None:
        self.file_kinds[result.kind] += 1
        self.categories.update(result.categories)
        self.lines_total += result.lines
        self.lines_readable += 0 if result.kind == "truncated_gzip" else result.lines
        self.bytes += result.bytes
        for row in result.quarantine:
            self.reasons[row.rsplit("\t", 1)[1]] += 1
            self.quarantine.write(f"{result.key}\t{row}\n".encode())
        for table, records in result.keys_by_table.items():
            if table == "silver.tokens":
                for record in records:
                    day, address, block = record.split("\t")
                    if address not in self.token_latest or int(block) > self.token_latest[address][0]:
                        self.token_latest[address] = (int(block), day)
                continue
            for record in records:
                if table not in self.unique_by_construction:
                    if record in self.seen:
                        continue
                    self.seen.add(record)
                self.keys[table].write(f"{record}\n".encode())
                self.rows[table] += 1
                self.by_date[table][record.split("\t", 1)[0]] += 1

    def close(self) -> None:
        if self.token_latest and not self.keys["silver.tokens"].closed:
            for address, (block, day) in sorted(self.token_latest.items()):
                self.keys["silver.tokens"].write(f"{day}\t{address}\t{block}\n".encode())
                self.rows["silver.tokens"] += 1
                self.by_date["silver.tokens"][day] += 1
        for handle in (*self.keys.values(), self.quarantine):
            if not handle.closed:
                # the file _open opened (typeshed types fileobj as a protocol without close)
                raw = cast(BinaryIO, handle.fileobj)
                handle.close()
                raw.close()

    def files(self) -> dict[str, Path]:
        return {str(p.relative_to(self.directory)): p for p in sorted(self.directory.rglob("*.gz"))}

    def manifest(self, generator: dict) -> dict:
        """The day's manifest; `generator`: how the day was generated."""
        self.close()
        c = self.categories
        unparseable = sum(c[k] for k in ("non_json", "truncated_line", "invalid_utf8", "oversize_line"))
        return {
            "generator": generator,
            "files": {
                "total": sum(self.file_kinds.values()),
                "empty": self.file_kinds["empty"],
                "truncated_gzip": self.file_kinds["truncated_gzip"],
                "bytes": self.bytes,
            },
            "lines": {
                "total": self.lines_total,
                "readable": self.lines_readable,
                "by_category": dict(sorted(c.items())),
            },
            "expected": {
                "lines_read": self.lines_readable,
                "unparseable": unparseable,
                "valid": sum(c[k] for k in ("valid", "late", "exact_replay", "resend")),
                "duplicates_in_window": c["exact_replay"] + c["resend"],
                "quarantine_by_reason": dict(sorted(self.reasons.items())),
                "silver": {
                    table: {
                        "rows": self.rows[table],
                        "keys_file": f"keys/{table}.tsv.gz",
                        "by_business_date": dict(sorted(self.by_date[table].items())),
                    }
                    for table in self.tables
                },
            },
        }
