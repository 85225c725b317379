"""Checks of "remember me" (``SESSIONTOKENS_REMEMBERED_*``) and of the
re-authentication asked before ending other sessions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.checks import CheckMessage, Error, Warning

from django_sessiontokens.checks.values import _raw_seconds
from django_sessiontokens.conf import conf


def _duration(name: str) -> tuple[float | None, str]:
    """The setting's seconds, and a message when it is not valid."""
    value = _raw_seconds(name)
    if value is None or (isinstance(value, float) and value > 0):
        return value, ""
    return None, (
        f"SESSIONTOKENS_{name} must be a positive number of seconds, a "
        f"timedelta or None, not {conf.raw(name)!r}."
    )


HINT = "For example SESSIONTOKENS_{} = timedelta(days=30), or None for no limit."


def check_remember(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    idle, wrong_idle = _duration("REMEMBERED_IDLE_TIMEOUT")
    absolute, wrong_absolute = _duration("REMEMBERED_ABSOLUTE_TIMEOUT")
    for name, message in (
        ("REMEMBERED_IDLE_TIMEOUT", wrong_idle),
        ("REMEMBERED_ABSOLUTE_TIMEOUT", wrong_absolute),
    ):
        if message:
            errors.append(
                Error(message, hint=HINT.format(name), id="sessiontokens.E045")
            )
    _reauth, message = _duration("REAUTH_TO_END_SESSIONS")
    if message:
        errors.append(
            Error(
                message,
                hint="For example SESSIONTOKENS_REAUTH_TO_END_SESSIONS = "
                "timedelta(minutes=5), or None to never ask.",
                id="sessiontokens.E048",
            )
        )
    if errors:
        return errors
    if idle is not None and absolute is not None and idle > absolute:
        errors.append(
            Error(
                "SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT is longer than "
                "SESSIONTOKENS_REMEMBERED_ABSOLUTE_TIMEOUT.",
                hint="The idle limit of remembered sessions can never be "
                "reached; make it shorter, or None.",
                id="sessiontokens.E046",
            )
        )
    touch = _raw_seconds("TOUCH_INTERVAL")
    if idle is not None and isinstance(touch, float) and touch >= idle:
        errors.append(
            Error(
                "SESSIONTOKENS_TOUCH_INTERVAL is not shorter than "
                "SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT.",
                hint="Active users of remembered sessions would be signed out; "
                "use a longer remembered idle limit (or None).",
                id="sessiontokens.E047",
            )
        )
    if errors:
        return errors
    if idle is None and absolute is None:
        errors.append(
            Warning(
                "SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT and "
                "SESSIONTOKENS_REMEMBERED_ABSOLUTE_TIMEOUT are both None: a "
                "remembered session never ends by itself.",
                hint="NIST SP 800-63B-4 asks for re-authentication at least "
                "every 30 days (AAL1); set SESSIONTOKENS_REMEMBERED_ABSOLUTE_"
                "TIMEOUT = timedelta(days=30).",
                id="sessiontokens.W018",
            )
        )
    elif _comparable() and (
        _shorter(idle, _raw_seconds("IDLE_TIMEOUT"))
        or _shorter(absolute, _raw_seconds("ABSOLUTE_TIMEOUT"))
    ):
        errors.append(
            Warning(
                "A SESSIONTOKENS_REMEMBERED_* limit is shorter than the same "
                "limit of other sessions (SESSIONTOKENS_IDLE_TIMEOUT / "
                "ABSOLUTE_TIMEOUT): 'keep me signed in' would sign users out "
                "sooner.",
                hint="Make SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT and "
                "SESSIONTOKENS_REMEMBERED_ABSOLUTE_TIMEOUT at least as long as "
                "the ordinary limits (None: no limit).",
                id="sessiontokens.W019",
            )
        )
    return errors


def _comparable() -> bool:
    """Are the ordinary limits themselves valid (else E004/E005 say so)?"""
    idle, absolute = _raw_seconds("IDLE_TIMEOUT"), _raw_seconds("ABSOLUTE_TIMEOUT")
    if "invalid" in (idle, absolute):
        return False
    return idle is None or absolute is None or idle <= absolute


def _shorter(remembered: float | None, ordinary: Any) -> bool:
    """Is the remembered limit shorter than the ordinary one?"""
    if remembered is None:
        return False
    if ordinary is None:
        return True
    return isinstance(ordinary, float) and remembered < ordinary
