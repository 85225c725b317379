"""``Server-Timing: app;dur=<ms>``: how long the site spent on a request
(from the outermost middleware), so a test can tell waiting on storage from
waiting in the server's queue."""

from __future__ import annotations

import time
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction


class ServerTiming:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        started = time.perf_counter()
        response = self.get_response(request)
        return _stamp(response, started)

    async def __acall__(self, request: Any) -> Any:
        started = time.perf_counter()
        response = await self.get_response(request)
        return _stamp(response, started)


def _stamp(response: Any, started: float) -> Any:
    response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1e3:.1f}"
    return response
