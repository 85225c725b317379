"""A bounded load client for the load tests, loopback only.

Each client is a thread with its own cookie jar. It signs in, then until the
run's deadline alternates ``POST /increment/`` (adds one to a counter in its
session) and ``GET /page/`` (reads the session), and finally reads the
counter once more. Every request is recorded: when it started, status,
latency, whether a signed-in client was answered as anonymous, and for an
increment the value the server acknowledged (200 with the new value).

Every loop is bounded in count and in time; requests go to 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import json
import re
import statistics
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

COOKIE = "sessionid"
PHASES = ("before", "during", "after")
#: Hard limits whatever the run asks: requests per client, seconds per request.
MAX_REQUESTS = 20_000
REQUEST_TIMEOUT = 30.0


@dataclass
class Request:
    kind: str  # "increment" or "page"
    started: float
    latency: float
    status: int  # 0: no answer (connection refused, reset or timed out)
    anonymous: bool = False
    value: int | None = None  # the counter the answer carried
    server: float | None = None  # seconds the site spent (Server-Timing)
    cookie_deleted: bool = False
    error: str = ""


@dataclass
class Client:
    host: str
    port: int
    username: str
    think: float = 0.02
    cookies: dict[str, str] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    signed_in: bool = False
    final: int | None = None

    def send(self, method: str, path: str, kind: str) -> Request:
        assert self.host in ("127.0.0.1", "localhost", "::1")  # loopback only
        headers = {"Connection": "close", "Content-Length": "0"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.monotonic()
        connection = http.client.HTTPConnection(
            self.host, self.port, timeout=REQUEST_TIMEOUT
        )
        record = Request(kind, started, 0.0, 0)
        try:
            connection.request(method, path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            record.status = response.status
            timing = re.search(
                r"dur=([0-9.]+)", response.headers.get("Server-Timing", "")
            )
            if timing:
                record.server = float(timing.group(1)) / 1000
            for header in response.headers.get_all("Set-Cookie") or ():
                jar: SimpleCookie = SimpleCookie()
                jar.load(header)
                for name, morsel in jar.items():
                    if morsel["max-age"] == "0" or not morsel.value:
                        record.cookie_deleted = name == COOKIE or record.cookie_deleted
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            if response.status == 200:
                payload = json.loads(body)
                record.anonymous = payload.get("user") is None
                record.value = payload.get("n")
        except (OSError, http.client.HTTPException, ValueError) as exc:
            record.error = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()
        record.latency = time.monotonic() - started
        return record

    def sign_in(self, deadline: float) -> None:
        for _ in range(20):
            if time.monotonic() > deadline:
                break
            got = self.send("GET", f"/sign-in/?username={self.username}", "sign-in")
            if got.status == 200 and self.cookies.get(COOKIE):
                self.signed_in = True
                return
            time.sleep(0.2)
        raise AssertionError(f"{self.username} could not sign in: {got}")

    def run(self, deadline: float) -> None:
        for i in range(MAX_REQUESTS):
            if time.monotonic() >= deadline:
                break
            if i % 2 == 0:
                self.requests.append(self.send("POST", "/increment/", "increment"))
            else:
                self.requests.append(self.send("GET", "/page/", "page"))
            time.sleep(self.think)
        # The counter as the server has it, once the run is over.
        for _ in range(50):
            got = self.send("GET", "/page/", "final")
            if got.status == 200:
                self.final = None if got.anonymous else got.value
                return
            time.sleep(0.2)


def run_clients(
    host: str,
    port: int,
    users: list[str],
    *,
    seconds: float,
    think: float = 0.02,
    on_start=None,
) -> list[Client]:
    """Sign every user in, then let them all run for ``seconds``
    (``on_start()`` is called as they start)."""
    clients = [Client(host, port, name, think=think) for name in users]
    start_by = time.monotonic() + 60
    threads = [
        threading.Thread(target=c.sign_in, args=(start_by,), daemon=True)
        for c in clients
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=70)
    missing = [c.username for c in clients if not c.signed_in]
    assert not missing, f"not signed in: {missing}"
    deadline = time.monotonic() + seconds
    if on_start is not None:
        on_start()
    threads = [
        threading.Thread(target=c.run, args=(deadline,), daemon=True) for c in clients
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    assert not any(t.is_alive() for t in threads), "a client did not stop"
    return clients


# The report ----------------------------------------------------------------
@dataclass
class Window:
    """When the fault was injected and when service was given back
    (``time.monotonic()``); ``None`` for a run without a fault."""

    start: float | None = None
    end: float | None = None
    down: float | None = None  # the server had stopped (or was frozen) by then
    wall_start: float | None = None  # time.time(), for the server's log
    wall_end: float | None = None

    def phase(self, started: float, finished: float) -> str:
        """A request that overlapped the fault by any amount is "during"."""
        if self.start is None or finished < self.start:
            return "before"
        assert self.end is not None
        return "during" if started < self.end else "after"

    def wall_phase(self, created: float) -> str:
        if self.wall_start is None or created < self.wall_start:
            return "before"
        assert self.wall_end is not None
        return "during" if created < self.wall_end else "after"


@dataclass
class PhaseStats:
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    server_times: list[float] = field(default_factory=list)
    tracebacks: int = 0
    unavailable_logged: int = 0
    signed_out: int = 0  # clients
    lost: int = 0  # acknowledged increments whose effect is gone
    applied_unacknowledged: int = 0  # answered non-200 yet applied
    applied_sent_in_fault: int = 0  # of those, sent once the server was down
    failed_increments: int = 0  # increments answered non-200 or not at all

    def percentile(self, q: int, values: list[float] | None = None) -> float:
        """Milliseconds."""
        values = self.latencies if values is None else values
        if not values:
            return 0.0
        if len(values) == 1:
            return values[0] * 1000
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        return cuts[q - 1] * 1000

    @property
    def server_max(self) -> float:
        return max(self.server_times, default=0.0)

    def row(self) -> str:
        statuses = " ".join(f"{k}:{v}" for k, v in sorted(self.statuses.items()))
        return (
            f"{self.requests} | {statuses} | {self.percentile(50):.0f} / "
            f"{self.percentile(99):.0f} | {self.server_max * 1000:.0f} | "
            f"{self.tracebacks} | {self.signed_out} | "
            f"{self.lost} | {self.applied_unacknowledged} of "
            f"{self.failed_increments} ({self.applied_sent_in_fault})"
        )


_STAMP = re.compile(r"^@(\d+\.\d+) ")


def scan_log(text: str, window: Window) -> dict[str, dict[str, int]]:
    """Tracebacks and "storage unavailable" lines in a server log, by phase
    (a traceback belongs to the last stamped record before it)."""
    found = {phase: {"tracebacks": 0, "unavailable": 0} for phase in PHASES}
    phase = "before"
    chained = False  # the next traceback is the cause of the one before
    for line in text.splitlines():
        stamp = _STAMP.match(line)
        if stamp:
            phase = window.wall_phase(float(stamp.group(1)))
            if "storage unavailable" in line:
                found[phase]["unavailable"] += 1
        if "Traceback (most recent call last)" in line:
            found[phase]["tracebacks"] += 0 if chained else 1
        if line.strip():
            chained = line.startswith(("During handling of", "The above exception"))
    return found


def report(clients: list[Client], window: Window, log: Path) -> dict[str, PhaseStats]:
    stats = {phase: PhaseStats() for phase in PHASES}
    for client in clients:
        signed_out_in: str | None = None
        acked_value = 0  # the counter after the last acknowledged increment
        failed: list[Request] = []  # increments not acknowledged since
        for request in client.requests:
            phase = window.phase(request.started, request.started + request.latency)
            s = stats[phase]
            s.requests += 1
            s.statuses[request.status] = s.statuses.get(request.status, 0) + 1
            s.latencies.append(request.latency)
            if request.server is not None:
                s.server_times.append(request.server)
            if request.status == 200 and request.anonymous and signed_out_in is None:
                signed_out_in = phase
            if request.cookie_deleted and signed_out_in is None:
                signed_out_in = phase
            if request.kind != "increment":
                continue
            if request.status == 200 and not request.anonymous:
                value = request.value or 0
                if value <= acked_value:  # acknowledged increments overwritten
                    s.lost += acked_value - value + 1
                else:
                    _applied(stats, window, failed, value - acked_value - 1)
                acked_value = value
                failed = []
            elif request.status != 200:
                s.failed_increments += 1
                failed.append(request)
        final = client.final if client.final is not None else 0
        if final < acked_value:
            stats["after"].lost += acked_value - final
        elif final > acked_value:
            _applied(stats, window, failed, final - acked_value)
        if signed_out_in is not None:
            stats[signed_out_in].signed_out += 1
    for phase, counts in scan_log(log.read_text(errors="replace"), window).items():
        stats[phase].tracebacks = counts["tracebacks"]
        stats[phase].unavailable_logged = counts["unavailable"]
    return stats


def _applied(
    stats: dict[str, PhaseStats], window: Window, failed: list[Request], count: int
) -> None:
    """``count`` of the ``failed`` increments were applied all the same;
    taken as the earliest (those in flight when the fault began)."""
    for request in failed[:count]:
        phase = window.phase(request.started, request.started + request.latency)
        stats[phase].applied_unacknowledged += 1
        if window.down is not None and request.started >= window.down:
            stats[phase].applied_sent_in_fault += 1


HEADER = (
    "| server | engine (database) | fault | phase | requests | statuses | p50 / p99 ms "
    "| app max ms | tracebacks | signed out | lost | not acknowledged, applied "
    "(sent in the fault) |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)


def table_rows(server: str, scenario: str, stats: dict[str, PhaseStats]):
    engine, database, fault = scenario.split("-", 2)
    for phase in PHASES:
        yield (
            f"| {server} | {engine} ({database}) | {fault} | {phase} | "
            f"{stats[phase].row()} |"
        )


#: Rows of the runs of this test session, printed at its end (conftest).
RESULTS: list[str] = []
