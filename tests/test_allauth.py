"""django-allauth needs its apps installed from the start (its models,
middleware and URLs), so its suite, ``tests/allauth_cases.py``, runs in a
pytest of its own with ``tests.allauth_settings``; this test runs it and
shows its report when it fails."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("allauth")

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_allauth_suite():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.allauth_settings"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--ds",
            "tests.allauth_settings",
            "tests/allauth_cases.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=230,
    )
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    assert " passed" in result.stdout and "skipped" not in result.stdout, report
