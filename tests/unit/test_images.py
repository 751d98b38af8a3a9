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
