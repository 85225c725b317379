"""What a metric costs on the request path.

    python -m benchmarks.metrics_cost [--number 200000]

Times, per call, in nanoseconds (best of 5 runs): an event counter with
labels (``ended``), one without (``reuse``), and ``timed`` around a store
call (the histogram of a request) against the bare call, with no backend
(the no-ops of a site without prometheus-client or opentelemetry-api),
prometheus-client, the OpenTelemetry SDK (a ``MeterProvider`` with an
in-memory reader), and both. Each backend gets instruments of its own
(``metrics._Recorder``), not the process-wide ones.
"""

from __future__ import annotations

import argparse
import time
import timeit
from collections.abc import Callable
from typing import Any

from django_sessiontokens import metrics


def _recorders() -> dict[str, metrics._Recorder | None]:
    found: dict[str, metrics._Recorder | None] = {"none": None}
    prometheus: Any = None
    meter: Any = None
    try:
        import prometheus_client

        prometheus = prometheus_client
    except ImportError:
        pass
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
        meter = provider.get_meter("benchmark")
    except ImportError:
        pass
    if prometheus is not None:
        found["prometheus"] = metrics._Recorder(
            prometheus=prometheus, registry=prometheus.CollectorRegistry()
        )
    if meter is not None:
        found["opentelemetry"] = metrics._Recorder(otel=meter)
    if prometheus is not None and meter is not None:
        found["both"] = metrics._Recorder(
            prometheus=prometheus, registry=prometheus.CollectorRegistry(), otel=meter
        )
    return found


def _calls(recorder: metrics._Recorder | None) -> dict[str, Callable[[], Any]]:
    def store_get(public_id: str) -> None:
        return None

    if recorder is None:
        return {
            "ended(reason, actor)": lambda: metrics._noop("revoked", "user"),
            "reuse()": lambda: metrics._noop(),
            "timed(get) overhead": lambda: metrics._timed_noop("get", store_get, "x"),
        }
    r = recorder

    def timed() -> None:
        started = time.perf_counter()
        try:
            store_get("x")
        finally:
            r.observe("get", time.perf_counter() - started)

    return {
        "ended(reason, actor)": lambda: r.add("sessions_ended", ("revoked", "user")),
        "reuse()": lambda: r.add("token_reuse"),
        "timed(get) overhead": timed,
    }


def _ns(call: Callable[[], Any], number: int) -> float:
    best = min(timeit.repeat(call, number=number, repeat=5))
    return best / number * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=200_000)
    args = parser.parse_args()

    def bare() -> None:
        return None

    baseline = _ns(bare, args.number)
    rows = []
    for name, recorder in _recorders().items():
        for what, call in _calls(recorder).items():
            rows.append((name, what, _ns(call, args.number) - baseline))
    print(f"{'backend':<15}{'call':<24}{'ns per call':>12}")
    for name, what, ns in rows:
        print(f"{name:<15}{what:<24}{ns:>12.0f}")
    print(f"(a bare Python call, {baseline:.0f} ns, is subtracted)")


if __name__ == "__main__":
    main()
