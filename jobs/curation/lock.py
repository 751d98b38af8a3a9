"""One run at a time on the same tables: a lease lock next to the lake.

On the object store the lock is an object created with a conditional write
(If-None-Match: *), so two runs cannot both take it; on a local warehouse it is a
file created with O_EXCL. The holder renews its lease in a background thread. A lock
whose lease ran out, or whose holder on this host is dead, is stale and is broken.
A second run waits up to `wait_seconds`, then fails with a message naming the holder.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError

from jobs.errors import LakehouseError
from jobs.object_store import s3_client
from jobs.settings import Settings

log = logging.getLogger("lock")


class LockTimeout(LakehouseError):
    pass


@dataclass
class LockInfo:
    run_id: str
    host: str
    pid: int
    expires_at: float

    def to_bytes(self) -> bytes:
        return json.dumps(self.__dict__).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> LockInfo | None:
        try:
            return cls(**json.loads(data))
        except (ValueError, TypeError):
            return None

    def is_stale(self, now: float) -> bool:
        if now > self.expires_at:
            return True
        if self.host == socket.gethostname():
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return True  # its holder died on this machine (e.g. killed)
            except PermissionError:
                return False
        return False


class _ObjectStoreBackend:
    def __init__(self, settings: Settings, key: str):
        self.client, self.bucket, self.key = s3_client(settings), settings.lake_bucket, key

    def create(self, data: bytes) -> bool:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.key, Body=data, IfNoneMatch="*")
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            raise

    def read(self) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.key)["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise

    def overwrite(self, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.key, Body=data)

    def delete(self) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key)


class _FileBackend:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def create(self, data: bytes) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return True

    def read(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None

    def overwrite(self, data: bytes) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(self.path)

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)


class PipelineLock:
    def __init__(
        self,
        settings: Settings,
        run_id: str,
        name: str = "pipeline",
        wait_seconds: float = 60,
        lease_seconds: float = 30,
    ):
        self.backend: _ObjectStoreBackend | _FileBackend
        if settings.uses_object_store:
            key = f"{settings.lake_key_prefix}_locks/{name}.lock"  # one lock per warehouse
            self.backend = _ObjectStoreBackend(settings, key)
            self.where = f"s3://{settings.lake_bucket}/{key}"
        else:
            path = Path(settings.warehouse.removeprefix("file://")) / "_locks" / f"{name}.lock"
            self.backend = _FileBackend(path)
            self.where = str(path)
        self.run_id, self.wait_seconds, self.lease_seconds = run_id, wait_seconds, lease_seconds
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self.lost = False  # the lease ran out and another run took the lock

    def _info(self) -> LockInfo:
        return LockInfo(self.run_id, socket.gethostname(), os.getpid(), time.time() + self.lease_seconds)

    def acquire(self) -> None:
        deadline = time.monotonic() + self.wait_seconds
        announced = False
        while True:
            if self.backend.create(self._info().to_bytes()):
                break
            holder = LockInfo.from_bytes(self.backend.read() or b"")
            if holder is None or holder.is_stale(time.time()):
                log.warning("breaking a stale lock %s (held by %s)", self.where, holder)
                self.backend.delete()
                continue
            if time.monotonic() >= deadline:
                raise LockTimeout(
                    f"another run ({holder.run_id}, pid {holder.pid} on {holder.host}) holds the lock "
                    f"{self.where}; waited {self.wait_seconds:.0f} s. Runs on the same tables never "
                    "interleave: try again when it has finished."
                )
            if not announced:
                log.info("waiting for run %s to release %s", holder.run_id, self.where)
                announced = True
            time.sleep(1)
        self._renewer = threading.Thread(target=self._renew, daemon=True, name="lock-renewer")
        self._renewer.start()

    def _renew(self) -> None:
        # Renew only a lock that is still ours: after a pause longer than the lease (a
        # stalled host), another run may have broken it, and writing over that run's
        # lock would give the tables two writers. (Read-then-write, not atomic: it
        # narrows that window to the moment between the two calls.)
        while not self._stop.wait(self.lease_seconds / 3):
            try:
                holder = LockInfo.from_bytes(self.backend.read() or b"")
                if holder is None or holder.run_id != self.run_id:
                    self.lost = True
                    log.error(
                        "run %s lost the lock %s to %s: its lease ran out",
                        self.run_id,
                        self.where,
                        holder.run_id if holder else "nobody",
                    )
                    return
                self.backend.overwrite(self._info().to_bytes())
            except Exception as exc:  # the store unreachable for a moment: try again next time
                log.warning("could not renew the lock %s: %s", self.where, exc.__class__.__name__)

    def release(self) -> None:
        self._stop.set()
        if self._renewer:
            self._renewer.join()
        try:
            holder = LockInfo.from_bytes(self.backend.read() or b"")
            if holder is not None and holder.run_id == self.run_id:
                self.backend.delete()
        except Exception as exc:  # e.g. the store went away with the run: the lease runs out
            log.warning(
                "could not release the lock %s (%s): it is free when its lease runs out",
                self.where,
                exc.__class__.__name__,
            )

    def __enter__(self) -> PipelineLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
