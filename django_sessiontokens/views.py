"""The signed-in user's "your sessions" page (its JSON API is ``api``).

Both list what ``services.list_user_sessions`` returns and end sessions only
through ``services``; a public id that is not one of the user's own live
sessions is a 404, whether it exists or not. Ending the session of the
request itself signs the user out (the response clears the cookie).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET

from django_sessiontokens import devices, impersonation, location, reauth, services
from django_sessiontokens.core import tokens
from django_sessiontokens.exceptions import ReauthenticationRequired
from django_sessiontokens.services import Actor, Reason, SessionInfo, bindings
from django_sessiontokens.templatetags.sessiontokens import ago

View = Callable[..., HttpResponseBase]


# Listing ------------------------------------------------------------------
@dataclass(frozen=True)
class SessionRow:
    """One session as the page and the API show it."""

    info: SessionInfo
    current: bool
    device: devices.DeviceInfo
    now: datetime
    #: The user impersonating the session's user, if any.
    impersonator: Any = None
    #: Bound to its device's key (DBSC).
    device_bound: bool = False

    @property
    def public_id(self) -> str:
        return self.info.public_id

    @property
    def location(self) -> location.Location | None:
        """Looked up when shown (cached per process)."""
        return location.locate(self.info.ip)

    @property
    def created(self) -> datetime:
        return self.info.authenticated_at or self.info.created_at

    @property
    def created_ago(self) -> str:
        return ago(self.created, self.now)

    @property
    def last_activity_ago(self) -> str:
        """As recorded (written at most once per touch interval)."""
        return ago(self.info.last_activity, self.now)

    @property
    def last_seen(self) -> str:
        """For a listing: the session showing it is active now."""
        return _("now") if self.current else self.last_activity_ago

    @property
    def expires_in(self) -> str:
        return timeuntil(self.info.expires_at, self.now, depth=1)

    def as_json(self) -> dict[str, Any]:
        info, where = self.info, self.location
        return {
            "id": info.public_id,
            "current": self.current,
            "created": info.created_at.isoformat(),
            "authenticated": (
                info.authenticated_at.isoformat() if info.authenticated_at else None
            ),
            "last_activity": info.last_activity.isoformat(),
            "expires": info.expires_at.isoformat(),
            "ip": info.ip,
            "user_agent": info.user_agent,
            "remembered": info.remembered,
            "device_bound": self.device_bound,
            "device": {
                "label": self.device.label,
                "browser": self.device.browser,
                "os": self.device.os,
                "kind": self.device.kind,
            },
            "location": where.as_json() if where else None,
            "impersonated_by": (
                self.impersonator.get_username() if self.impersonator else None
            ),
        }


def current_public_id(request: HttpRequest) -> str | None:
    """The public id of the request's own session (``None`` if it has none)."""
    public_id = getattr(request.session, "public_id", None)
    return public_id if isinstance(public_id, str) else None


def session_rows(request: HttpRequest) -> list[SessionRow]:
    """The user's live sessions, the request's own first, then by activity."""
    current = current_public_id(request)
    now = timezone.now()
    infos = services.list_user_sessions(request.user)
    impersonators = impersonation.users(info.impersonator_id for info in infos)
    bound = bindings.bound_ids([info.public_id for info in infos])
    rows = [
        SessionRow(
            info=info,
            current=info.public_id == current,
            device=devices.describe(info.user_agent),
            now=now,
            impersonator=impersonators.get(info.impersonator_id or ""),
            device_bound=info.public_id in bound,
        )
        for info in infos
    ]
    rows.sort(key=lambda row: not row.current)  # stable: activity order kept
    return rows


# Ending -------------------------------------------------------------------
def end_own(request: HttpRequest, public_id: str) -> bool | None:
    """End one of the user's sessions: ``None`` when it is not theirs (or
    not live), else whether the request's own session was ended (then the
    user has been signed out). Ending another one may need a recent sign-in
    (``reauth.require``: ``ReauthenticationRequired``)."""
    if public_id != current_public_id(request):
        reauth.require(request)
    ended = services.end_session(
        public_id,
        user=request.user,
        reason=Reason.REVOKED,
        actor=Actor.USER,
        ended_by=request.user,
        request=request,
    )
    if not ended:
        return None
    if public_id == current_public_id(request):
        logout(request)  # the record is gone: this only clears the request
        return True
    return False


def end_others(request: HttpRequest) -> list[SessionInfo]:
    """End the user's other sessions (``reauth.require`` first)."""
    reauth.require(request)
    return services.end_user_sessions(
        request.user,
        except_=request.session,
        reason=Reason.REVOKED,
        actor=Actor.USER,
        ended_by=request.user,
        request=request,
    )


# The page -----------------------------------------------------------------
@never_cache
@login_required
@require_GET
def session_list(request: HttpRequest) -> HttpResponse:
    rows = session_rows(request)
    return render(
        request,
        "sessiontokens/sessions.html",
        {
            "sessions": rows,
            "others": [row for row in rows if not row.current],
        },
    )


def post_only(view: View) -> View:
    """A page reached by a form: a ``GET`` (a bookmarked or typed address)
    gets a small page that says so, with status 405 and ``Allow: POST``,
    instead of an empty 405 a browser shows as broken."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "POST":
            return view(request, *args, **kwargs)
        response = render(request, "sessiontokens/post_only.html", status=405)
        response["Allow"] = "POST"
        return response

    return wrapped


def _signed_out_redirect() -> HttpResponseRedirect:
    target = getattr(settings, "LOGOUT_REDIRECT_URL", None) or settings.LOGIN_URL
    return HttpResponseRedirect(resolve_url(target))


@never_cache
@csrf_protect
@login_required
@post_only
def end_session(request: HttpRequest, public_id: str) -> HttpResponseBase:
    if not tokens.is_public_id(public_id):
        raise Http404
    refused = reauth.confirm(request)
    if refused is not None:
        return refused
    try:
        signed_out = end_own(request, public_id)
    except ReauthenticationRequired:
        return reauth.page(request)
    if signed_out is None:
        raise Http404
    reauth.finish(request)
    if signed_out:
        return _signed_out_redirect()
    messages.success(request, _("That session was signed out."), fail_silently=True)
    return redirect("sessiontokens:list")


@never_cache
@csrf_protect
@login_required
@post_only
def end_other_sessions(request: HttpRequest) -> HttpResponseBase:
    refused = reauth.confirm(request)
    if refused is not None:
        return refused
    try:
        count = len(end_others(request))
    except ReauthenticationRequired:
        return reauth.page(request)
    reauth.finish(request)
    if count:
        text = ngettext(
            "%(count)d other session was signed out.",
            "%(count)d other sessions were signed out.",
            count,
        ) % {"count": count}
    else:
        text = _("There were no other sessions to sign out.")
    messages.success(request, text, fail_silently=True)
    return redirect("sessiontokens:list")
