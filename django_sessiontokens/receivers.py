"""Session consequences of account events. Connected in ``AppConfig.ready``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_save, pre_delete

from django_sessiontokens import services
from django_sessiontokens.backends.base import REMEMBER_ATTRIBUTE, TokenSessionStore
from django_sessiontokens.types import Actor, Reason


def _session(request: Any) -> TokenSessionStore | None:
    session = getattr(request, "session", None)
    return session if isinstance(session, TokenSessionStore) else None


def on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """New token at every sign-in; stamp the authentication time; "remember
    me" as chosen for this sign-in (``remember``, before or after it)."""
    session = _session(request)
    if session is not None:
        session.note_login()
        choice = getattr(request, REMEMBER_ATTRIBUTE, None)
        if choice is not None:
            session.remember(choice)


def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Django's ``logout`` flushes the session right after this signal."""
    session = _session(request)
    if session is not None:
        ctx = session.context
        ctx.end_reason = Reason.LOGOUT.value
        ctx.end_actor = Actor.USER.value
        ctx.ended_by = user if getattr(user, "is_authenticated", False) else None


def _current_session_of(user: Any) -> TokenSessionStore | None:
    from django_sessiontokens.middleware import current_session

    session = current_session.get()
    if session is None or session.record is None:
        return None
    return session if session.record.user_id == str(user.pk) else None


def on_user_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if created or kwargs.get("raw"):
        return
    if not getattr(instance, "is_active", True):
        services.end_user_sessions(
            instance, reason=Reason.USER_DISABLED, actor=Actor.SYSTEM
        )
    elif getattr(instance, "_password", None) is not None:
        # set_password() ran: every other session ends now, not lazily; the
        # session doing the change (if it is the user's own) stays signed in.
        services.end_user_sessions(
            instance,
            except_=_current_session_of(instance),
            reason=Reason.PASSWORD_CHANGE,
            actor=Actor.SYSTEM,
        )


def on_user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    services.end_user_sessions(instance, reason=Reason.USER_DELETED, actor=Actor.SYSTEM)


def connect() -> None:
    user_model = get_user_model()
    uid = "django_sessiontokens"
    user_logged_in.connect(on_login, dispatch_uid=f"{uid}.login")
    user_logged_out.connect(on_logout, dispatch_uid=f"{uid}.logout")
    post_save.connect(on_user_saved, sender=user_model, dispatch_uid=f"{uid}.saved")
    pre_delete.connect(
        on_user_deleted, sender=user_model, dispatch_uid=f"{uid}.deleted"
    )
