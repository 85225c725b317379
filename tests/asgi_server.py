"""uvicorn serving ``tests.asgi_app`` in a subprocess on a free port, and a
small HTTP client for it (cookies by hand, CSRF through the sessions API).
Every process started here is stopped by its owner (``stop()``)."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from tests.redis_servers import free_port, stop_process

ROOT = Path(__file__).resolve().parent.parent


def server_env(db_path: Path, engine: str, **extra: str) -> dict[str, str]:
    from django.conf import settings

    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.asgi_settings",
        SESSIONTOKENS_ASGI_DB=str(db_path),
        SESSIONTOKENS_ASGI_ENGINE=engine,
        SESSIONTOKENS_TEST_REDIS_URL=settings.REDIS_URL,
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    env.pop("DATABASE_URL", None)
    return env


def prepare_database(db_path: Path, usernames: list[str]) -> None:
    """Migrate the servers' SQLite file and create users (password "pw")."""
    script = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "from django.contrib.auth import get_user_model\n"
        "call_command('migrate', verbosity=0)\n"
        f"for name in {usernames!r}:\n"
        "    get_user_model().objects.create_user(name, password='pw')\n"
    )
    subprocess.run(
        [sys.executable, "-c", script],
        env=server_env(db_path, "db"),
        cwd=ROOT,
        check=True,
        timeout=120,
    )


class AsgiServer:
    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> AsgiServer:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "tests.asgi_app:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--ws",
                "websockets-sansio",
            ],
            env=self.env,
            cwd=ROOT,
        )
        return self

    def wait(self, timeout: float = 60.0) -> AsgiServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError("the ASGI server exited")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the ASGI server did not start")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
        self.process = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/whoami/"

    def request(self, method, path, *, cookies=None, data=None, headers=None):
        """``(status, body, cookies set)``."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = dict(headers or {})
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        body = None
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode()
            jar = SimpleCookie()
            for value in response.headers.get_all("Set-Cookie") or []:
                jar.load(value)
            return response.status, text, {k: m.value for k, m in jar.items()}
        finally:
            conn.close()


class Browser:
    """Cookies of one client of ``server`` (any server of the same site)."""

    #: Usernames are "<prefix>-<name>" (one set of users per engine).
    prefix = ""

    def __init__(self, server: AsgiServer) -> None:
        self.server = server
        self.username = ""
        self.cookies: dict[str, str] = {}

    def request(self, method, path, **kwargs):
        status, text, new = self.server.request(
            method, path, cookies=self.cookies, **kwargs
        )
        for name, value in new.items():
            if value:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return status, text

    def sign_in(self, name: str) -> Browser:
        self.username = f"{self.prefix}-{name}" if self.prefix else name
        query = urlencode({"username": self.username})
        status, _ = self.request("GET", "/sign-in/?" + query)
        assert status == 200
        return self

    def csrf_post(self, path, data=None, method="POST"):
        if "csrftoken" not in self.cookies:
            self.request("GET", "/sessions/api/")
        token = self.cookies["csrftoken"]
        return self.request(
            method, path, data=data or {}, headers={"X-CSRFToken": token}
        )

    @property
    def public_id(self) -> str:
        return self.cookies["sessionid"].split(".")[0]

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())
