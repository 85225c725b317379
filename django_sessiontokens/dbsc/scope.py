"""What the bound cookie covers (``scope``), the cookie itself and the
session instructions a browser is given. The same exclusions decide what
the browser protects and what the server enforces."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponseBase
from django.urls import reverse

from django_sessiontokens.conf import conf
from django_sessiontokens.types import DeviceBinding


def register_path() -> str:
    return reverse("sessiontokens:dbsc-register")


def refresh_path() -> str:
    return reverse("sessiontokens:dbsc-refresh")


def _url_path(url: str | None) -> str | None:
    if not url:
        return None
    path = urlsplit(str(url)).path or "/"
    path = path if path.startswith("/") else "/" + path
    return None if path == "/" else path


@lru_cache(maxsize=8)
def _excluded(
    static: str | None, media: str | None, extra: tuple[str, ...], urls: Any
) -> tuple[str, ...]:
    found = [static, media, register_path(), refresh_path(), *extra]
    return tuple(dict.fromkeys(path for path in found if path))


def excluded() -> tuple[str, ...]:
    """Paths left out of the bound cookie's scope: static files, media, the
    DBSC endpoints and ``SESSIONTOKENS_DBSC_EXCLUDE``. A path ending in "/"
    covers everything under it."""
    return _excluded(
        _url_path(settings.STATIC_URL),
        _url_path(settings.MEDIA_URL),
        conf.DBSC_EXCLUDE,
        settings.ROOT_URLCONF,
    )


def in_scope(path: str) -> bool:
    """Does the bound cookie have to come with a request for ``path``? The
    browser's own rule: a rule's path matches itself and, ending in "/",
    everything below it."""
    for rule in excluded():
        if path == rule or path.startswith(rule if rule.endswith("/") else rule + "/"):
            return False
    return True


def set_cookie(response: HttpResponseBase, value: str) -> str:
    """Set the bound cookie; returns its attributes exactly as sent, for the
    session instructions (Domain, Path, Secure, HttpOnly, SameSite;
    Expires and Max-Age are left out, as Chromium ignores them there)."""
    name = conf.DBSC_COOKIE_NAME
    response.set_cookie(
        name,
        value,
        max_age=conf.DBSC_COOKIE_AGE,
        path="/",
        secure=True,
        httponly=True,
        samesite="Lax",
    )
    parts = response.cookies[name].OutputString().split("; ")[1:]
    return "; ".join(
        part for part in parts if not part.lower().startswith(("expires=", "max-age="))
    )


def delete_cookie(response: HttpResponseBase) -> None:
    """Expire the bound cookie (same name, path and prefix rules as it was
    set with). A browser holding a DBSC session then refreshes before its
    next request in scope, and that refresh tells it the session is over
    (``continue: false``): without this it would keep its session until the
    bound cookie runs out, minutes later."""
    response.delete_cookie(conf.DBSC_COOKIE_NAME, path="/", samesite="Lax")


def instructions(binding: DeviceBinding, attributes: str) -> dict[str, Any]:
    """The JSON a register or refresh answer carries (PROTOCOL section 3)."""
    origin = conf.DBSC_ORIGIN
    domain = urlsplit(origin).hostname or ""
    return {
        "session_identifier": binding.dbsc_id,
        "refresh_url": refresh_path(),
        "scope": {
            "origin": origin,
            "include_site": False,
            "scope_specification": [
                {"type": "exclude", "domain": domain, "path": path}
                for path in excluded()
            ],
        },
        "credentials": [
            {"type": "cookie", "name": conf.DBSC_COOKIE_NAME, "attributes": attributes}
        ],
    }
