"""Metrics: counters, a gauge and a latency histogram a site can scrape or
export.

Backends are detected once, at import: ``prometheus-client`` (instruments
in its default registry, ``prometheus_client.REGISTRY``, so they are
exported by ``prometheus_client``'s own handlers and by django-prometheus,
and work in its multiprocess mode: set ``PROMETHEUS_MULTIPROC_DIR`` before
the process starts, as prometheus-client requires) and the OpenTelemetry
metrics API (``opentelemetry-api``: instruments of the meter
``django_sessiontokens``, recorded by whatever ``MeterProvider`` the site
sets up with the SDK, before or after this import). With neither, every
function here is a no-op.

========================================  =================================
Prometheus name (OpenTelemetry name)      labels / attributes
========================================  =================================
sessiontokens_sessions_created_total      reason ("" or "login", ...)
sessiontokens_sessions_rotated_total      reason (login, privilege_change,
                                          periodic, imported, binding)
sessiontokens_sessions_ended_total        reason, actor
sessiontokens_token_reuse_total           -
sessiontokens_anomalies_total             kind (ip, user_agent), action
sessiontokens_guessing_detected_total     -
sessiontokens_store_errors_total          alias (storage did not answer)
sessiontokens_purge_runs_total            -
sessiontokens_purged_sessions_total       -
sessiontokens_store_seconds (histogram)   op (get, update)
sessiontokens_websockets_open (gauge)     - (Channels sockets watched)
========================================  =================================

OpenTelemetry names: ``sessiontokens.`` and the Prometheus name without its
prefix and ``_total``, its first ``_`` a dot (``sessiontokens.sessions.ended``,
``sessiontokens.token.reuse``); the histogram is
``sessiontokens.store.duration`` (seconds), the gauge the up-down counter
``sessiontokens.websockets.open``.

Each event is one call at the single place it happens (``services.events``,
``services.ending.purge_expired``, ``services.guessing``,
``StoreUnavailable.log``); the histogram times the store calls of a request
in ``backends.base`` (``timed``). Label children are cached, so an event
costs a dictionary look-up and an increment (``benchmarks/metrics_cost.py``
measures it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: Which backends record ("prometheus", "opentelemetry"), detected at import.
ENABLED: tuple[str, ...] = ()

#: Store latency buckets (seconds): sub-millisecond Redis to slow SQL.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)

_COUNTERS = {
    # name: (description, label names)
    "sessions_created": ("Sessions created", ("reason",)),
    "sessions_rotated": ("Session tokens rotated", ("reason",)),
    "sessions_ended": ("Sessions ended", ("reason", "actor")),
    "token_reuse": ("Rotated-away tokens used after their grace", ()),
    "anomalies": ("IP or user-agent changes within a session", ("kind", "action")),
    "guessing_detected": ("Addresses over the invalid-token limit", ()),
    "store_errors": ("Session storage did not answer", ("alias",)),
    "purge_runs": ("Purges of expired sessions", ()),
    "purged_sessions": ("Expired sessions purged", ()),
}


class _Recorder:
    """The instruments of the enabled backends; ``add``/``observe`` fan out
    to each. Made once at import (and by the benchmark, per backend)."""

    def __init__(
        self, *, prometheus: Any = None, registry: Any = None, otel: Any = None
    ) -> None:
        self.counters: dict[str, list[Callable[[tuple[str, ...], float], None]]] = {}
        self.histograms: list[Callable[[str, float], None]] = []
        self.gauges: list[Callable[[float], None]] = []
        if prometheus is not None:
            self._prometheus(prometheus, registry)
        if otel is not None:
            self._otel(otel)

    def _prometheus(self, prom: Any, registry: Any) -> None:
        kwargs = {} if registry is None else {"registry": registry}
        for name, (doc, labels) in _COUNTERS.items():
            counter = prom.Counter(f"sessiontokens_{name}", doc, labels, **kwargs)
            self.counters.setdefault(name, []).append(_prom_add(counter, labels))
        histogram = prom.Histogram(
            "sessiontokens_store_seconds",
            "Session store calls of a request",
            ("op",),
            buckets=BUCKETS,
            **kwargs,
        )
        children: dict[str, Any] = {}

        def observe(op: str, seconds: float) -> None:
            child = children.get(op)
            if child is None:
                child = children[op] = histogram.labels(op)
            child.observe(seconds)

        self.histograms.append(observe)
        gauge = prom.Gauge(
            "sessiontokens_websockets_open",
            "Channels websockets whose session is watched",
            multiprocess_mode="livesum",
            **kwargs,
        )
        self.gauges.append(gauge.inc)

    def _otel(self, meter: Any) -> None:
        for name, (doc, labels) in _COUNTERS.items():
            counter = meter.create_counter(
                f"sessiontokens.{name.replace('_', '.', 1)}", description=doc
            )
            self.counters.setdefault(name, []).append(_otel_add(counter, labels))
        histogram = meter.create_histogram(
            "sessiontokens.store.duration", unit="s", description="Store calls"
        )
        attributes = {op: {"op": op} for op in ("get", "update")}

        def observe(op: str, seconds: float) -> None:
            histogram.record(seconds, attributes.get(op) or {"op": op})

        self.histograms.append(observe)
        updown = meter.create_up_down_counter(
            "sessiontokens.websockets.open", description="Websockets watched"
        )
        self.gauges.append(updown.add)

    def add(self, name: str, labels: tuple[str, ...] = (), amount: float = 1) -> None:
        for add in self.counters.get(name, ()):
            add(labels, amount)

    def observe(self, op: str, seconds: float) -> None:
        for observe in self.histograms:
            observe(op, seconds)

    def gauge(self, delta: float) -> None:
        for change in self.gauges:
            change(delta)


def _prom_add(counter: Any, names: tuple[str, ...]) -> Callable[..., None]:
    if not names:
        return lambda labels, amount: counter.inc(amount)
    children: dict[tuple[str, ...], Any] = {}

    def add(labels: tuple[str, ...], amount: float) -> None:
        child = children.get(labels)
        if child is None:
            child = children[labels] = counter.labels(*labels)
        child.inc(amount)

    return add


def _otel_add(counter: Any, names: tuple[str, ...]) -> Callable[..., None]:
    cached: dict[tuple[str, ...], dict[str, str]] = {}

    def add(labels: tuple[str, ...], amount: float) -> None:
        attributes = cached.get(labels)
        if attributes is None:
            attributes = cached[labels] = dict(zip(names, labels, strict=True))
        counter.add(amount, attributes)

    return add


def _detect() -> _Recorder | None:
    global ENABLED
    prometheus: Any = None
    meter: Any = None
    try:
        import prometheus_client
    except ImportError:
        pass
    else:
        prometheus = prometheus_client
    try:
        from opentelemetry import metrics as otel_metrics
    except ImportError:
        pass
    else:
        meter = otel_metrics.get_meter("django_sessiontokens")
    ENABLED = tuple(
        name
        for name, found in (("prometheus", prometheus), ("opentelemetry", meter))
        if found is not None
    )
    if not ENABLED:
        return None
    return _Recorder(prometheus=prometheus, otel=meter)


recorder = _detect()


# The calls the package makes (no-ops when no backend is installed). -------
def _noop(*args: Any, **kwargs: Any) -> None:
    return None


def _timed_noop(op: str, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return call(*args, **kwargs)


if recorder is None:
    created = rotated = ended = reuse = anomaly = guessing = _noop
    store_error = purge_run = purged = websocket_opened = websocket_closed = _noop
    timed = _timed_noop
else:
    _r = recorder

    def created(reason: str) -> None:
        _r.add("sessions_created", (reason,))

    def rotated(reason: str) -> None:
        _r.add("sessions_rotated", (reason,))

    def ended(reason: str, actor: str, count: int = 1) -> None:
        _r.add("sessions_ended", (reason, actor), count)

    def reuse() -> None:
        _r.add("token_reuse")

    def anomaly(kind: str, action: str) -> None:
        _r.add("anomalies", (kind, action))

    def guessing() -> None:
        _r.add("guessing_detected")

    def store_error(alias: str) -> None:
        _r.add("store_errors", (alias or "?",))

    def purge_run() -> None:
        _r.add("purge_runs")

    def purged(count: int) -> None:
        if count:
            _r.add("purged_sessions", (), count)

    def websocket_opened() -> None:
        _r.gauge(1)

    def websocket_closed() -> None:
        _r.gauge(-1)

    def timed(op: str, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``call(*args, **kwargs)``, its duration observed as ``op``."""
        started = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            _r.observe(op, time.perf_counter() - started)
