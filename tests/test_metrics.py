"""Metrics through prometheus-client and OpenTelemetry (the SDK's in-memory
reader), on every engine; no-ops when neither is installed; prometheus
multiprocess mode."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client

from django_sessiontokens import metrics, services
from django_sessiontokens.exceptions import StoreUnavailable
from tests.conftest import public_id, sign_in

prometheus_client = pytest.importorskip("prometheus_client")
pytest.importorskip("opentelemetry.sdk")

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db


def prom(name, **labels):
    value = prometheus_client.REGISTRY.get_sample_value(name, labels)
    return value or 0.0


@pytest.fixture(scope="session")
def otel_reader():
    from opentelemetry import metrics as otel_metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    otel_metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return reader


def otel(reader, name, **attributes):
    data = reader.get_metrics_data()
    total = 0
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name != name:
                    continue
                for point in metric.data.data_points:
                    if all(point.attributes.get(k) == v for k, v in attributes.items()):
                        total += getattr(point, "value", None) or point.count
    return total


def test_both_backends_are_detected():
    assert metrics.ENABLED == ("prometheus", "opentelemetry")


def test_lifecycle_events_are_counted(engine, user, otel_reader, settings):
    created = prom("sessiontokens_sessions_created_total", reason="login")
    ended = prom("sessiontokens_sessions_ended_total", reason="logout", actor="user")
    revoked = prom("sessiontokens_sessions_ended_total", reason="revoked", actor="user")
    o_ended = otel(otel_reader, "sessiontokens.sessions.ended", reason="logout")
    gets = prom("sessiontokens_store_seconds_count", op="get")

    client = sign_in(user)
    assert client.get("/whoami/").status_code == 200
    other = sign_in(user)
    assert other.delete(f"/sessions/api/{public_id(client)}/").status_code == 200
    other.post("/logout/")

    assert prom("sessiontokens_sessions_created_total", reason="login") >= created + 2
    assert (
        prom("sessiontokens_sessions_ended_total", reason="logout", actor="user")
        == ended + 1
    )
    assert (
        prom("sessiontokens_sessions_ended_total", reason="revoked", actor="user")
        == revoked + 1
    )
    assert otel(otel_reader, "sessiontokens.sessions.ended", reason="logout") == (
        o_ended + 1
    )
    # Every request that loaded a session timed its store read.
    assert prom("sessiontokens_store_seconds_count", op="get") >= gets + 3


def test_rotation_reuse_and_store_errors(engine, user, clock, settings):
    settings.SESSIONTOKENS_ROTATE_INTERVAL = 60
    settings.SESSIONTOKENS_ROTATION_GRACE = 5
    rotated = prom("sessiontokens_sessions_rotated_total", reason="periodic")
    reused = prom("sessiontokens_token_reuse_total")
    client = sign_in(user)
    old = client.cookies["sessionid"].value
    clock.shift(timedelta(seconds=61))
    client.get("/whoami/")
    assert prom("sessiontokens_sessions_rotated_total", reason="periodic") == (
        rotated + 1
    )
    clock.shift(timedelta(seconds=10))
    thief = Client()
    thief.cookies["sessionid"] = old
    thief.get("/whoami/")
    assert prom("sessiontokens_token_reuse_total") == reused + 1

    errors = prom("sessiontokens_store_errors_total", alias="redis")
    StoreUnavailable("down", alias="redis").log()
    assert prom("sessiontokens_store_errors_total", alias="redis") == errors + 1


def test_purge_and_guessing(engine, user, clock, settings):
    settings.SESSIONTOKENS_INVALID_TOKEN_LIMIT = 2
    from django.core.cache import cache

    cache.clear()
    runs = prom("sessiontokens_purge_runs_total")
    purged = prom("sessiontokens_purged_sessions_total")
    sign_in(user)
    clock.shift(timedelta(days=30))
    assert sum(services.purge_expired()) == 1
    assert prom("sessiontokens_purge_runs_total") == runs + 1
    assert prom("sessiontokens_purged_sessions_total") == purged + 1

    detected = prom("sessiontokens_guessing_detected_total")
    for n in range(4):
        probe = Client(REMOTE_ADDR="192.0.2.99")
        probe.cookies["sessionid"] = f"{'x' * 20}{n:04d}.{'y' * 43}"
        probe.get("/whoami/")
    assert prom("sessiontokens_guessing_detected_total") == detected + 1
    cache.clear()


def _python(code, **env):
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


def test_nothing_is_recorded_without_a_backend():
    code = (
        "import sys\n"
        "sys.modules['prometheus_client'] = None\n"
        "sys.modules['opentelemetry'] = None\n"
        "from django_sessiontokens import metrics\n"
        "assert metrics.recorder is None and metrics.ENABLED == ()\n"
        "assert metrics.created is metrics._noop\n"
        "assert metrics.timed('get', len, 'abc') == 3\n"
        "print('ok')\n"
    )
    assert _python(code).strip() == "ok"


def test_prometheus_multiprocess_mode(tmp_path):
    code = (
        "from django_sessiontokens import metrics\n"
        "metrics.ended('revoked', 'admin', 3)\n"
        "metrics.websocket_opened()\n"
    )
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    _python(code, **env)
    _python(code, **env)
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    labels = {"reason": "revoked", "actor": "admin"}
    assert registry.get_sample_value("sessiontokens_sessions_ended_total", labels) == 6
