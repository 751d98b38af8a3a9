"""Fault injection for the crash tests: SIGKILL the driver after a stage, or during one."""

from __future__ import annotations

import logging
import os
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger("curate")


@dataclass
class FaultInjection:
    """For crash tests only: SIGKILL this driver after a stage, or during a table's write."""

    kill_after: str | None = None
    kill_during: str | None = None
    delay_seconds: float = 1.0

    def after(self, stage: str) -> None:
        if stage == self.kill_after:
            log.warning("fault injection: killing the driver after stage %s", stage)
            os.kill(os.getpid(), signal.SIGKILL)

    @contextmanager
    def during(self, stage: str):
        timer = None
        if stage == self.kill_during:
            log.warning("fault injection: killing the driver %.1f s into stage %s", self.delay_seconds, stage)
            timer = threading.Timer(self.delay_seconds, os.kill, (os.getpid(), signal.SIGKILL))
            timer.start()
        try:
            yield
        finally:
            if timer:
                timer.cancel()
