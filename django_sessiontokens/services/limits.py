"""Concurrent-session limit: ``SESSIONTOKENS_MAX_SESSIONS_PER_USER``.

When a user signs in and already has that many live sessions,
``SESSIONTOKENS_LIMIT_POLICY`` decides: ``"evict_oldest"`` ends the least
recently active ones (reason ``evicted``, through ``services``), ``"refuse"``
refuses the sign-in. Login forms show the refusal as a form error with
``SessionLimitFormMixin``; any other login path (``login()`` called by an app,
an API, a second-factor step) gets ``SessionLimitReached``, a
``PermissionDenied`` carrying the same message, and the session stays
signed out.

Counting and storing the new session happen under a per-user lock, so
parallel sign-ins never exceed the limit. The lock is the user's row in the
database (``SELECT ... FOR UPDATE``; on SQLite, which has no row locks, a
no-op ``UPDATE`` of that row, which takes the database write lock). Every
engine has that row, since the user model lives in the database even when
sessions live in Redis, so one mechanism serves db, redis and cached_db, and
it holds across processes and hosts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.contrib.auth import SESSION_KEY, get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, router, transaction
from django.db.models import F
from django.utils.translation import ngettext_lazy

from django_sessiontokens.conf import conf
from django_sessiontokens.services import ending
from django_sessiontokens.types import Actor, Reason, SessionInfo

if TYPE_CHECKING:
    from django_sessiontokens.backends.base import TokenSessionStore
    from django_sessiontokens.stores.base import BaseStore

MESSAGE = ngettext_lazy(
    "You are already signed in on %(limit)d device, the most allowed. Sign "
    "out there, then try again.",
    "You are already signed in on %(limit)d devices, the most allowed. Sign "
    "out on one of them, then try again.",
    "limit",
)


class SessionLimitReached(PermissionDenied):
    """A sign-in was refused by ``LIMIT_POLICY = "refuse"``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(MESSAGE % {"limit": limit})


@contextmanager
def user_lock(user_id: str) -> Iterator[None]:
    """Hold the user's row lock for the duration (see the module docstring)."""
    model = get_user_model()
    using = router.db_for_write(model)
    features = connections[using].features
    manager = model._default_manager.using(using)
    with transaction.atomic(using=using):
        if features.has_select_for_update:
            no_key = features.has_select_for_no_key_update
            list(
                manager.select_for_update(no_key=no_key).filter(pk=user_id).values("pk")
            )
        else:
            pk = model._meta.pk
            assert pk is not None
            manager.filter(pk=user_id).update(**{pk.name: F(pk.name)})
        yield


def live_sessions(
    user_id: str, *, store: BaseStore, exclude: str | None = None
) -> list[SessionInfo]:
    """The user's unexpired sessions but ``exclude``, most recently active
    first."""
    return [
        info
        for info in ending.list_user_sessions(user_id, store=store)
        if info.public_id != exclude
    ]


def would_refuse(user: Any, *, current: str | None = None) -> bool:
    """Would signing ``user`` in now be refused? ``current`` is the public id
    of the session signing in (it is replaced, so it does not count)."""
    limit = conf.MAX_SESSIONS_PER_USER
    if limit is None or conf.LIMIT_POLICY != "refuse":
        return False
    live = live_sessions(str(user.pk), store=ending.get_store(), exclude=current)
    return len(live) >= limit


def admit(session: TokenSessionStore) -> None:
    """Called at sign-in, after the token changed: store the session's new
    record under the user's lock, ending or refusing what exceeds the limit."""
    limit = conf.MAX_SESSIONS_PER_USER
    user_id = session.get(SESSION_KEY)
    if limit is None or user_id in (None, ""):
        return
    user_id = str(user_id)
    store = session.get_store()
    with user_lock(user_id):
        if conf.LIMIT_POLICY == "refuse":
            if len(live_sessions(user_id, store=store)) >= limit:
                _sign_out(session)
                raise SessionLimitReached(limit)
            session.save()
            return
        session.save()
        others = live_sessions(user_id, store=store, exclude=session.public_id)
        evicted = [record.public_id for record in others[max(limit - 1, 0) :]]
        if evicted:
            ending.end_sessions(
                evicted,
                reason=Reason.EVICTED,
                actor=Actor.SYSTEM,
                request=session.context.request,
                store=store,
            )


def _sign_out(session: TokenSessionStore) -> None:
    """Undo the refused sign-in: nothing is stored, the cookie is cleared."""
    from django.contrib.auth.models import AnonymousUser

    session.flush()
    request = session.context.request
    if request is not None and hasattr(request, "user"):
        request.user = AnonymousUser()


class SessionLimitFormMixin:
    """For ``AuthenticationForm`` subclasses: refuse with a form error when
    the limit is reached and the policy is ``"refuse"``::

        class LoginForm(SessionLimitFormMixin, AuthenticationForm):
            pass
    """

    request: Any
    too_many_sessions_message = MESSAGE

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)  # type: ignore[misc]
        session = getattr(self.request, "session", None)
        exclude = None
        if session is not None and str(session.get(SESSION_KEY)) == str(user.pk):
            # Signing in again on this session replaces it: it does not count.
            exclude = getattr(session, "public_id", None)
        if would_refuse(user, current=exclude):
            raise ValidationError(
                self.too_many_sessions_message,
                code="too_many_sessions",
                params={"limit": conf.MAX_SESSIONS_PER_USER},
            )
