"""Throwaway servers for the load tests, each on a free port of 127.0.0.1 and
each stopped by its owner through the process it started (never by name):

* ``AppServer``: the site under gunicorn (sync or gthread workers) or uvicorn;
* ``RedisServer``: a ``redis-server`` with an append-only file, so stopping and
  starting it keeps the sessions (as a production Redis with persistence);
  ``freeze()``/``thaw()`` send SIGSTOP/SIGCONT;
* ``PostgresServer``: a cluster made with ``initdb`` in a temporary directory
  (owned by the ``postgres`` OS user when the tests run as root), started and
  restarted with ``pg_ctl``; never the shared server on 5432.
"""

from __future__ import annotations

import glob
import http.client
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.redis_servers import free_port

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = "tests.load.site.settings"


def wait_for(check, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # not up yet
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _stop(process: subprocess.Popen, *, timeout: float = 15) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGCONT)  # in case it was frozen
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        # The group is this process and the workers it forked, nothing else.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


# The site ----------------------------------------------------------------
def site_environment(**values: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LOAD_", "DJANGO_")) and key != "DATABASE_URL"
    }
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS,
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        **values,
    )
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=180,
    )


def prepare_database(env: dict[str, str], users: int) -> None:
    """Migrate and create the users ``load-0`` ... ``load-<users - 1>``;
    a SQLite file is switched to WAL (readers never wait for the writer)."""
    manage(env, "migrate", "--noinput", "-v", "0")
    if "LOAD_SQLITE" in env:
        with sqlite3.connect(env["LOAD_SQLITE"]) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
        connection.close()
    code = (
        "import django; django.setup()\n"
        "from django.contrib.auth import get_user_model\n"
        "User = get_user_model()\n"
        f"names = [f'load-{{i}}' for i in range({users})]\n"
        "have = set(User.objects.filter(username__in=names)"
        ".values_list('username', flat=True))\n"
        "User.objects.bulk_create([User(username=n, password='!') "
        "for n in names if n not in have])\n"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


SERVERS = {
    "gunicorn-sync": ["-m", "gunicorn", "-k", "sync", "-w", "4"],
    "gunicorn-gthread": ["-m", "gunicorn", "-k", "gthread", "-w", "2", "--threads=8"],
    "uvicorn": ["-m", "uvicorn", "--workers", "2", "--no-access-log"],
}  # fmt: skip


class AppServer:
    """The site served by ``kind`` (a key of ``SERVERS``); its stderr (the
    server's and Django's logs) goes to ``log``."""

    def __init__(self, kind: str, env: dict[str, str], log: Path) -> None:
        self.kind = kind
        self.env = env
        self.log = log
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> AppServer:
        args = [sys.executable, *SERVERS[self.kind]]
        if self.kind == "uvicorn":
            args += ["--host", "127.0.0.1", "--port", str(self.port)]
            args += ["--log-level", "warning", "tests.load.site.asgi:application"]
        else:
            args += ["-b", f"127.0.0.1:{self.port}", "--timeout", "30"]
            args += ["--graceful-timeout", "5", "--log-level", "warning"]
            args += ["tests.load.site.wsgi:application"]
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                args,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        process = self.process

        def answers() -> bool:
            if process.poll() is not None:
                raise AssertionError(
                    f"{self.kind} exited:\n{self.log.read_text()[-3000:]}"
                )
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                connection.request("GET", "/health/")
                return connection.getresponse().status == 200
            finally:
                connection.close()

        try:
            wait_for(answers, timeout=60, what=f"{self.kind} on port {self.port}")
        except AssertionError:
            if process.poll() is not None:
                raise AssertionError(
                    f"{self.kind} exited:\n{self.log.read_text()[-3000:]}"
                ) from None
            raise
        return self

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None


# Redis -------------------------------------------------------------------
class RedisServer:
    """``redis-server`` with an append-only file in ``workdir``: a stop
    (SIGTERM, Redis flushes the file) and a start on the same port keep
    every key."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        import redis

        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "yes",
                "--appendfsync", "everysec",
                "--daemonize", "no",
                "--dir", str(self.workdir),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_timeout=0.5)
        process = self.process

        def answers() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"redis-server on port {self.port} exited")
            return bool(client.ping())

        try:
            wait_for(answers, timeout=20, what=f"redis-server on {self.port}")
        finally:
            client.close()
        return self

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


# PostgreSQL --------------------------------------------------------------
def postgres_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class PostgresServer:
    """A throwaway cluster: ``initdb`` in a temporary directory, trust
    authentication on 127.0.0.1, a free port, fsync off."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="sessiontokens-load-pg-"))
        self.data = self.root / "data"
        self.logfile = self.root / "postgres.log"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self.started = False

    def _run(self, *args: str, timeout: float = 60) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        subprocess.run(
            [*prefix, *args],
            check=True,
            capture_output=True,
            timeout=timeout,
            cwd=self.root,
        )

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def init(self) -> PostgresServer:
        self._run(
            postgres_bin("initdb") or "initdb",
            "-D", str(self.data),
            "-U", "postgres",
            "-A", "trust",
            "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip
        return self.start()

    def start(self) -> PostgresServer:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-k {self.root} -c fsync=off -c max_connections=200"
        )
        self._run(
            postgres_bin("pg_ctl") or "pg_ctl",
            "-D", str(self.data),
            "-l", str(self.logfile),
            "-o", options,
            "-w",
            "start",
        )  # fmt: skip
        self.started = True
        return self

    def stop(self, mode: str = "fast") -> None:
        if self.started:
            self._run(
                postgres_bin("pg_ctl") or "pg_ctl",
                "-D", str(self.data),
                "-m", mode,
                "-w",
                "stop",
            )  # fmt: skip
            self.started = False

    def sql(self, statement: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as connection:
            connection.execute(statement)

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
