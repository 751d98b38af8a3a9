"""The ground truth of a generated day, written as the files' results arrive:
keys/<table>.tsv.gz (the business keys a correct pipeline ends with),
quarantine.tsv.gz (file, line, defect, expected reason) and the manifest's counts."""

from __future__ import annotations

import gzip
from collections import Counter
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

if TYPE_CHECKING:
    from generator.generate import FileResult


class TruthWriter:
    """Streams the ground truth to gzip files as file results arrive: memory stays
    bounded by the sets that need deduplicating.

    `modes`: each table's keys are
    - "dedupe": written once each, however often they come;
    - "unique": never repeated (a random 256-bit hash in them; replays and re-sends add
      no keys), so written as they come;
    - "latest": a dimension's, whose records end with the value whose latest wins: the
      latest record of each key is written at the end."""

    def __init__(self, directory: Path, modes: dict[str, str]):
        self.directory = directory
        self.modes = modes
        self.tables = list(modes)
        self.keys = {table: self._open(f"keys/{table}.tsv.gz") for table in self.tables}
        self.quarantine = self._open("quarantine.tsv.gz")
        self.seen: set[str] = set()
        self.latest: dict[str, dict[str, tuple[str, str]]] = {t: {} for t, m in modes.items() if m == "latest"}
        self.rows: Counter = Counter()
        self.by_date: dict[str, Counter] = {table: Counter() for table in self.tables}
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
            if table in self.latest:
                latest = self.latest[table]
                for record in records:
                    day, key, value = record.split("\t")
                    if key not in latest or order(value) > order(latest[key][1]):
                        latest[key] = (day, value)
                continue
            for record in records:
                if self.modes[table] != "unique":
                    if record in self.seen:
                        continue
                    self.seen.add(record)
                self.write(table, record)

    def write(self, table: str, record: str) -> None:
        self.keys[table].write(f"{record}\n".encode())
        self.rows[table] += 1
        self.by_date[table][record.split("\t", 1)[0]] += 1

    def close(self) -> None:
        for table, latest in self.latest.items():
            if not self.keys[table].closed:
                for key, (day, value) in sorted(latest.items()):
                    self.write(table, f"{day}\t{key}\t{value}")
                latest.clear()
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


def order(value: str) -> tuple:
    """A latest_by value's order: numbers by value, anything else as text (timestamps
    are rendered so that text order is time order)."""
    try:
        return (0, Decimal(value), "")
    except InvalidOperation:
        return (1, Decimal(0), value)
