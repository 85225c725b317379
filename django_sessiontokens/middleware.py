"""``SessionTokenMiddleware``: Django's ``SessionMiddleware``, in its place,
with strict tokens, server-side expiry, touch-interval writes and client
recording. Sync and async capable (``MiddlewareMixin``)."""

from __future__ import annotations

import contextvars
import time
from typing import Any

from django.conf import settings
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import http_date

from django_sessiontokens import client
from django_sessiontokens.backends.base import TokenSessionStore
from django_sessiontokens.conf import conf
from django_sessiontokens.exceptions import UpdateError

#: The session of the request being handled (read by receivers that run
#: inside a request without being given it, e.g. on a password change).
current_session: contextvars.ContextVar[TokenSessionStore | None] = (
    contextvars.ContextVar("sessiontokens_current_session", default=None)
)


class SessionTokenMiddleware(SessionMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        value = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        session = self.SessionStore(value)
        request.session = session
        if not isinstance(session, TokenSessionStore):
            return
        if value and session.session_key is None:
            session.rejected = "malformed"
        session.request = request
        session.client_ip = client.recorded_ip(client.client_ip(request))
        session.client_user_agent = client.recorded_user_agent(request)
        current_session.set(session)

    def process_response(  # type: ignore[override]
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        session: Any = getattr(request, "session", None)
        if not isinstance(session, TokenSessionStore):
            return super().process_response(request, response)  # type: ignore[arg-type]
        current_session.set(None)
        cookie_name = settings.SESSION_COOKIE_NAME
        accessed, modified, empty = (
            session.accessed,
            session.modified,
            session.is_empty(),
        )
        if cookie_name in request.COOKIES and empty:
            self._delete_cookie(response)
            need_vary = True
        else:
            need_vary = accessed
            refresh = False
            if response.status_code < 500 and not empty:
                if modified or settings.SESSION_SAVE_EVERY_REQUEST:
                    try:
                        session.save()
                    except UpdateError as exc:
                        raise SessionInterrupted(
                            "The request's session was ended before the request "
                            "completed. The user may have signed out in a "
                            "concurrent request, for example."
                        ) from exc
                    refresh = True
                elif accessed:
                    try:
                        refresh = session.touch()
                    except UpdateError:
                        # Ended while this read-only request ran.
                        self._delete_cookie(response)
                        need_vary = True
            if refresh and session.session_key:
                self._set_cookie(response, session)
                need_vary = True
        if need_vary:
            patch_vary_headers(response, ("Cookie",))
        return response

    def _set_cookie(
        self, response: HttpResponseBase, session: TokenSessionStore
    ) -> None:
        if session.get_expire_at_browser_close():
            max_age = None
            expires = None
        else:
            max_age = session.get_expiry_age()
            expires = http_date(time.time() + max_age)
        response.set_cookie(
            settings.SESSION_COOKIE_NAME,
            session.session_key or "",
            max_age=max_age,
            expires=expires,
            domain=settings.SESSION_COOKIE_DOMAIN,
            path=settings.SESSION_COOKIE_PATH,
            secure=settings.SESSION_COOKIE_SECURE or None,  # type: ignore[arg-type]
            httponly=settings.SESSION_COOKIE_HTTPONLY or None,  # type: ignore[arg-type]
            samesite=settings.SESSION_COOKIE_SAMESITE,
        )
        # A response that carries a session token must never be cached.
        patch_cache_control(response, no_store=True)

    def _delete_cookie(self, response: HttpResponseBase) -> None:
        response.delete_cookie(
            settings.SESSION_COOKIE_NAME,
            path=settings.SESSION_COOKIE_PATH,
            domain=settings.SESSION_COOKIE_DOMAIN,
            samesite=settings.SESSION_COOKIE_SAMESITE,
        )
        if conf.CLEAR_SITE_DATA_ON_LOGOUT and isinstance(response, HttpResponse):
            response["Clear-Site-Data"] = '"cookies"'
