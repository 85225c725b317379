from asgiref.sync import sync_to_async
from django.contrib.auth import get_user, get_user_model, login
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from django_sessiontokens import services


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
    user = get_user_model().objects.get(username=request.GET["username"])
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
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
