"""Where generated files go: a local directory or an object-store bucket.

Sinks are pickled into the generator's worker processes; the S3 client is created
lazily in each process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


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
    endpoint: str
    region: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    bucket: str
    prefix: str = ""  # key prefix inside the bucket, "" or ending in "/"
    _client: object = field(default=None, repr=False, compare=False)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_client"] = None
        return state

    @property
    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "s3",
                endpoint_url=self.endpoint,
                region_name=self.region,
                aws_access_key_id=self.access_key,
                aws_secret_access_key=self.secret_key,
                config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"}),
            )
        return self._client

    def write(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data)

    def write_file(self, key: str, path: Path) -> None:
        self.client.upload_file(str(path), self.bucket, self.prefix + key)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix} at {self.endpoint}"
