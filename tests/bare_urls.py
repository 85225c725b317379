"""A URLconf without this app's URLs (check E036)."""

urlpatterns: list = []
