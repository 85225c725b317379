"""scripts/get-chromium-150.sh and the browser test's use of it: exit
status 3 (the Debian archive no longer serves that version) is the only
reason the real-browser DBSC test may skip, under CI too; every other
failure fails. apt-get, apt-cache and dpkg-deb are stand-ins on PATH here."""

import os
import subprocess
from pathlib import Path

import pytest

from tests.browser import dbsc

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "get-chromium-150.sh"
VERSION = "150.0.7871.100-1~deb12u1"

APT_GET = """#!/bin/sh
echo "apt-get $*" >> "$CALLS"
case "$1" in
  update) [ "$UPDATE" = ok ] || { echo "E: network down" >&2; exit 100; } ;;
  download)
    if [ "$SERVED" = yes ] && [ "$DOWNLOAD" = ok ]; then
      touch "chromium_150.0.7871.100-1~deb12u1_amd64.deb" \
            "chromium-common_150.0.7871.100-1~deb12u1_amd64.deb"
    else
      echo "E: Version '150.0.7871.100-1~deb12u1' for 'chromium' was not found" >&2
      exit 100
    fi ;;
esac
"""
APT_CACHE = """#!/bin/sh
echo "apt-cache $*" >> "$CALLS"
[ "$SERVED" = yes ] && echo " chromium | 150.0.7871.100-1~deb12u1 | bookworm/main"
exit 0
"""
DPKG_DEB = """#!/bin/sh
echo "dpkg-deb $*" >> "$CALLS"
mkdir -p "$3/usr/lib/chromium"
printf '#!/bin/sh\\necho "Chromium 150.0.7871.100"\\n' > "$3/usr/lib/chromium/chromium"
chmod +x "$3/usr/lib/chromium/chromium"
"""


@pytest.fixture
def fake_apt(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in [
        ("apt-get", APT_GET),
        ("apt-cache", APT_CACHE),
        ("dpkg-deb", DPKG_DEB),
    ]:
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    calls = tmp_path / "calls"

    def run(dest, **env):
        calls.write_text("")
        settings = {"SERVED": "yes", "DOWNLOAD": "ok", "UPDATE": "ok", **env}
        result = subprocess.run(
            ["bash", str(SCRIPT), str(dest)],
            env={
                **os.environ,
                **settings,
                "CALLS": str(calls),
                "PATH": f"{bin_dir}:{os.environ['PATH']}",
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        return result, calls.read_text().splitlines()

    return run


def test_unpacks_once_then_prints_the_path(fake_apt, tmp_path):
    dest = tmp_path / "chromium"
    result, calls = fake_apt(dest)
    binary = dest / "root" / "usr" / "lib" / "chromium" / "chromium"
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(binary)]
    assert f"apt-get download chromium={VERSION} chromium-common={VERSION}" in calls
    assert sorted(p.name for p in dest.iterdir()) == ["download.err", "root"]

    again, calls = fake_apt(dest, SERVED="no")
    assert again.returncode == 0 and again.stdout.splitlines() == [str(binary)]
    assert calls == []  # found at once, nothing fetched


def test_a_relative_destination_is_resolved(fake_apt, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result, _ = fake_apt(Path("relative"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(
        tmp_path / "relative" / "root" / "usr" / "lib" / "chromium" / "chromium"
    )


def test_exit_3_only_when_the_archive_no_longer_serves_it(fake_apt, tmp_path):
    result, calls = fake_apt(tmp_path / "gone", SERVED="no")
    assert result.returncode == 3
    assert f"chromium {VERSION} is not served by the Debian archive any more" in (
        result.stderr
    )
    assert "apt-get update -qq" in calls  # the lists were refreshed first


@pytest.mark.parametrize(
    "env",
    [
        {"UPDATE": "failed", "SERVED": "no"},  # no network: unknown, not "gone"
        {"DOWNLOAD": "failed"},  # served, but the download broke
    ],
)
def test_other_failures_are_exit_1(fake_apt, tmp_path, env):
    result, _ = fake_apt(tmp_path / "broken", **env)
    assert result.returncode == 1, result.stderr
    assert "could not be fetched" in result.stderr


def fake_script(tmp_path, status, message):
    script = tmp_path / "fake.sh"
    script.write_text(f'#!/bin/sh\necho "{message}" >&2\nexit {status}\n')
    return script


def test_the_browser_test_skips_on_exit_3_even_under_ci(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(dbsc, "SCRIPT", fake_script(tmp_path, 3, "not served"))
    with pytest.raises(pytest.skip.Exception, match="not served"):
        dbsc.chromium_150()


def test_any_other_failure_fails_under_ci(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(dbsc, "SCRIPT", fake_script(tmp_path, 1, "no network"))
    with pytest.raises(pytest.fail.Exception, match="no network"):
        dbsc.chromium_150()
