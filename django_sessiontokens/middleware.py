"""``SessionTokenMiddleware``: Django's ``SessionMiddleware``, in its place,
with strict tokens, server-side expiry, touch-interval writes and client
recording. Sync and async capable (``MiddlewareMixin``)."""

from __future__ import annotations

import contextvars
import logging
import time
from types import TracebackType
from typing import Any

from django.conf import settings
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import http_date

from django_sessiontokens import client
from django_sessiontokens.backends.base import TokenSessionStore
from django_sessiontokens.backends.bound import UNBOUND
from django_sessiontokens.conf import conf
from django_sessiontokens.dbsc import enforcement
from django_sessiontokens.exceptions import (
    DATABASE_ERRORS,
    StaleCopy,
    StoreUnavailable,
    UpdateError,
)
from django_sessiontokens.services import guessing
from django_sessiontokens.types import Reason, RequestContext

logger = logging.getLogger("django_sessiontokens")

#: Code that loads or saves a session, and that loads the user it names: a
#: database error raised through it is answered 503, like an unreachable
#: Redis (a view's own queries are the view's business).
SESSION_PACKAGES = ("django_sessiontokens.", "django.contrib.sessions.")
USER_LOADERS = frozenset(
    (
        "django.contrib.auth",
        "django.contrib.auth.backends",
        "django.contrib.auth.middleware",
    )
)

#: The session of the request being handled (read by receivers that run
#: inside a request without being given it, e.g. on a password change).
current_session: contextvars.ContextVar[TokenSessionStore | None] = (
    contextvars.ContextVar("sessiontokens_current_session", default=None)
)


class SessionTokenMiddleware(SessionMiddleware):
    def process_request(self, request: HttpRequest) -> HttpResponse | None:  # type: ignore[override]
        value = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        session = self.SessionStore(value)
        request.session = session
        if not isinstance(session, TokenSessionStore):
            return None
        if value and session.session_key is None:
            session.rejected = "malformed"
        address = client.client_ip(request)
        session.context = RequestContext(
            request=request,
            address=address,
            ip=client.recorded_ip(address),
            user_agent=client.recorded_user_agent(request),
        )
        current_session.set(session)
        if value and guessing.is_blocked(address):
            return guessing.too_many_requests()
        return None

    def process_response(  # type: ignore[override]
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        session: Any = getattr(request, "session", None)
        if not isinstance(session, TokenSessionStore):
            return super().process_response(request, response)  # type: ignore[arg-type]
        current_session.set(None)
        unavailable = getattr(session, "unavailable", None)
        if unavailable is not None:
            return self._unavailable(request, unavailable, response)
        if session.rejected in guessing.COUNTED:
            guessing.note_invalid(session.context.address, request)
        cookie_name = settings.SESSION_COOKIE_NAME
        accessed, modified, empty = (
            session.accessed,
            session.modified,
            session.is_empty(),
        )
        if empty and session.rejected == UNBOUND and not modified:
            # Bound, without its bound cookie: served as signed out, but
            # the session and its cookie stay (the device refreshes).
            need_vary = True
        elif cookie_name in request.COOKIES and empty:
            self._delete_cookie(response)
            enforcement.forget(request, response)
            if (
                conf.CLEAR_SITE_DATA_ON_LOGOUT
                and session.context.end_reason == Reason.LOGOUT.value
            ):
                # Only on sign-out: an expired or refused cookie must not wipe
                # the site's other cookies.
                response["Clear-Site-Data"] = '"cookies"'
            need_vary = True
        else:
            need_vary = accessed
            refresh = False
            if response.status_code < 500 and not empty:
                if modified or settings.SESSION_SAVE_EVERY_REQUEST:
                    try:
                        session.save()
                    except StaleCopy:
                        # cached_db refused a write computed from a copy older
                        # than the database: nothing was saved; try again.
                        return self._unavailable(
                            request,
                            StoreUnavailable(
                                "The session cache was behind the database; "
                                "nothing was saved",
                                alias="cached_db",
                            ),
                        )
                    except UpdateError as exc:
                        raise SessionInterrupted(
                            "The request's session was ended before the request "
                            "completed. The user may have signed out in a "
                            "concurrent request, for example."
                        ) from exc
                    except StoreUnavailable as exc:
                        return self._unavailable(request, exc)
                    except DATABASE_ERRORS as exc:
                        return self._unavailable(
                            request, StoreUnavailable.from_database(exc)
                        )
                    # Not when only the data changed and the expiry (hence
                    # the cookie's Max-Age) did not move.
                    refresh = session.cookie_due or settings.SESSION_SAVE_EVERY_REQUEST
                elif accessed:
                    try:
                        refresh = session.touch()
                    except UpdateError:
                        # Ended while this read-only request ran.
                        self._delete_cookie(response)
                        need_vary = True
                    except StoreUnavailable as exc:
                        # The page was served; only last activity is lost.
                        exc.log()
                    except DATABASE_ERRORS as exc:
                        StoreUnavailable.from_database(exc).log()
            if refresh and session.session_key:
                self._set_cookie(response, session)
                need_vary = True
        if conf.DBSC and response.status_code < 500:
            enforcement.finish(request, response, session)
        if need_vary:
            patch_vary_headers(response, ("Cookie",))
        return response

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponseBase | None:
        if isinstance(exception, StoreUnavailable):
            return self._unavailable(request, exception)
        if isinstance(exception, DATABASE_ERRORS) and _through_session_code(
            exception.__traceback__
        ):
            return self._unavailable(request, StoreUnavailable.from_database(exception))
        return None

    def _unavailable(
        self,
        request: HttpRequest,
        exc: StoreUnavailable,
        response: HttpResponseBase | None = None,
    ) -> HttpResponseBase:
        """503 when session storage does not answer: logged once, the cookie
        left as it is (neither deleted nor re-sent), nothing saved."""
        session: Any = getattr(request, "session", None)
        previous: object = getattr(session, "unavailable_response", None)
        if response is not None and response is previous:
            return response
        exc.log()
        body: str
        try:
            body = render_to_string("sessiontokens/503.html", {"error": exc})
        except TemplateDoesNotExist:
            body = "Service unavailable: session storage is not answering."
        made = HttpResponse(body, status=503)
        made["Retry-After"] = "5"
        # Logged above with the cause; keep django.request from logging it again.
        made._has_been_logged = True  # type: ignore[attr-defined]
        patch_cache_control(made, no_store=True)
        patch_vary_headers(made, ("Cookie",))
        if session is not None:
            session.unavailable = exc
            session.unavailable_response = made
        return made

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


def _through_session_code(tb: TracebackType | None) -> bool:
    """Whether the exception was raised while loading or saving a session
    (or the user it names), not by the view's own queries."""
    while tb is not None:
        name = tb.tb_frame.f_globals.get("__name__", "")
        if isinstance(name, str) and (
            name.startswith(SESSION_PACKAGES) or name in USER_LOADERS
        ):
            return True
        tb = tb.tb_next
    return False
