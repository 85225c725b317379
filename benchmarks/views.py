"""The views the request benchmarks call. Each touches the session the way
a real page does, through ``request.user`` and ``request.session``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import SESSION_KEY, get_user_model, login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

BACKEND = "django.contrib.auth.backends.ModelBackend"


def read(request: HttpRequest) -> HttpResponse:
    """An authenticated page that only reads the session."""
    user: Any = request.user
    return HttpResponse(f"{user.pk} {request.session.get('counter', 0)}")


def write(request: HttpRequest) -> HttpResponse:
    """An authenticated page that changes the session."""
    user: Any = request.user
    request.session["counter"] = request.session.get("counter", 0) + 1
    return HttpResponse(f"{user.pk} {request.session['counter']}")


def sign_in(request: HttpRequest) -> HttpResponse:
    """``login()`` for a known user (no password hashing: that is not the
    session's cost)."""
    user = get_user_model().objects.get(pk=request.GET["uid"])
    login(request, user, backend=BACKEND)
    return HttpResponse("signed in")


def list_sessions(request: HttpRequest) -> JsonResponse:
    """The signed-in user's sessions."""
    return JsonResponse({"sessions": _user_session_ids(request)})


def end_sessions(request: HttpRequest) -> JsonResponse:
    """End the signed-in user's other sessions."""
    if _ours(request):
        from django_sessiontokens import services

        ended = services.end_user_sessions(
            request.user, except_=request.session, actor=services.Actor.USER
        )
        return JsonResponse({"ended": len(ended)})
    # Django has no API for this: find them by scanning, then delete each.
    engine = type(request.session)
    current = request.session.session_key
    keys = [key for key in _user_session_ids(request) if key != current]
    for key in keys:
        engine().delete(key)
    return JsonResponse({"ended": len(keys)})


def _ours(request: HttpRequest) -> bool:
    return hasattr(request.session, "public_id")


def _user_session_ids(request: HttpRequest) -> list[str]:
    if _ours(request):
        from django_sessiontokens import services

        return [info.public_id for info in services.list_user_sessions(request.user)]
    return _scan(request, str(request.user.pk))


def _scan(request: HttpRequest, user_id: str) -> list[str]:
    """The usual way with Django's engines: read every session, decode it,
    keep the user's."""
    session: Any = request.session
    if not hasattr(session, "get_model_class"):  # the cache engine
        from django.conf import settings
        from django.core.cache import caches

        cache: Any = caches[settings.SESSION_CACHE_ALIAS]
        prefix = session.cache_key_prefix
        found = []
        keys = list(cache.iter_keys(prefix + "*", itersize=2000))
        for start in range(0, len(keys), 2000):
            chunk = cache.get_many(keys[start : start + 2000])
            found += [
                key[len(prefix) :]
                for key, data in chunk.items()
                if str(data.get(SESSION_KEY)) == user_id
            ]
        return found
    model = session.get_model_class()
    rows = (
        model.objects.filter(expire_date__gt=timezone.now())
        .values_list("session_key", "session_data")
        .iterator(chunk_size=2000)
    )
    decode = session.decode
    return [key for key, data in rows if str(decode(data).get(SESSION_KEY)) == user_id]
