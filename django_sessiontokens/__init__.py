"""Secure, observable and revocable server-side session tokens for Django."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest

__version__ = "0.1.0"
__all__ = ["__version__", "aremember", "device_bound", "remember", "rotate"]


def rotate(request: HttpRequest, *, reason: str = "privilege_change") -> None:
    """Give the request's session a new token at once (call after any
    privilege change). The previous token stops working immediately."""
    from django_sessiontokens.backends.base import TokenSessionStore

    session: Any = getattr(request, "session", None)
    if isinstance(session, TokenSessionStore):
        session.rotate(reason=reason)
    elif session is not None:
        session.cycle_key()


def remember(request: HttpRequest, remembered: bool = True) -> None:
    """ "Keep me signed in": mark the request's session remembered (the
    remembered idle and absolute limits, a persistent cookie) or not (the
    ordinary limits, a browser-session cookie). Call it at sign-in, before
    or after ``login()``; each sign-in starts not remembered."""
    from django_sessiontokens.backends.base import (
        REMEMBER_ATTRIBUTE,
        TokenSessionStore,
    )

    setattr(request, REMEMBER_ATTRIBUTE, bool(remembered))
    session: Any = getattr(request, "session", None)
    if isinstance(session, TokenSessionStore):
        session.remember(remembered)


async def aremember(request: HttpRequest, remembered: bool = True) -> None:
    """``remember`` for async views (it may load the session)."""
    from asgiref.sync import sync_to_async

    await sync_to_async(remember)(request, remembered)


def device_bound(request: HttpRequest) -> bool:
    """Did this request prove its session is bound to this device (DBSC):
    a bound session, with a valid bound cookie? ``False`` when
    ``SESSIONTOKENS_DBSC`` is off, for unbound sessions, and on paths
    outside the bound cookie's scope. Loads the session."""
    from django_sessiontokens.backends.base import TokenSessionStore

    session: Any = getattr(request, "session", None)
    if not isinstance(session, TokenSessionStore):
        return False
    session.load_once()
    return session.device_bound
