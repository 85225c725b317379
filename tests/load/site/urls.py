"""Sign in, increment a counter in the session, read the session: JSON."""

from __future__ import annotations

from django.contrib.auth import get_user_model, login
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


def health(request: HttpRequest) -> JsonResponse:
    """No session: tells the server is up."""
    return JsonResponse({"ok": True})


def sign_in(request: HttpRequest) -> JsonResponse:
    user = get_user_model().objects.get(username=request.GET["username"])
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return JsonResponse({"user": user.username})


def _user(request: HttpRequest) -> str | None:
    return request.user.username if request.user.is_authenticated else None


@csrf_exempt
@require_POST
def increment(request: HttpRequest) -> JsonResponse:
    """Adds one to ``n`` in the session; 200 means it is saved."""
    user = _user(request)
    if user is None:
        return JsonResponse({"user": None})
    n = request.session.get("n", 0) + 1
    request.session["n"] = n
    return JsonResponse({"user": user, "n": n})


def page(request: HttpRequest) -> JsonResponse:
    """Reads the session only."""
    return JsonResponse({"user": _user(request), "n": request.session.get("n", 0)})


urlpatterns = [
    path("health/", health),
    path("sign-in/", sign_in),
    path("increment/", increment),
    path("page/", page),
]
