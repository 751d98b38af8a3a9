"""One name per raw file: the listing, the reader, bronze (and its replaceWhere),
quarantine, ops.ingested_files and the input fingerprint all compare files by name, so
they must all spell a file the same way."""

from __future__ import annotations

import os


def raw_file_location(path: str) -> str:
    """s3a://bucket/key as it is; a local file or directory as file:///absolute/path,
    however it was written: /dir/f, file:///dir/f, or file:/dir/f (as Hadoop prints it)."""
    if path.startswith("s3a://"):
        return path
    local = path.removeprefix("file://") if path.startswith("file://") else path.removeprefix("file:")
    return "file://" + os.path.abspath(local)
