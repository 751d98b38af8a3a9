"""Shopify's toxiproxy, started on loopback by the fault tests, and its REST API.

A proxy sits between the jobs and a server (MinIO, Trino); toxics on it add latency,
cap bandwidth or reset connections, and disabling it is an outage as the jobs see one.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import requests

from tests.conftest import ROOT


def toxiproxy_binary() -> Path:
    """Where `make setup` put the server (scripts/common.sh is the one place that says)."""
    path = subprocess.run(
        ["bash", "-c", '. scripts/common.sh && echo "$TOXIPROXY_BIN"'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    binary = Path(path)
    assert binary.is_file(), f"toxiproxy is not installed at {binary}: run `make setup`"
    return binary


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Toxiproxy:
    def __init__(self, log_file: Path):
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}"
        self.log = log_file.open("w")
        self.process = subprocess.Popen(
            [str(toxiproxy_binary()), "-host", "127.0.0.1", "-port", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{self.api}/version", timeout=2).raise_for_status()
                return
            except requests.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"toxiproxy did not start; see {log_file}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()

    def proxy(self, name: str, upstream_port: int) -> int:
        """A proxy to 127.0.0.1:upstream_port; returns the port it listens on."""
        port = free_port()
        response = requests.post(
            f"{self.api}/proxies",
            timeout=5,
            json={
                "name": name,
                "listen": f"127.0.0.1:{port}",
                "upstream": f"127.0.0.1:{upstream_port}",
                "enabled": True,
            },
        )
        response.raise_for_status()
        return port

    def add_toxic(self, proxy: str, kind: str, stream: str = "downstream", **attributes) -> None:
        response = requests.post(
            f"{self.api}/proxies/{proxy}/toxics",
            timeout=5,
            json={
                "name": f"{kind}_{stream}",
                "type": kind,
                "stream": stream,
                "toxicity": 1.0,
                "attributes": attributes,
            },
        )
        response.raise_for_status()

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        """A disabled proxy refuses new connections and closes the open ones: an outage."""
        requests.post(f"{self.api}/proxies/{proxy}", timeout=5, json={"enabled": enabled}).raise_for_status()

    def reset(self) -> None:
        """Every proxy enabled, every toxic removed."""
        requests.post(f"{self.api}/reset", timeout=5).raise_for_status()
