"""The home page: who is signed in, and this session as the server sees it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from django_sessiontokens import device_bound, devices, services
from django_sessiontokens.views import SessionRow


def home(request: HttpRequest) -> HttpResponse:
    row = None
    signed_in = request.user.is_authenticated  # loads the session
    record = getattr(request.session, "record", None)
    if signed_in and record is not None:
        now = timezone.now()
        row = SessionRow(
            info=services.info(record, now),
            current=True,
            device=devices.describe(record.user_agent),
            now=now,
        )
    context = {"row": row, "bound": signed_in and device_bound(request)}
    return render(request, "demo/home.html", context)
