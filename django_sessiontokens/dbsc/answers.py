"""The answers of the register and refresh endpoints, as Chromium reads
them: 200 with session instructions (and the next challenge), 403 with a
challenge (sign it and try again), 200 ``continue: false`` (the session is
over), and a clear 4xx for what cannot be read."""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control

from django_sessiontokens.core import dbsc_headers as headers
from django_sessiontokens.dbsc import scope
from django_sessiontokens.types import DeviceBinding


def _no_store(response: HttpResponse) -> HttpResponse:
    patch_cache_control(response, no_store=True)
    return response


def instructions(binding: DeviceBinding, cookie_value: str) -> HttpResponse:
    response = JsonResponse({})
    attributes = scope.set_cookie(response, cookie_value)
    response.content = JsonResponse(scope.instructions(binding, attributes)).content
    response[headers.CHALLENGE] = headers.challenge_header(
        binding.challenge, binding.dbsc_id
    )
    return _no_store(response)


def challenge(binding: DeviceBinding) -> HttpResponse:
    response = HttpResponse(status=403)
    response[headers.CHALLENGE] = headers.challenge_header(
        binding.challenge, binding.dbsc_id
    )
    return _no_store(response)


def terminate(dbsc_id: str) -> HttpResponse:
    """Ends the browser's DBSC session (the id comes first: Chromium checks
    it before ``continue``)."""
    return _no_store(JsonResponse({"session_identifier": dbsc_id, "continue": False}))


def error(status: int, message: str) -> HttpResponse:
    return _no_store(JsonResponse({"error": message}, status=status))
