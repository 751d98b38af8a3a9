"""Where generated files go: a local directory or an object-store bucket.

Sinks are pickled into the generator's worker processes; the S3 client is created
lazily in each process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from jobs.object_store import s3_client
from jobs.settings import Settings


class Sink(Protocol):
    def write(self, key: str, data: bytes) -> None: ...

    def write_file(self, key: str, path: Path) -> None: ...

    def describe(self) -> str: ...


@dataclass
class LocalDirectory:
    root: Path

    def write(self, key: str, data: bytes) -> None:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)  # a reader never sees half a file

    def write_file(self, key: str, path: Path) -> None:
        self.write(key, path.read_bytes())

    def describe(self) -> str:
        return str(self.root)


@dataclass
class ObjectStoreBucket:
    """Keys under `prefix` in `bucket`, written with the identity of `settings`."""

    settings: Settings = field(repr=False)
    bucket: str
    prefix: str = ""  # key prefix inside the bucket, "" or ending in "/"
    _client: object = field(default=None, repr=False, compare=False)

    @classmethod
    def as_loader(cls, settings: Settings, bucket: str, prefix: str = "") -> ObjectStoreBucket:
        """The bucket as the upstream loader writes it: with its own identity (the jobs
        may only read raw events)."""
        loader = settings.with_overrides(
            s3_access_key=settings.loader_s3_access_key, s3_secret_key=settings.loader_s3_secret_key
        )
        return cls(loader, bucket, prefix)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_client"] = None
        return state

    @property
    def client(self):
        if self._client is None:
            self._client = s3_client(self.settings)
        return self._client

    def write(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data)

    def write_file(self, key: str, path: Path) -> None:
        self.client.upload_file(str(path), self.bucket, self.prefix + key)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix} at {self.settings.s3_endpoint}"
