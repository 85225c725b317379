"""Django Channels: websockets authenticated, touched and closed by the
session engine.

``SessionTokenMiddleware`` (or ``SessionTokenMiddlewareStack``, the drop-in
for ``channels.auth.AuthMiddlewareStack``) loads the websocket's session with
the configured engine's ``SessionStore(cookie)`` in a thread: the same strict
rules and expiry as a page (an unknown, forged, expired or ended cookie gives
an empty anonymous session). It sets ``scope["session"]`` and
``scope["user"]`` (``AnonymousUser`` when nobody is signed in).

While the socket is open it re-validates the session every
``SESSIONTOKENS_CHANNELS_CHECK_INTERVAL`` seconds (default 3, with a random
first delay so sockets opened together spread out): one store read
(``BaseStore.get``), judged by ``core.policy.is_alive``, the rule every other
path uses. A session that is gone (logout, revocation, password change,
eviction, reuse, a rotation to a new public id such as a new sign-in),
expired, or now names another user, closes the socket with close code
``4401`` (:data:`CLOSE_CODE`) and the reason ``"session ended"``; the
consumer receives ``websocket.disconnect`` with that code. A session that
ends in this process wakes its sockets at once (``session_ended``, and
``session_rotated`` to a new public id); one that
ends in another process is seen at the next check, so the bound is the check
interval plus one store read. A session's expiry is known in advance: the
check runs when it is due, not up to an interval later.

A frame from the client when last activity is older than
``SESSIONTOKENS_TOUCH_INTERVAL`` runs a check at once that also writes last
activity (``core.lifecycle.touch_changes``, the rule of pages): an active
socket keeps its session from idling out, with at most one write per touch
interval. A socket never rotates
the token (it cannot send the browser a new cookie) and does not apply the
IP / user-agent binding policy (the page that opened it did).

If the store does not answer (Redis down), the socket stays open and the
failure is logged; the next check tries again.

Cost: ``60 / CHECK_INTERVAL`` store reads per open socket per minute (20 with
the default), plus at most one write per touch interval for an active socket.
With the db engine, each check borrows a database connection in a worker
thread: set ``CONN_MAX_AGE`` so it is reused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import weakref
from collections.abc import Awaitable, Callable, MutableMapping
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.http.cookie import parse_cookie
from django.utils import timezone

from django_sessiontokens import metrics, signals
from django_sessiontokens.conf import conf
from django_sessiontokens.core import lifecycle, policy
from django_sessiontokens.exceptions import StoreUnavailable, UpdateError
from django_sessiontokens.types import RequestContext

logger = logging.getLogger("django_sessiontokens")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The websocket close code sent when the session ends (4000-4999 are the
#: application's; 4401 echoes HTTP 401).
CLOSE_CODE = 4401
CLOSE_REASON = "session ended"


def check_interval() -> float:
    """``SESSIONTOKENS_CHANNELS_CHECK_INTERVAL`` in seconds (read live)."""
    return conf.CHANNELS_CHECK_INTERVAL


def _load(scope: Scope) -> tuple[Any, Any]:
    """The websocket's session and user, as a page request would get them
    (runs in a thread: it reads storage and the user table)."""
    from django.contrib.auth import get_user

    cookies: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            cookies.update(parse_cookie(value.decode("latin1")))
    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore(cookies.get(settings.SESSION_COOKIE_NAME))
    # No ip / user agent: a socket applies no binding policy (see above).
    # A device-bound session (DBSC) needs its bound cookie here too.
    session.context = RequestContext(
        request=_socket_request(scope, cookies) if conf.DBSC else None
    )
    user = get_user(SimpleNamespace(session=session))  # type: ignore[arg-type]
    return session, user


def _socket_request(scope: Scope, cookies: dict[str, str]) -> Any:
    """What the DBSC check reads of a request: path, cookies, headers."""
    headers = {
        name.decode("latin1").title(): value.decode("latin1")
        for name, value in scope.get("headers", ())
    }
    return SimpleNamespace(
        path_info=scope.get("path", "/"), COOKIES=cookies, headers=headers, META={}
    )


class _Watch:
    """One open websocket whose session is re-validated."""

    def __init__(self, session: Any, interval: float) -> None:
        self.session = session
        self.public_id: str = session.record.public_id
        self.user_id: str | None = session.record.user_id
        self.deadline = policy.ends_at(session.record)
        self.last_activity = session.record.last_activity
        self.interval = interval
        self.active = False
        self.finished = False
        self.loop = asyncio.get_running_loop()
        self.wake = asyncio.Event()
        self.ended = asyncio.Event()

    def check(self) -> bool:
        """Is the session still alive? Touches it when due (in a thread)."""
        store = self.session.get_store()
        fresh = store.get(self.public_id)
        now = timezone.now()
        if fresh is None or not policy.is_alive(fresh, now):
            return False
        if fresh.user_id != self.user_id:
            return False
        self.deadline = policy.ends_at(fresh)
        self.last_activity = fresh.last_activity
        if self.active:
            changes = lifecycle.touch_changes(
                fresh,
                now,
                interval=conf.TOUCH_INTERVAL,
                custom=self.session.get("_session_expiry"),
                ip=None,
                user_agent=None,
            )
            if changes:
                try:
                    store.update(self.public_id, changes, base=fresh)
                except UpdateError:  # ended or changed meanwhile: next check
                    return True
                self.deadline = policy.ends_at(fresh.replace(**changes))
                self.last_activity = changes["last_activity"]
            self.active = False
        return True

    def received(self) -> None:
        """A frame from the client: check (and touch) now if a touch is due."""
        self.active = True
        if policy.needs_touch(timezone.now(), self.last_activity, conf.TOUCH_INTERVAL):
            self.wake.set()

    def delay(self, first: bool) -> float:
        until_end = (self.deadline - timezone.now()).total_seconds() + 0.01
        wait = random.uniform(0, self.interval) if first else self.interval  # noqa: S311
        return max(0.0, min(wait, until_end))

    async def run(self, send: Send, accepted: asyncio.Event) -> None:
        from channels.db import database_sync_to_async

        await accepted.wait()
        first = True
        while not self.finished:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.delay(first))
            first = False
            self.wake.clear()
            try:
                alive = await database_sync_to_async(self.check)()
            except StoreUnavailable as exc:
                exc.log()
                continue
            if not alive and not self.finished:
                self.finished = True
                self.ended.set()
                await send(
                    {
                        "type": "websocket.close",
                        "code": CLOSE_CODE,
                        "reason": CLOSE_REASON,
                    }
                )
                return


# Sockets of this process by public id, woken when a session ends here.
_open: dict[str, weakref.WeakSet[_Watch]] = {}
_open_lock = threading.Lock()


def _wake(public_id: str) -> None:
    with _open_lock:
        watches = list(_open.get(public_id, ()))
    for watch in watches:
        watch.loop.call_soon_threadsafe(watch.wake.set)


def _on_ended(sender: Any, public_id: str = "", **kwargs: Any) -> None:
    _wake(public_id)


def _on_rotated(
    sender: Any, public_id: str = "", previous_public_id: str | None = None, **kw: Any
) -> None:
    if previous_public_id and previous_public_id != public_id:
        _wake(previous_public_id)  # a new public id: the old one is gone


_UID = "django_sessiontokens.channels"
signals.session_ended.connect(_on_ended, weak=False, dispatch_uid=f"{_UID}.ended")
signals.session_rotated.connect(_on_rotated, weak=False, dispatch_uid=f"{_UID}.rotated")


def _register(watch: _Watch) -> None:
    with _open_lock:
        _open.setdefault(watch.public_id, weakref.WeakSet()).add(watch)
    metrics.websocket_opened()


def _unregister(watch: _Watch) -> None:
    with _open_lock:
        found = _open.get(watch.public_id)
        if found is not None:
            found.discard(watch)
            if not found:
                del _open[watch.public_id]
    metrics.websocket_closed()


class SessionTokenMiddleware:
    """ASGI middleware for Channels: ``scope["session"]`` and
    ``scope["user"]`` from our engine; websockets closed (code 4401) when
    their session ends. ``check_interval`` overrides the setting."""

    def __init__(self, inner: ASGIApp, *, check_interval: float | None = None):
        self.inner = inner
        self.check_interval = check_interval

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from channels.db import database_sync_to_async

        if scope["type"] not in ("websocket", "http"):
            return await self.inner(scope, receive, send)
        session, user = await database_sync_to_async(_load)(scope)
        scope = dict(scope, session=session, user=user)
        if scope["type"] != "websocket" or session.record is None:
            return await self.inner(scope, receive, send)
        watch = _Watch(session, self.check_interval or check_interval())
        _register(watch)
        try:
            await self._serve(watch, scope, receive, send)
        finally:
            watch.finished = True
            _unregister(watch)

    async def _serve(
        self, watch: _Watch, scope: Scope, receive: Receive, send: Send
    ) -> None:
        accepted = asyncio.Event()
        pending: list[asyncio.Future[Message]] = []

        async def receive_or_end() -> Message:
            if not pending:
                pending.append(asyncio.ensure_future(receive()))
            ended: asyncio.Future[Any] = asyncio.ensure_future(watch.ended.wait())
            try:
                waiting: list[asyncio.Future[Any]] = [pending[0], ended]
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            finally:
                ended.cancel()
            if pending[0].done():
                message = pending.pop().result()
                if message["type"] == "websocket.receive":
                    watch.received()
                elif message["type"] == "websocket.disconnect":
                    watch.finished = True
                return message
            return {"type": "websocket.disconnect", "code": CLOSE_CODE}

        async def send_unless_closed(message: Message) -> None:
            if watch.ended.is_set():
                return  # closed by us: the consumer's late frames are dropped
            if message["type"] == "websocket.accept":
                accepted.set()
            elif message["type"] == "websocket.close":
                watch.finished = True
            await send(message)

        watcher = asyncio.ensure_future(watch.run(send, accepted))
        try:
            await self.inner(scope, receive_or_end, send_unless_closed)
        finally:
            watch.finished = True
            watcher.cancel()
            for future in pending:
                future.cancel()


def SessionTokenMiddlewareStack(
    inner: ASGIApp, *, check_interval: float | None = None
) -> SessionTokenMiddleware:
    """In place of ``AuthMiddlewareStack`` / ``SessionMiddlewareStack``."""
    return SessionTokenMiddleware(inner, check_interval=check_interval)
