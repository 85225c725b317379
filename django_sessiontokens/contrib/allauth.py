"""django-allauth headless: app sessions (``X-Session-Token``) that are
touched and rotated like cookie sessions.

allauth headless loads an app client's session itself
(``SessionStore(token)``), outside ``SessionTokenMiddleware``, and saves it
only when its data changed: its last activity would never move (the session
idles out while the app is in use) and a periodic rotation could never reach
the app. With this strategy

    HEADLESS_TOKEN_STRATEGY = (
        "django_sessiontokens.contrib.allauth.SessionTokenStrategy"
    )

each app request loads the session once (strict, with expiry, the client's
address and user agent recorded as for a page), writes last activity at most
once per touch interval and carries out a due rotation; when the token
changed (a rotation, or a previous token within its grace window) allauth
returns the new one in ``meta.session_token``, as it does after a sign-in.
Check ``sessiontokens.W007`` warns when app clients are served without it.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from allauth.core import context
from allauth.headless.tokens.strategies.sessions import (
    SessionTokenStrategy as AllauthSessionTokenStrategy,
)
from django.conf import settings
from django.contrib.auth import SESSION_KEY

from django_sessiontokens import client
from django_sessiontokens.backends.base import TokenSessionStore
from django_sessiontokens.exceptions import UpdateError
from django_sessiontokens.types import RequestContext


class SessionTokenStrategy(AllauthSessionTokenStrategy):  # type: ignore[misc]
    def lookup_session(self, session_token: str) -> Any:
        engine = import_module(settings.SESSION_ENGINE)
        session = engine.SessionStore(session_token)
        if not isinstance(session, TokenSessionStore):
            return super().lookup_session(session_token)
        request = context.request
        if request is not None:
            address = client.client_ip(request)
            session.context = RequestContext(
                request=request,
                address=address,
                ip=client.recorded_ip(address),
                user_agent=client.recorded_user_agent(request),
            )
        session.get(SESSION_KEY)  # one load: strict rules and expiry
        if session.session_key is None:
            return None
        try:
            session.touch()
        except UpdateError:  # ended while this request ran
            return None
        if session.session_key != session_token:
            # allauth sends a modified session's new key to the app, and
            # saves it at the end of the request.
            session.modified = True
        return session
