"""Database tables: sessions and their device bindings (db and cached_db
engines), the audit trail, the cache generation."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from django_sessiontokens.defaults import USER_AGENT_COLUMN_LENGTH


class Session(models.Model):
    """A session. Holds the SHA-256 of the token's secret, never the token."""

    public_id = models.CharField(_("session id"), max_length=32, primary_key=True)
    #: 64 hex characters, one more for a moving tombstone's mark.
    secret_hash = models.CharField(max_length=72, editable=False)
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
    #: "Keep me signed in": the remembered limits apply (signed in only).
    remembered = models.BooleanField(_("remembered"), default=False)
    #: Incremented on every write; with ``written_at`` it lets a cached copy
    #: be told from newer database state (cached_db engine).
    version = models.BigIntegerField(default=0, editable=False)
    written_at = models.DateTimeField(null=True, blank=True, editable=False)
    #: The pk of the user impersonating ``user`` in this session, if any
    #: (plain text: no constraint, nothing to update when that user goes).
    impersonator_id = models.CharField(  # noqa: DJ001 (None: nobody, as the record)
        _("impersonated by"), max_length=64, null=True, blank=True
    )

    class Meta:
        db_table = "sessiontokens_session"
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["-last_activity"]
        permissions = [("end_session", _("Can end sessions"))]
        indexes = [
            # Partial indexes, one per bound of ``core.policy.Cutoffs``, so
            # that each purge pass walks only the rows its bound can expire
            # (``stores.db_sql``), whatever the statistics say; ``expires_at``
            # last, so that a pass skips the rows the ``expires_at`` pass
            # already removed inside the index.
            # Signed in: the admin list's order.
            models.Index(
                fields=["-last_activity", "public_id", "expires_at"],
                name="sessiontokens_activity",
                condition=models.Q(user__isnull=False),
            ),
            # Signed in, not remembered: the idle limit.
            models.Index(
                fields=["last_activity", "expires_at"],
                name="sessiontokens_idle",
                condition=models.Q(user__isnull=False, remembered=False),
            ),
            # Signed in, not remembered: the absolute limit (never-authenticated
            # rows are not in it, so no plan can take it for the next one's).
            models.Index(
                fields=["authenticated_at", "expires_at"],
                name="sessiontokens_authenticated",
                condition=models.Q(
                    user__isnull=False, authenticated_at__isnull=False, remembered=False
                ),
            ),
            # Remembered ("keep me signed in"): their own idle and absolute
            # limits, so no pass walks the other kind's rows.
            models.Index(
                fields=["last_activity", "expires_at"],
                name="sessiontokens_remembered_idle",
                condition=models.Q(user__isnull=False, remembered=True),
            ),
            models.Index(
                fields=["authenticated_at", "expires_at"],
                name="sessiontokens_remembered",
                condition=models.Q(
                    user__isnull=False, authenticated_at__isnull=False, remembered=True
                ),
            ),
            # Signed in but never authenticated: the absolute limit counts
            # from creation (rare: imported sessions).
            models.Index(
                fields=["created_at", "expires_at"],
                name="sessiontokens_created",
                condition=models.Q(user__isnull=False, authenticated_at__isnull=True),
            ),
            # Anonymous: their own idle limit (``SESSION_COOKIE_AGE``).
            models.Index(
                fields=["last_activity", "expires_at"],
                name="sessiontokens_anonymous",
                condition=models.Q(user__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.public_id


class SessionEvent(models.Model):
    """One lifecycle event of a signed-in session (the audit trail).

    ``public_id`` is plain text, not a foreign key: events outlive sessions.
    """

    class Kind(models.TextChoices):
        CREATED = "created", _("created")
        ROTATED = "rotated", _("rotated")
        ENDED = "ended", _("ended")
        REUSE_DETECTED = "reuse_detected", _("token reuse detected")
        NEW_DEVICE = "new_device", _("sign-in from a new device")
        BOUND = "bound", _("bound to a device")
        BINDING_REFUSED = "binding_refused", _("device binding refused")

    time = models.DateTimeField(_("time"), db_index=True)
    kind = models.CharField(_("event"), max_length=20, choices=Kind.choices)
    public_id = models.CharField(_("session id"), max_length=32, db_index=True)
    previous_public_id = models.CharField(
        _("previous session id"), max_length=32, blank=True, default=""
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="session_events",
        verbose_name=_("user"),
    )
    reason = models.CharField(_("reason"), max_length=32, blank=True, default="")
    actor = models.CharField(_("actor"), max_length=16, blank=True, default="")
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ended by"),
    )
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    #: Browser and OS family ("Firefox/Windows"): what the new-device rule
    #: compares (``devices.family``).
    device = models.CharField(_("device"), max_length=64, blank=True, default="")
    impersonator_id = models.CharField(  # noqa: DJ001 (None: nobody, as the record)
        _("impersonated by"), max_length=64, null=True, blank=True
    )

    class Meta:
        db_table = "sessiontokens_event"
        verbose_name = _("session event")
        verbose_name_plural = _("session events")
        ordering = ["-time", "-id"]

    def __str__(self) -> str:
        return f"{self.public_id} {self.kind}"


class CacheEpoch(models.Model):
    """One row: the generation of the cached_db engine's Redis copies.

    A process that cannot tell Redis about a change (Redis unreachable from
    it), or that finds Redis restarted, moves the generation on; every
    process reads it at most once per ``SESSIONTOKENS_CACHE_CHECK_INTERVAL``
    and trusts only copies made under the current generation.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = models.BigIntegerField(default=0)
    redis_run_id = models.CharField(max_length=64, blank=True, default="")
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "sessiontokens_cache_epoch"
        verbose_name = _("cache generation")
        verbose_name_plural = _("cache generations")

    def __str__(self) -> str:
        return str(self.value)


class DeviceBinding(models.Model):
    """A session's device binding (DBSC): its public key and challenges and
    the hash of its short-lived bound cookie. Keyed by the session's public
    id (not a foreign key: a rotation moves it), changed by compare-and-set
    on ``version``. Never holds a cookie value or a private key."""

    public_id = models.CharField(_("session id"), max_length=32, primary_key=True)
    state = models.CharField(_("state"), max_length=16)
    created_at = models.DateTimeField(_("created"))
    dbsc_id = models.CharField(max_length=64, blank=True, default="")
    algorithm = models.CharField(_("algorithm"), max_length=8, blank=True, default="")
    jwk = models.TextField(blank=True, default="", editable=False)
    challenge = models.CharField(max_length=64, blank=True, default="", editable=False)
    challenge_at = models.DateTimeField(null=True, blank=True, editable=False)
    previous_challenge = models.CharField(
        max_length=64, blank=True, default="", editable=False
    )
    previous_challenge_at = models.DateTimeField(null=True, blank=True, editable=False)
    cookie_hash = models.CharField(
        max_length=64, blank=True, default="", editable=False
    )
    cookie_expires = models.DateTimeField(null=True, blank=True, editable=False)
    previous_cookie_hash = models.CharField(
        max_length=64, blank=True, default="", editable=False
    )
    previous_cookie_until = models.DateTimeField(null=True, blank=True, editable=False)
    bound_at = models.DateTimeField(_("bound"), null=True, blank=True)
    refreshed_at = models.DateTimeField(_("refreshed"), null=True, blank=True)
    reoffer = models.BooleanField(default=False, editable=False)
    version = models.BigIntegerField(default=0, editable=False)

    class Meta:
        db_table = "sessiontokens_device_binding"
        verbose_name = _("device binding")
        verbose_name_plural = _("device bindings")

    def __str__(self) -> str:
        return f"{self.public_id} {self.state}"
