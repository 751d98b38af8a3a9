"""The container images' Dockerfiles: hadolint-clean at warning level, non-root, and
pinned to the same versions as the rest of the repository. (The jobs image built with
buildah and run: tests/integration/test_image.py.)"""

from __future__ import annotations

import re
import subprocess
import tomllib

import pytest

from tests.conftest import ROOT

HADOLINT = ROOT / ".venv/bin/hadolint"
DOCKERFILES = [ROOT / "Dockerfile", *sorted((ROOT / "k8s/images").glob("*/Dockerfile"))]


def hadolint(path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(HADOLINT), "--no-color", "--failure-threshold", "warning", str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_dockerfile_is_hadolint_clean_at_warning_level(dockerfile):
    result = hadolint(dockerfile)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_careless_dockerfile(tmp_path):
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM debian:latest\nRUN apt-get update && apt-get install -y openjdk-17-jre-headless\n")
    result = hadolint(careless)
    assert result.returncode == 1
    assert "DL3007" in result.stdout and "DL3008" in result.stdout  # :latest; unpinned apt packages


def test_the_jobs_image_bakes_the_jars_in_and_runs_as_a_user():
    text = (ROOT / "Dockerfile").read_text()
    assert "jobs.spark_packages" in text  # Spark's own resolution, at build time
    final_stage = text.rsplit("\nFROM ", 1)[1]
    users = re.findall(r"^USER (\S+)", final_stage, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert (ROOT / "k8s/images/jobs/entrypoint.sh").stat().st_mode & 0o111


def test_the_airflow_image_installs_the_pins_of_the_airflow_project():
    project = tomllib.loads((ROOT / "airflow/pyproject.toml").read_text())["project"]["dependencies"]
    pins = {dep for dep in project if dep.startswith("apache-airflow")}
    assert pins and pins <= set(
        re.findall(r'"(apache-airflow[^"]*)"', (ROOT / "k8s/images/airflow/Dockerfile").read_text())
    )


def test_the_superset_image_adds_the_driver_versions_of_the_superset_lock():
    lock = tomllib.loads((ROOT / "superset/uv.lock").read_text())
    locked = {package["name"]: package["version"] for package in lock["package"]}
    installed = dict(re.findall(r'"([a-z0-9-]+)==([^"]+)"', (ROOT / "k8s/images/superset/Dockerfile").read_text()))
    assert installed and all(locked[name] == version for name, version in installed.items())


FAKE_BUILDAH = """#!/usr/bin/env bash
# A stand-in for buildah: each call is counted; the calls listed in FAILURES fail as told.
calls=$(( $(cat "$CALLS" 2>/dev/null || echo 0) + 1 )); echo "$calls" > "$CALLS"
case " $FAILURES " in
  *" $calls:seal "*) echo "Close_Fd sealing memfd copy: Device or resource busy" >&2; exit 1 ;;
  *" $calls:own "*) echo "the command failed" >&2; exit 7 ;;
esac
echo "ran: $*"
"""


def image_run(tmp_path, failures: str) -> tuple[subprocess.CompletedProcess, int]:
    """`scripts/image.sh run` with a fake buildah first on PATH; its result and the calls made."""
    fake = tmp_path / "bin/buildah"
    fake.parent.mkdir()
    fake.write_text(FAKE_BUILDAH)
    fake.chmod(0o755)
    calls = tmp_path / "calls"
    env = {"PATH": f"{fake.parent}:/usr/bin:/bin", "HOME": str(tmp_path), "CALLS": str(calls), "FAILURES": failures}
    result = subprocess.run(
        ["bash", "scripts/image.sh", "run", "box", "--", "true"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, int(calls.read_text())


def test_a_container_whose_buildah_could_not_seal_its_copy_is_run_again(tmp_path):
    result, calls = image_run(tmp_path, "1:seal 2:seal")
    assert result.returncode == 0, result.stderr
    assert calls == 3 and "ran: run box -- true" in result.stdout
    assert result.stderr.count("running again") == 2


def test_the_commands_own_failure_is_returned_once_and_never_retried(tmp_path):
    result, calls = image_run(tmp_path, "1:own")
    assert (result.returncode, calls) == (7, 1)
    assert "the command failed" in result.stderr


def test_the_seal_failure_is_retried_three_times_at_most(tmp_path):
    result, calls = image_run(tmp_path, "1:seal 2:seal 3:seal 4:seal")
    assert (result.returncode, calls) == (1, 3)
