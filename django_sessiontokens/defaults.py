"""What each setting is worth when it is not set: the defaults, the presets
of ``SESSIONTOKENS_PROFILE``, and the values the settings accept (names
without the ``SESSIONTOKENS_`` prefix). ``conf`` reads them; the system
checks and the settings reference are compared with them."""

from __future__ import annotations

from typing import Any

#: Presets from the standards (seconds). ``None`` means "no limit". The
#: timeouts are the standards' upper bounds (NIST SP 800-63B-4 section 2,
#: OWASP ASVS 4.0.3 V3.3.2). The standards set no rotation interval: the
#: presets rotate once per inactivity period (daily without one), so no token
#: outlives an idle window unchanged. The standards' bounds hold for every
#: session at that level, so under a profile a remembered session ("keep me
#: signed in") keeps the same limits: it only gets a persistent cookie.
PROFILES: dict[str, dict[str, Any]] = {
    # AAL1: overall SHOULD be <= 30 days; an inactivity timeout is optional.
    "nist-aal1": {
        "IDLE_TIMEOUT": None,
        "ABSOLUTE_TIMEOUT": 30 * 86400,
        "ROTATE_INTERVAL": 86400,
        "REMEMBERED_IDLE_TIMEOUT": None,
        "REMEMBERED_ABSOLUTE_TIMEOUT": 30 * 86400,
    },
    # AAL2: overall SHOULD be <= 24 hours, inactivity SHOULD be <= 1 hour.
    "nist-aal2": {
        "IDLE_TIMEOUT": 3600,
        "ABSOLUTE_TIMEOUT": 86400,
        "ROTATE_INTERVAL": 3600,
        "REMEMBERED_IDLE_TIMEOUT": 3600,
        "REMEMBERED_ABSOLUTE_TIMEOUT": 86400,
    },
    # AAL3: overall SHALL be <= 12 hours, inactivity SHOULD be <= 15 minutes.
    "nist-aal3": {
        "IDLE_TIMEOUT": 15 * 60,
        "ABSOLUTE_TIMEOUT": 12 * 3600,
        "ROTATE_INTERVAL": 15 * 60,
        "REMEMBERED_IDLE_TIMEOUT": 15 * 60,
        "REMEMBERED_ABSOLUTE_TIMEOUT": 12 * 3600,
    },
    # OWASP ASVS 4.0.3 3.3.2, level 2: 12 hours or 30 minutes of inactivity.
    "asvs-l2": {
        "IDLE_TIMEOUT": 30 * 60,
        "ABSOLUTE_TIMEOUT": 12 * 3600,
        "ROTATE_INTERVAL": 30 * 60,
        "REMEMBERED_IDLE_TIMEOUT": 30 * 60,
        "REMEMBERED_ABSOLUTE_TIMEOUT": 12 * 3600,
    },
}

DEFAULTS: dict[str, Any] = {
    "IDLE_TIMEOUT": 3600,
    "ABSOLUTE_TIMEOUT": 86400,
    "TOUCH_INTERVAL": 60,
    # "Keep me signed in" (NIST SP 800-63B-4 AAL1: no inactivity limit, 30 days).
    "REMEMBERED_IDLE_TIMEOUT": None,
    "REMEMBERED_ABSOLUTE_TIMEOUT": 30 * 86400,
    "REAUTH_TO_END_SESSIONS": None,
    "RECORD_IP": "full",
    "USER_AGENT_MAX_LENGTH": 512,
    "REDIS_CACHE": "default",
    "REDIS_CLIENT": None,
    "REDIS_KEY_PREFIX": "sessiontokens",
    "CACHE_TIMEOUT": 300,
    "CACHE_CHECK_INTERVAL": 2,
    "CHANNELS_CHECK_INTERVAL": 3,
    "ROTATE_INTERVAL": None,
    "ROTATION_GRACE": 30,
    "MAX_SESSIONS_PER_USER": None,
    "LIMIT_POLICY": "evict_oldest",
    "ON_IP_CHANGE": "signal",
    "ON_UA_CHANGE": "signal",
    "TRUSTED_PROXIES": 0,
    "INVALID_TOKEN_LIMIT": None,
    "INVALID_TOKEN_WINDOW": 60,
    "INVALID_TOKEN_BLOCK": False,
    "CLEAR_SITE_DATA_ON_LOGOUT": False,
    "AUDIT": True,
    "AUDIT_RETENTION": 90 * 86400,
    "PURGE_SEND_SIGNALS": False,
    "PURGE_BATCH_SIZE": None,
    "ACCEPT_IMPORTED": False,
    "PROFILE": None,
    "NEW_DEVICE_ALERT": False,
    "NEW_DEVICE_WINDOW": 30 * 86400,
    "GEOIP": None,
    "IMPERSONATOR_SESSION_KEY": "hijack_history",
    "DBSC": False,
    "DBSC_ORIGIN": None,
    "DBSC_COOKIE_NAME": "__Host-sessiontokens-bound",
    "DBSC_COOKIE_AGE": 600,
    "DBSC_CHALLENGE_AGE": 1200,
    "DBSC_EXCLUDE": [],
    "DBSC_ON_SKIPPED": "signed_out",
    "DBSC_ON_ANOMALY": "signal",
}

#: The user-agent column's size; USER_AGENT_MAX_LENGTH may not exceed it.
USER_AGENT_COLUMN_LENGTH = 512

RECORD_IP_CHOICES = ("full", "truncated", "none")
BINDING_CHOICES = ("ignore", "signal", "rotate", "end")
LIMIT_POLICIES = ("evict_oldest", "refuse")
NEW_DEVICE_ALERT_CHOICES = (False, True, "signal")
DBSC_SKIPPED_CHOICES = ("signed_out", "allow")
DBSC_ANOMALY_CHOICES = ("signal", "end")
