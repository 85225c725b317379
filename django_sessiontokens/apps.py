from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SessionTokensConfig(AppConfig):
    name = "django_sessiontokens"
    label = "sessiontokens"
    verbose_name = _("Sessions")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_sessiontokens import checks, receivers

        receivers.connect()
        checks.register()
