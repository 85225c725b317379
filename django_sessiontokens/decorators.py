"""Step-up: views that need a recent authentication.

``require_recent_auth(max_age)`` and ``RecentAuthRequiredMixin`` send the user
to the login page (with ``next``) unless they authenticated within
``max_age`` (seconds or a ``timedelta``) in this session. Signing in again,
even as the same user, resets the time and rotates the token. Sync and async
views are both supported.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone

from django_sessiontokens.backends.base import TokenSessionStore
from django_sessiontokens.conf import seconds

View = TypeVar("View", bound=Callable[..., Any])


def authenticated_recently(request: HttpRequest, max_age: float | timedelta) -> bool:
    """Did the session's user authenticate within ``max_age``?"""
    session = getattr(request, "session", None)
    if not isinstance(session, TokenSessionStore):
        return False
    when = session.authenticated_at
    if when is None:
        return False
    limit = seconds(max_age) or 0.0
    return (timezone.now() - when).total_seconds() <= limit


def _to_login(
    request: HttpRequest, login_url: str | None, redirect_field_name: str
) -> HttpResponseBase:
    return redirect_to_login(request.get_full_path(), login_url, redirect_field_name)


def require_recent_auth(
    max_age: float | timedelta,
    *,
    login_url: str | None = None,
    redirect_field_name: str = REDIRECT_FIELD_NAME,
) -> Callable[[View], View]:
    """Decorator: the view runs only if the user authenticated within
    ``max_age``; otherwise a redirect to ``login_url`` (``LOGIN_URL``)."""

    def decorator(view: View) -> View:
        if iscoroutinefunction(view):

            @wraps(view)
            async def async_wrapped(
                request: HttpRequest, *args: Any, **kwargs: Any
            ) -> Any:
                if await sync_to_async(authenticated_recently)(request, max_age):
                    return await view(request, *args, **kwargs)
                return _to_login(request, login_url, redirect_field_name)

            return cast(View, async_wrapped)

        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if authenticated_recently(request, max_age):
                return view(request, *args, **kwargs)
            return _to_login(request, login_url, redirect_field_name)

        return cast(View, wrapped)

    return decorator


class RecentAuthRequiredMixin:
    """For class-based views (sync or async)::

    class DeleteAccount(RecentAuthRequiredMixin, FormView):
        max_auth_age = timedelta(minutes=5)
    """

    max_auth_age: float | timedelta = 300
    login_url: str | None = None
    redirect_field_name: str = REDIRECT_FIELD_NAME

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        parent = super().dispatch  # type: ignore[misc]
        if getattr(self, "view_is_async", False):

            async def check() -> Any:
                if await sync_to_async(authenticated_recently)(
                    request, self.max_auth_age
                ):
                    return await parent(request, *args, **kwargs)
                return _to_login(request, self.login_url, self.redirect_field_name)

            return check()
        if authenticated_recently(request, self.max_auth_age):
            return parent(request, *args, **kwargs)
        return _to_login(request, self.login_url, self.redirect_field_name)
