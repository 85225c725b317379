"""The sessions API for django-ninja: ``router``, the same fields and rules
as ``sessiontokens:api``.

    from ninja import NinjaAPI
    from django_sessiontokens.contrib.ninja import router as sessions_router

    api = NinjaAPI()
    api.add_router("/sessions/", sessions_router)

``GET /sessions/`` lists the signed-in user's live sessions (the request's
own first, ``views.session_rows``); ``GET /sessions/{id}`` shows one;
``DELETE /sessions/{id}`` ends one of them through
``services.end_session(..., user=request.user)`` (ending the request's own
session signs the user out); ``POST /sessions/end-others`` ends all the
others. Authentication is ninja's ``django_auth`` (the session cookie, CSRF
checked on unsafe methods): no session or an ended one answers 401, as
ninja does. A malformed id is 400, an id that is not one of the user's live
sessions 404, storage that does not answer 503 with ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from ninja.security import django_auth

from django_sessiontokens import api, reauth, views
from django_sessiontokens.core import tokens
from django_sessiontokens.exceptions import ReauthenticationRequired, StoreUnavailable


class DeviceOut(Schema):
    label: str
    browser: str
    os: str
    kind: str


class LocationOut(Schema):
    city: str | None
    country: str | None
    country_code: str | None


class SessionOut(Schema):
    """``SessionRow.as_json``'s fields; times are its ISO 8601 strings
    (microseconds, ``+00:00``), passed through unchanged."""

    id: str
    current: bool
    created: str
    authenticated: str | None
    last_activity: str
    expires: str
    ip: str | None
    user_agent: str
    remembered: bool
    device_bound: bool
    device: DeviceOut
    location: LocationOut | None = None
    impersonated_by: str | None = None


class SessionList(Schema):
    sessions: list[SessionOut]


class Ended(Schema):
    id: str
    ended: bool
    signed_out: bool


class EndedOthers(Schema):
    ended: list[str]
    count: int


class Error(Schema):
    error: str


router = Router(auth=django_auth, tags=["sessions"])


def _answer(code: int, body: dict[str, Any]) -> Any:
    """django-ninja 1.5+ takes ``Status``; earlier ones a tuple."""
    import ninja

    status = getattr(ninja, "Status", None)
    return (code, body) if status is None else status(code, body)


def _answers_503(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return view(request, *args, **kwargs)
        except StoreUnavailable as exc:
            return api.unavailable(request, exc)
        except ReauthenticationRequired as exc:
            return reauth.api_answer(exc)

    return wrapped


@router.get("/", response=SessionList)
@_answers_503
def list_sessions(request: HttpRequest) -> dict[str, Any]:
    return {"sessions": [row.as_json() for row in views.session_rows(request)]}


# Before "/{public_id}", which would otherwise match "end-others".
@router.post("/end-others", response=EndedOthers)
@_answers_503
def end_others(request: HttpRequest) -> dict[str, Any] | HttpResponse:
    ended = views.end_others(request)
    return {"ended": [info.public_id for info in ended], "count": len(ended)}


@router.get("/{public_id}", response={200: SessionOut, 400: Error, 404: Error})
@_answers_503
def get_session(request: HttpRequest, public_id: str) -> Any:
    if not tokens.is_public_id(public_id):
        return _answer(400, {"error": "Malformed session id."})
    for row in views.session_rows(request):
        if row.public_id == public_id:
            return row.as_json()
    return _answer(404, {"error": "No such session."})


@router.delete("/{public_id}", response={200: Ended, 400: Error, 404: Error})
@_answers_503
def end_session(request: HttpRequest, public_id: str) -> Any:
    if not tokens.is_public_id(public_id):
        return _answer(400, {"error": "Malformed session id."})
    signed_out = views.end_own(request, public_id)
    if signed_out is None:
        return _answer(404, {"error": "No such session."})
    return {"id": public_id, "ended": True, "signed_out": signed_out}
