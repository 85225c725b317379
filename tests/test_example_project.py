"""The example project works: it is run as a newcomer would, through its own
manage.py in a subprocess, on a temporary SQLite file."""

import importlib.util
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.example_server import example_env
from tests.conftest import _require

EXAMPLE = Path(__file__).resolve().parent.parent / "example_project"

#: Signs in through the pages and looks at each one (run by `manage.py shell`).
BROWSE = """
from django.test import Client

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
alice = Client(HTTP_HOST="localhost", HTTP_USER_AGENT=FIREFOX)
page = alice.get("/").content.decode()
assert "Sign in" in page and "/sessions/" in page, page
page = alice.get("/sessions/")
assert page.status_code == 302 and page["Location"] == "/login/?next=/sessions/"
page = alice.get("/login/").content.decode()
assert "demo-password-1" in page and 'name="remember"' in page, page
assert "Keep me signed in" in page, page
response = alice.post(
    "/login/", {"username": "alice", "password": "demo-password-1", "remember": "on"}
)
assert response.status_code == 302, response.content
# Device-bound sessions are on: signing in offers registration.
assert "challenge=" in response["Secure-Session-Registration"], response.headers
assert int(response.cookies["sessionid"]["max-age"]) > 29 * 86400
public_id = alice.cookies["sessionid"].value.split(".")[0]
page = alice.get("/").content.decode()
assert "Hello, Alice" in page and public_id in page, page
assert "Firefox 128 on Linux" in page and "Expires in" in page, page
# This client registers no key: it is served on its session cookie alone.
assert "This session is not bound to a device" in page, page
assert "This session is bound to this device" not in page, page
page = alice.get("/sessions/").content.decode()
assert "This device" in page and "/sessions/" in page, page
assert "Kept signed in" in page, page
listed = alice.get("/sessions/api/").json()["sessions"][0]
assert listed["id"] == public_id and listed["remembered"] is True
# The bundled demo location database covers runserver's loopback address
# (used when geoip2 is installed: not by the bare wheel of test_packaging).
import importlib.util

if importlib.util.find_spec("geoip2") is not None:
    assert "Berlin, Germany" in page, page
    assert alice.get("/sessions/api/").json()["sessions"][0]["location"] == {
        "city": "Berlin", "country": "Germany", "country_code": "DE"
    }
    print("located")
# Alice's first sign-in sent nothing; another browser is a new device, and
# the console email backend prints the alert.
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
chrome = Client(HTTP_HOST="localhost", HTTP_USER_AGENT=CHROME)
response = chrome.post("/login/", {"username": "alice", "password": "demo-password-1"})
assert response.status_code == 302, response.content

admin = Client(HTTP_HOST="localhost")
response = admin.post(
    "/admin/login/?next=/admin/",
    {"username": "admin", "password": "demo-password-1", "next": "/admin/"},
)
assert response.status_code == 302, response.content
page = admin.get("/admin/").content.decode()
assert 'href="/sessions/"' in page, page
print("browsed")
"""


def manage(*args, tmp_path, engine="db", check=True):
    env = example_env(tmp_path, engine)
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def users(tmp_path):
    with sqlite3.connect(tmp_path / "example.sqlite3") as db:
        rows = db.execute(
            "SELECT username, is_staff, is_superuser, password FROM auth_user"
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_check(tmp_path):
    result = manage("check", tmp_path=tmp_path)
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("engine", ["redis", "cached_db"])
def test_check_on_redis_engines(tmp_path, engine):
    if importlib.util.find_spec(f"django_sessiontokens.backends.{engine}") is None:
        _require(f"engine {engine} is not available")
    result = manage("check", tmp_path=tmp_path, engine=engine)
    assert "System check identified no issues" in result.stdout


def test_unknown_engine_name_is_refused(tmp_path):
    result = manage("check", tmp_path=tmp_path, engine="memcached", check=False)
    assert result.returncode != 0
    assert "SESSION_ENGINE_NAME='memcached': use db, redis or cached_db" in (
        result.stderr
    )


def test_migrate_and_demo_users_twice(tmp_path):
    manage("migrate", "--no-input", tmp_path=tmp_path)
    first = manage("createdemousers", tmp_path=tmp_path)
    assert "alice: created" in first.stdout
    created = users(tmp_path)
    assert {name: flags[:2] for name, flags in created.items()} == {
        "alice": (0, 0),
        "bob": (0, 0),
        "admin": (1, 1),
    }
    second = manage("createdemousers", tmp_path=tmp_path)
    assert "alice: already there" in second.stdout
    assert users(tmp_path) == created  # nothing changed, passwords included
    browse = manage("shell", "-c", BROWSE, tmp_path=tmp_path)
    assert browse.stdout.strip().endswith("browsed")
    assert "located" in browse.stdout.splitlines()
    (alert,) = browse.stdout.split("Subject: ")[1:]
    assert alert.startswith("New sign-in to your account")
    assert "Chrome 124 on Linux" in alert and "Berlin, Germany" in alert
    assert "http://localhost/sessions/" in alert


def test_the_scripts_install_only_when_pyproject_changes(tmp_path):
    """demo.sh and test.sh share scripts/venv.sh: it installs once, then not
    again until pyproject.toml changes, so running one never reinstalls the
    package under the other's server."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    log = tmp_path / "calls"
    fake = venv / "bin" / "python"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake.chmod(0o755)
    root = Path(__file__).resolve().parents[1]

    def source_venv_sh():
        subprocess.run(
            ["bash", "-c", ". scripts/venv.sh"],
            cwd=root,
            env={**os.environ, "VENV": str(venv)},
            check=True,
            timeout=60,
        )
        return log.read_text().splitlines()

    source_venv_sh()
    calls = source_venv_sh()
    assert len(calls) == 1 and "pip install" in calls[0]
    (venv / ".sessiontokens-installed").write_text("an older pyproject.toml\n")
    assert len(source_venv_sh()) == 2


@pytest.mark.parametrize("engine", ["redis", "cached_db"])
def test_redis_socket_timeouts_are_short(tmp_path, engine):
    """As the README advises: a Redis that does not answer costs a request
    at most about a second per call, not the length of the outage."""
    code = (
        "from django.conf import settings; "
        "o = settings.CACHES[settings.SESSIONTOKENS_REDIS_CACHE]['OPTIONS']; "
        "print(o['SOCKET_CONNECT_TIMEOUT'], o['SOCKET_TIMEOUT'])"
    )
    result = manage("shell", "-c", code, tmp_path=tmp_path, engine=engine)
    connect, read = (float(v) for v in result.stdout.split()[-2:])
    assert 0 < connect <= 1 and 0 < read <= 1
