"""Throwaway ``redis-server`` processes on free ports, for tests that stop
Redis or need a Cluster. Every process started here is stopped by its owner
(``stop()``), never by name."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port(*, cluster: bool = False) -> int:
    """A free port; for a Cluster node also its bus port (port + 10000)."""
    if not cluster:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    for _ in range(200):
        port = random.randint(20000, 50000)
        if _is_free(port) and _is_free(port + 10000):
            return port
    raise AssertionError("no free port pair for a cluster node")


def require_binaries(*names: str) -> None:
    from tests.conftest import _require

    for name in names:
        if shutil.which(name) is None:
            _require(f"{name} is not installed")


def wait_until(check, *, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except redis.exceptions.RedisError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def stop_process(process: subprocess.Popen, *, timeout: float = 10) -> None:
    """Terminate a server the tests started; kill it if it does not go."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


class RedisServer:
    """One ``redis-server`` on a port of its own: without persistence, or
    with ``persist=True`` an append-only file in ``workdir`` written on every
    command, so a restart finds the data of the moment it stopped."""

    def __init__(
        self,
        port: int | None = None,
        *,
        workdir: Path,
        cluster=False,
        persist: bool = False,
    ):
        self.port = port or free_port(cluster=cluster)
        self.workdir = workdir
        self.cluster = cluster
        self.persist = persist
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes" if self.persist else "no",
            "--appendfsync",
            "always",
            "--daemonize",
            "no",
            "--dir",
            str(self.workdir),
        ]
        if self.cluster:
            args += [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                str(self.workdir / f"nodes-{self.port}.conf"),
            ]
        self.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        process = self.process

        def answers():
            if process.poll() is not None:
                raise AssertionError(f"redis-server on port {self.port} exited")
            return client.ping()

        try:
            wait_until(answers, what=f"redis-server on port {self.port}")
        finally:
            client.close()
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
        self.process = None


class LocalCluster:
    """Three masters, no replicas, on free ports."""

    def __init__(self, workdir: Path):
        self.nodes = [RedisServer(workdir=workdir, cluster=True) for _ in range(3)]

    def start(self) -> LocalCluster:
        try:
            for node in self.nodes:
                node.start()
            subprocess.run(
                [
                    "redis-cli",
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{node.port}" for node in self.nodes),
                    "--cluster-replicas",
                    "0",
                    "--cluster-yes",
                ],
                check=True,
                capture_output=True,
                timeout=60,
            )
            for node in self.nodes:
                client = redis.Redis(port=node.port)
                try:
                    wait_until(
                        lambda c=client: _cluster_ok(c),
                        timeout=30,
                        what="cluster_state:ok",
                    )
                finally:
                    client.close()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def port(self) -> int:
        return self.nodes[0].port

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _cluster_ok(client) -> bool:
    info = client.execute_command("CLUSTER INFO")
    if isinstance(info, dict):
        return info.get("cluster_state") == "ok"
    if isinstance(info, bytes):
        info = info.decode()
    return "cluster_state:ok" in str(info)


def serve_sessions_from(settings, server: RedisServer, engine: str, *, timeout: float):
    """Point the session engine ``engine`` at ``server`` with short timeouts."""
    settings.CACHES = {
        **settings.CACHES,
        "redis": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": server.url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": timeout, "SOCKET_TIMEOUT": timeout},
        },
    }
    settings.SESSION_ENGINE = f"django_sessiontokens.backends.{engine}"
