"""URLs of the DRF and django-ninja tests: the test site plus a DRF view
and a ninja endpoint that need a signed-in user, and the contrib sessions
APIs of both."""

from django.urls import include, path
from ninja import NinjaAPI
from ninja.security import django_auth
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from django_sessiontokens.contrib.drf import SessionViewSet
from django_sessiontokens.contrib.ninja import router as sessions_router


class Me(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"user": request.user.get_username()})

    def post(self, request):
        request.session["posted"] = request.data.get("value")
        return Response({"user": request.user.get_username(), "saved": True})


drf_router = SimpleRouter()
drf_router.register("sessions", SessionViewSet, basename="sessiontokens-session")

api = NinjaAPI(urls_namespace="ninja-tests")
api.add_router("/sessions/", sessions_router)


@api.get("/me", auth=django_auth)
def ninja_me(request):
    return {"user": request.user.get_username()}


@api.post("/me", auth=django_auth)
def ninja_post(request):
    request.session["posted"] = "1"
    return {"user": request.user.get_username(), "saved": True}


urlpatterns = [
    path("drf/me/", Me.as_view()),
    path("drf/", include(drf_router.urls)),
    path("ninja/", api.urls),
    path("", include("tests.urls")),
]
