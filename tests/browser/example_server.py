"""The example project served by ``manage.py runserver`` in a subprocess on
``http://localhost:<free port>``, on a SQLite file of its own, with its demo
users (password ``demo-password-1``). Every process started here is stopped
by its owner (``stop()``)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.redis_servers import free_port, stop_process

EXAMPLE = Path(__file__).resolve().parents[2] / "example_project"
PASSWORD = "demo-password-1"


def example_env(tmp_path: Path, engine: str, **extra: str) -> dict[str, str]:
    """The environment of the example project's ``manage.py``: its own
    settings (not the suite's), ``engine`` and the suite's Redis database."""
    from django.conf import settings

    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "PYTHONPATH"}
    }
    env.update(
        EXAMPLE_DATABASE=str(tmp_path / "example.sqlite3"),
        SESSION_ENGINE_NAME=engine,
        REDIS_URL=settings.REDIS_URL,
        PYTHONWARNINGS="error::DeprecationWarning",
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def prepare_database(tmp_path: Path) -> Path:
    """A migrated SQLite file with the demo users, for servers to copy."""
    env = example_env(tmp_path, "db")
    manage(env, "migrate", "--no-input", "--verbosity", "0")
    manage(env, "createdemousers")
    return Path(env["EXAMPLE_DATABASE"])


class ExampleServer:
    """``ExampleServer(tmp_path, engine, database, **env)``: serves a copy
    of ``database`` (from :func:`prepare_database`) with ``env`` added."""

    def __init__(self, tmp_path: Path, engine: str, database: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.log = tmp_path / "runserver.log"
        self.env = example_env(
            tmp_path, engine, DBSC_ORIGIN=self.url, DJANGO_DEBUG="1", **env
        )
        shutil.copyfile(database, self.env["EXAMPLE_DATABASE"])
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> ExampleServer:
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "runserver",
                    "--noreload",
                    f"localhost:{self.port}",
                ],
                cwd=EXAMPLE,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"runserver exited:\n{self.output()}")
            try:
                with socket.create_connection(("localhost", self.port), 0.2):
                    return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"runserver did not start:\n{self.output()}")

    def output(self) -> str:
        """What runserver printed (its request log included)."""
        return self.log.read_text() if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
        self.process = None
