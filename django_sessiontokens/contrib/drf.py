"""The sessions API for Django REST framework: ``SessionViewSet`` and
``SessionSerializer``, the same fields and rules as ``sessiontokens:api``.

    from rest_framework.routers import DefaultRouter
    from django_sessiontokens.contrib.drf import SessionViewSet

    router = DefaultRouter()
    router.register("sessions", SessionViewSet, basename="sessiontokens-session")

``GET sessions/`` lists the signed-in user's live sessions (the request's
own first, ``views.session_rows``); ``GET sessions/<id>/`` shows one;
``DELETE sessions/<id>/`` ends one of them through
``services.end_session(..., user=request.user)`` (ending the request's own
session signs the user out); ``POST sessions/end-others/`` ends all the
others. Authentication is DRF's ``SessionAuthentication`` (CSRF enforced on
unsafe methods, as DRF does) with ``IsAuthenticated``: no session or an
ended one answers 403, as DRF answers for session authentication. A
malformed id is 400, an id that is not one of the user's live sessions 404,
and storage that does not answer 503 with ``Retry-After``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework import serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from django_sessiontokens import api, reauth, views
from django_sessiontokens.core import tokens
from django_sessiontokens.exceptions import ReauthenticationRequired, StoreUnavailable


class DeviceSerializer(serializers.Serializer):
    label = serializers.CharField()
    browser = serializers.CharField()
    os = serializers.CharField()
    kind = serializers.CharField()


class LocationSerializer(serializers.Serializer):
    city = serializers.CharField(allow_null=True)
    country = serializers.CharField(allow_null=True)
    country_code = serializers.CharField(allow_null=True)


class SessionSerializer(serializers.Serializer):
    """A ``views.SessionRow`` as ``SessionRow.as_json`` shows it (the fields
    are declared for schemas; the values are ``as_json``'s)."""

    id = serializers.CharField()
    current = serializers.BooleanField()
    created = serializers.DateTimeField()
    authenticated = serializers.DateTimeField(allow_null=True)
    last_activity = serializers.DateTimeField()
    expires = serializers.DateTimeField()
    ip = serializers.CharField(allow_null=True)
    user_agent = serializers.CharField()
    remembered = serializers.BooleanField()
    device_bound = serializers.BooleanField()
    device = DeviceSerializer()
    location = LocationSerializer(allow_null=True)
    impersonated_by = serializers.CharField(allow_null=True)

    def to_representation(self, instance: views.SessionRow) -> dict[str, Any]:
        return instance.as_json()


class SessionViewSet(viewsets.ViewSet):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]
    serializer_class = SessionSerializer
    lookup_field = "public_id"
    lookup_value_regex = r"[^/]+"

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, StoreUnavailable):
            return api.unavailable(self.request, exc)
        if isinstance(exc, ReauthenticationRequired):
            return reauth.api_answer(exc)
        return super().handle_exception(exc)

    def _row(self, request: Request, public_id: str) -> views.SessionRow:
        if not tokens.is_public_id(public_id):
            raise ValidationError({"error": "Malformed session id."})
        for row in views.session_rows(_django(request)):
            if row.public_id == public_id:
                return row
        raise NotFound("No such session.")

    def list(self, request: Request) -> Response:
        rows = views.session_rows(_django(request))
        return Response({"sessions": SessionSerializer(rows, many=True).data})

    def retrieve(self, request: Request, public_id: str) -> Response:
        return Response(SessionSerializer(self._row(request, public_id)).data)

    def destroy(self, request: Request, public_id: str) -> Response:
        if not tokens.is_public_id(public_id):
            raise ValidationError({"error": "Malformed session id."})
        signed_out = views.end_own(_django(request), public_id)
        if signed_out is None:
            raise NotFound("No such session.")
        return Response(
            {"id": public_id, "ended": True, "signed_out": signed_out},
            status=status.HTTP_200_OK,
        )

    @action(detail=False, methods=["post"], url_path="end-others")
    def end_others(self, request: Request) -> Response:
        ended = views.end_others(_django(request))
        return Response(
            {"ended": [info.public_id for info in ended], "count": len(ended)}
        )


def _django(request: Request) -> HttpRequest:
    return request._request
