from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from tests import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("sessions/", include("django_sessiontokens.urls")),
    path("hijack/", include("hijack.urls")),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("remember-login/", views.RememberLoginView.as_view()),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(success_url="/whoami/"),
        name="password_change",
    ),
    path("whoami/", views.whoami, name="whoami"),
    path("messages/", views.messages_shown),
    path("awhoami/", views.awhoami, name="awhoami"),
    path("set/", views.set_value, name="set"),
    path("get/", views.get_value, name="get"),
    path("expire-at-browser-close/", views.expire_at_browser_close),
    path("set-and-save/", views.set_and_save),
    path("plain/", views.plain, name="plain"),
    path("sign-in/", views.sign_in, name="sign-in"),
    path("async-sign-in/", views.async_sign_in),
    path("end-then-write/", views.end_then_write),
    path("end-then-read/", views.end_then_read),
    path("in-flight/", views.in_flight),
    path("rotate/", views.rotate_now),
    path("sign-in-then-redirect/", views.sign_in_then_redirect),
    path("bound/", views.bound),
    path("static/app.css", views.bound),
]
