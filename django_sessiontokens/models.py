"""Database tables: sessions (db and cached_db engines)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from django_sessiontokens.conf import USER_AGENT_COLUMN_LENGTH


class Session(models.Model):
    """A session. Holds the SHA-256 of the token's secret, never the token."""

    public_id = models.CharField(_("session id"), max_length=32, primary_key=True)
    secret_hash = models.CharField(max_length=64, editable=False)
    retired_hashes = models.TextField(blank=True, default="", editable=False)
    rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    sealed_secret = models.CharField(
        max_length=64, blank=True, default="", editable=False
    )
    data = models.TextField(blank=True, default="", editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="session_tokens",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(_("created"))
    authenticated_at = models.DateTimeField(_("signed in"), null=True, blank=True)
    last_activity = models.DateTimeField(_("last activity"))
    expires_at = models.DateTimeField(_("expires"), db_index=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(
        _("user agent"), max_length=USER_AGENT_COLUMN_LENGTH, blank=True, default=""
    )

    class Meta:
        db_table = "sessiontokens_session"
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["-last_activity"]
        permissions = [("end_session", _("Can end sessions"))]

    def __str__(self) -> str:
        return self.public_id
