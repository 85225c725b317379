from __future__ import annotations

from django.conf import settings
from django.urls import include, path

from benchmarks import views

urlpatterns = [
    path("read/", views.read),
    path("write/", views.write),
    path("login/", views.sign_in),
    path("sessions/", views.list_sessions),
    path("sessions/end/", views.end_sessions),
]
if "django_sessiontokens" in settings.INSTALLED_APPS:
    urlpatterns.append(path("st/", include("django_sessiontokens.urls")))
