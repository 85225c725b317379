"""``include("django_sessiontokens.urls")``: the "your sessions" page and its
JSON API, and the device-bound session (DBSC) endpoints. The names
(namespace ``sessiontokens``) are part of the public contract."""

from __future__ import annotations

from django.urls import path

from django_sessiontokens import api, views
from django_sessiontokens.dbsc import views as dbsc_views

app_name = "sessiontokens"

urlpatterns = [
    path("", views.session_list, name="list"),
    path("dbsc/register/", dbsc_views.register, name="dbsc-register"),
    path("dbsc/refresh/", dbsc_views.refresh, name="dbsc-refresh"),
    path("end-others/", views.end_other_sessions, name="end-others"),
    path("<str:public_id>/end/", views.end_session, name="end"),
    path("api/", api.api_list, name="api"),
    path("api/end-others/", api.api_end_others, name="api-end-others"),
    path("api/<str:public_id>/", api.api_session, name="api-session"),
]
