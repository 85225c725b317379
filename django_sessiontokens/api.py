"""The JSON API of the "your sessions" page (``include("django_sessiontokens.urls")``):
the same listing and the same ending as the page (``views``), answered in
JSON, errors included (405, 401, 403 on a failed CSRF check or a needed
re-authentication, 404, and 503 when session storage does not answer)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from django_sessiontokens import reauth
from django_sessiontokens.core import tokens
from django_sessiontokens.exceptions import ReauthenticationRequired, StoreUnavailable
from django_sessiontokens.views import View, end_others, end_own, session_rows


def _error(status: int, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def unavailable(request: HttpRequest, exc: StoreUnavailable) -> JsonResponse:
    """Session storage did not answer: the API answers JSON too (503 with
    ``Retry-After``), logged once, the cookie left alone."""
    exc.log()
    response = _error(
        503,
        _("Session storage is not answering; you have not been signed out. Try again."),
        **{"Retry-After": "5"},
    )
    response._has_been_logged = True  # type: ignore[attr-defined]
    session = getattr(request, "session", None)
    if session is not None:
        # The middleware keeps this response instead of its HTML page.
        session.unavailable = exc
        session.unavailable_response = response
    return response


def _no_response(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


def _csrf_failed(request: HttpRequest) -> bool:
    """Django's own CSRF check (it logs the failure on django.security.csrf);
    the caller answers in JSON instead of the HTML failure page."""
    check = CsrfViewMiddleware(_no_response)
    check.process_request(request)
    return check.process_view(request, _no_response, (), {}) is not None


def api_view(*methods: str) -> Callable[[View], View]:
    """JSON errors for a wrong method (405), no signed-in user (401) and a
    failed CSRF check on unsafe methods (403); never cached."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(
            request: HttpRequest, *args: Any, **kwargs: Any
        ) -> HttpResponseBase:
            if request.method not in methods:
                return _error(405, _("Method not allowed."), Allow=", ".join(methods))
            if not request.user.is_authenticated:
                return _error(401, _("Authentication required."))
            if request.method not in ("GET", "HEAD", "OPTIONS") and _csrf_failed(
                request
            ):
                return _error(
                    403,
                    _(
                        "CSRF verification failed: send the CSRF token in the "
                        "X-CSRFToken header."
                    ),
                )
            return view(request, *args, **kwargs)

        @wraps(view)
        def answering_json(
            request: HttpRequest, *args: Any, **kwargs: Any
        ) -> HttpResponseBase:
            try:
                return wrapped(request, *args, **kwargs)
            except StoreUnavailable as exc:
                return unavailable(request, exc)
            except ReauthenticationRequired as exc:
                return reauth.api_answer(exc)

        return csrf_exempt(never_cache(answering_json))

    return decorator


@api_view("GET")
def api_list(request: HttpRequest) -> HttpResponseBase:
    get_token(request)  # a script that lists can then send the CSRF header
    rows = session_rows(request)
    return JsonResponse({"sessions": [row.as_json() for row in rows]})


@api_view("GET", "DELETE")
def api_session(request: HttpRequest, public_id: str) -> HttpResponseBase:
    if not tokens.is_public_id(public_id):
        return _error(400, _("Malformed session id."))
    not_found = _error(404, _("No such session."))
    if request.method == "GET":
        for row in session_rows(request):
            if row.public_id == public_id:
                return JsonResponse(row.as_json())
        return not_found
    signed_out = end_own(request, public_id)
    if signed_out is None:
        return not_found
    return JsonResponse({"id": public_id, "ended": True, "signed_out": signed_out})


@api_view("POST")
def api_end_others(request: HttpRequest) -> HttpResponseBase:
    ended = end_others(request)
    return JsonResponse(
        {"ended": [info.public_id for info in ended], "count": len(ended)}
    )
