import threading

from asgiref.sync import sync_to_async
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user,
    get_user_model,
    login,
)
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.views.decorators.csrf import csrf_exempt

import django_sessiontokens
from django_sessiontokens import services
from django_sessiontokens.forms import RememberMeFormMixin


def messages_shown(request):
    """Who is signed in (loads the session), then the messages for this page."""
    from django.contrib.messages import get_messages

    signed_in = request.user.is_authenticated
    return JsonResponse(
        {"signed_in": signed_in, "messages": [str(m) for m in get_messages(request)]}
    )


def whoami(request):
    user = request.user
    return JsonResponse(
        {
            "user": user.get_username() if user.is_authenticated else None,
            "public_id": getattr(request.session, "public_id", None),
        }
    )


async def awhoami(request):
    auser = getattr(request, "auser", None)  # Django 5.0+
    user = await auser() if auser else await sync_to_async(get_user)(request)
    return JsonResponse(
        {"user": user.get_username() if user.is_authenticated else None}
    )


@csrf_exempt
def set_value(request):
    request.session[request.GET.get("key", "k")] = request.GET.get("value", "v")
    return HttpResponse("ok")


@csrf_exempt
def set_and_save(request):
    """Saves the session itself, then changes it again: two saves."""
    request.session["first"] = "1"
    request.session.save()
    request.session["second"] = "2"
    return HttpResponse("ok")


def expire_at_browser_close(request):
    request.session.set_expiry(0)
    return HttpResponse("ok")


def get_value(request):
    return JsonResponse({"value": request.session.get(request.GET.get("key", "k"))})


def plain(request):
    return HttpResponse("plain")


@csrf_exempt
def sign_in(request):
    """``?remember=1`` / ``0`` marks the sign-in remembered or not, before
    ``login()`` (``?remember_after=``: after it)."""
    from django_sessiontokens import remember

    user = get_user_model().objects.get(username=request.GET["username"])
    if "remember" in request.GET:
        remember(request, request.GET["remember"] == "1")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    if "remember_after" in request.GET:
        remember(request, request.GET["remember_after"] == "1")
    return HttpResponse("signed in")


async def async_sign_in(request):
    """``sign_in`` for an async view: ``aremember`` before the sign-in (it
    loads the session, which an async view may not do synchronously)."""
    from asgiref.sync import sync_to_async

    from django_sessiontokens import aremember

    user = await get_user_model().objects.aget(username=request.GET["username"])
    await aremember(request, request.GET.get("remember") == "1")
    await sync_to_async(login)(
        request, user, backend="django.contrib.auth.backends.ModelBackend"
    )
    return HttpResponse("signed in")


def end_then_write(request):
    """A concurrent logout ends the session while this request still runs."""
    request.session.get("anything")
    services.end_session(request.session.public_id)
    request.session["x"] = 1
    return HttpResponse("written")


def end_then_read(request):
    request.session.get("anything")
    services.end_session(request.session.public_id)
    return HttpResponse("read")


class InFlight:
    """A barrier inside a request, between its load and its save: the view
    sets ``reached`` and waits for ``release`` (set by the test)."""

    reached = threading.Event()
    release = threading.Event()

    @classmethod
    def reset(cls):
        cls.reached.clear()
        cls.release.clear()

    @classmethod
    def pause(cls):
        cls.reached.set()
        if not cls.release.wait(10):
            raise RuntimeError("the test never released the request")


@csrf_exempt
def in_flight(request):
    """``kind``: ``rotate`` (a privilege change), ``binding`` (rotated at
    load by ``SESSIONTOKENS_ON_IP_CHANGE = "rotate"``) or ``sign-in`` (a user
    written into an anonymous session without ``cycle_key``); ``when``: the
    barrier comes ``before`` or ``after`` the rotation step."""
    kind, when = request.GET["kind"], request.GET.get("when", "after")
    request.session.get("anything")  # loads (the binding rotation happens here)
    if when == "before":
        InFlight.pause()
    if kind == "rotate":
        django_sessiontokens.rotate(request)
    elif kind == "sign-in":
        user = get_user_model().objects.get(username=request.GET["username"])
        request.session[SESSION_KEY] = str(user.pk)
        request.session[BACKEND_SESSION_KEY] = (
            "django.contrib.auth.backends.ModelBackend"
        )
        request.session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if when == "after":
        InFlight.pause()
    request.session["touched"] = True
    return HttpResponse("done")


class RememberForm(RememberMeFormMixin, AuthenticationForm):
    pass


class RememberLoginView(LoginView):
    """Django's login view with a "keep me signed in" box."""

    form_class = RememberForm
    next_page = "/whoami/"


@csrf_exempt
def rotate_now(request):
    """A privilege change: the session gets a new token at once."""
    request.session.get("anything")
    django_sessiontokens.rotate(request)
    return HttpResponse("rotated")


@csrf_exempt
def sign_in_then_redirect(request):
    user = get_user_model().objects.get(username=request.GET["username"])
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponseRedirect("/whoami/")


def bound(request):
    return JsonResponse(
        {
            "user": request.user.get_username()
            if request.user.is_authenticated
            else None,
            "bound": django_sessiontokens.device_bound(request),
        }
    )
