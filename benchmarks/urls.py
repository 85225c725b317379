from __future__ import annotations

from django.urls import path

from benchmarks import views

urlpatterns = [
    path("read/", views.read),
    path("write/", views.write),
    path("login/", views.sign_in),
    path("sessions/", views.list_sessions),
    path("sessions/end/", views.end_sessions),
]
