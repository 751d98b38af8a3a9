"""No secret in the repository: Yelp's detect-secrets over every tracked file. Credentials
are generated into .local/ (git-ignored); a deliberate fake in a test carries detect-secrets'
`pragma: allowlist secret` comment, so each exception is visible where it is."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import ROOT

DETECT_SECRETS = ROOT / ".venv/bin/detect-secrets"


def tracked_files(root: Path) -> list[str]:
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True)
    return [name for name in listing.stdout.decode().split("\0") if name and (root / name).is_file()]


def findings(root: Path, files: list[str]) -> dict[str, list[str]]:
    """{file: [secret types]} as detect-secrets reports them."""
    result = subprocess.run(
        [str(DETECT_SECRETS), "scan", *files], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return {name: sorted({hit["type"] for hit in hits}) for name, hits in json.loads(result.stdout)["results"].items()}


def test_no_tracked_file_holds_a_secret():
    assert findings(ROOT, tracked_files(ROOT)) == {}


def test_a_key_planted_in_a_copy_of_the_repository_is_caught(tmp_path):
    files = tracked_files(ROOT)
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tmp_path / name)
    planted = tmp_path / "jobs" / "settings.py"
    # A made-up key in the shape of an AWS key pair, as a careless commit would add it.
    planted.write_text(
        planted.read_text() + '\nAWS_ACCESS_KEY_ID = "AKIA' + "QX7N4RW2LKJ5TB3M" + '"\n'
        'aws_secret_access_key = "' + "b7Q2xWm9" * 5 + '"\n'
    )
    caught = findings(tmp_path, files)
    assert list(caught) == ["jobs/settings.py"]
    assert "AWS Access Key" in caught["jobs/settings.py"]
