"""A strict Content-Security-Policy for the browser tests (Django 6.0 has
its own middleware; this one works on every supported Django)."""

from django.http import HttpRequest, HttpResponse

STRICT = "default-src 'self'"


class StrictCSPMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["Content-Security-Policy"] = STRICT
        return response
