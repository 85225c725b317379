"""A site that does not include the "your sessions" URLs (check W015)."""

from django.urls import path

from tests import views

urlpatterns = [path("whoami/", views.whoami)]
