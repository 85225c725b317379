"""Chromium 150 with Device Bound Session Credentials, and what its DevTools
say it did.

Debian's current chromium ignores the registration header on Linux; the
build that ``scripts/get-chromium-150.sh`` unpacks runs the whole protocol
with software keys. The script exits 3
when the Debian archive no longer serves that build: only then do the tests
that need it skip (with the script's reason), even under ``CI``; any other
failure is a failure under ``CI``.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM_ARGS
from tests.conftest import CI_ALLOWED_SKIP, _require

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "get-chromium-150.sh"
#: The script's "no longer served" exit status.
NOT_SERVED = 3
DBSC_ARGS = [
    "--enable-features=DeviceBoundSessions:RequireOriginTrialTokens/false"
    "/RefreshQuota/false,DeviceBoundSessionsDevTools,"
    "EnableBoundSessionCredentialsSoftwareKeysForManualTesting",
    *CHROMIUM_ARGS,
]
EVENT = "Network.deviceBoundSessionEventOccurred"


def chromium_150() -> str:
    """The binary's path (unpacked on first use, found at once after)."""
    try:
        result = subprocess.run(
            ["bash", str(SCRIPT)],
            capture_output=True,
            text=True,
            timeout=240,
        )
    except subprocess.TimeoutExpired:
        _require(f"{SCRIPT.name} did not finish in 240 s")
    reason = result.stderr.strip().splitlines()[-1:] or [""]
    if result.returncode == NOT_SERVED:
        pytest.skip(CI_ALLOWED_SKIP + reason[0])
    path = result.stdout.strip().splitlines()[-1:] or [""]
    if result.returncode != 0 or not Path(path[0]).is_file():
        _require(f"{SCRIPT.name} failed ({result.returncode}): {reason[0]}")
    return path[0]


class DeviceBoundEvents:
    """The DBSC events of one page's browser context, from its DevTools
    session (``Network.enableDeviceBoundSessions``). Playwright hands events
    over only while it runs, so :meth:`wait_for` lets it run."""

    def __init__(self, context, page) -> None:
        self.page = page
        self.events: list[dict] = []
        cdp = context.new_cdp_session(page)
        cdp.on(EVENT, lambda event: self.events.append(event))
        cdp.send("Network.enable")
        cdp.send("Network.enableDeviceBoundSessions", {"enable": True})
        self.cdp = cdp

    def of(self, kind: str) -> list[dict]:
        """The events with ``<kind>EventDetails`` (creation, refresh,
        challenge, termination), each that part with the event's session."""
        key = f"{kind}EventDetails"
        return [
            {**event[key], "sessionId": event.get("sessionId")}
            for event in self.events
            if key in event
        ]

    def wait_for(self, kind: str, *, where=None, timeout: float = 15.0) -> dict:
        """The first event of ``kind`` (for which ``where(details)`` holds),
        once it arrived."""
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.of(kind) if where is None or where(e)]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {kind} event within {timeout} s; "
                    f"the browser reported: {self.events}"
                )
            self.page.wait_for_timeout(50)

    def settle(self, seconds: float = 0.5) -> None:
        """Let pending events arrive."""
        self.page.wait_for_timeout(seconds * 1000)
