"""The run lock under slowness, on a local warehouse (the object-store backend obeys the
same protocol; tests/integration/test_curation.py takes it on MinIO): a lease renewed
while the holder works, a second run refused, a dead holder's lock taken over when it
is safe to, and a holder that lost its lock never writes over its successor's."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest

from jobs.curation.lock import LockInfo, LockTimeout, PipelineLock
from jobs.settings import Settings


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings().with_overrides(warehouse=f"file://{tmp_path / 'lake'}")


def test_a_run_slower_than_its_lease_keeps_its_lock_and_a_second_run_is_refused(settings):
    with PipelineLock(settings, "slow-run", wait_seconds=0, lease_seconds=1):
        time.sleep(3.5)  # three leases long: only renewal keeps it
        with pytest.raises(LockTimeout, match=r"another run \(slow-run"):
            PipelineLock(settings, "second-run", wait_seconds=1, lease_seconds=1).acquire()
    with PipelineLock(settings, "third-run", wait_seconds=0, lease_seconds=1) as after:
        assert not after.lost


def test_a_lock_whose_holder_cannot_be_checked_is_taken_over_only_after_its_lease(settings):
    left = PipelineLock(settings, "left-behind")
    expires_at = time.time() + 3
    # A holder on another host (a killed pod): its process cannot be asked, only its lease.
    left.backend.create(LockInfo("left-behind", "another-host", 4242, expires_at).to_bytes())
    with pytest.raises(LockTimeout):
        PipelineLock(settings, "too-early", wait_seconds=1).acquire()
    started = time.time()
    with PipelineLock(settings, "after-the-lease", wait_seconds=10):
        assert time.time() >= expires_at and time.time() - started < 6


def test_a_lock_of_a_killed_process_on_this_host_is_taken_over_at_once(settings):
    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid names no process now
    PipelineLock(settings, "killed").backend.create(
        LockInfo("killed", socket.gethostname(), dead.pid, time.time() + 600).to_bytes()
    )
    started = time.monotonic()
    with PipelineLock(settings, "next", wait_seconds=5):
        assert time.monotonic() - started < 2


def test_a_holder_that_lost_its_lock_stops_renewing_and_says_so(settings):
    holder = PipelineLock(settings, "stalled", wait_seconds=0, lease_seconds=0.6)
    holder.acquire()
    successor = LockInfo("successor", socket.gethostname(), 1, time.time() + 600).to_bytes()
    holder.backend.overwrite(successor)  # what a run that broke the expired lock leaves
    time.sleep(1)
    assert holder.lost
    assert holder.backend.read() == successor  # never written over
    holder.release()
    assert holder.backend.read() == successor  # nor deleted
