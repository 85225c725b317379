"""Setting presets from the standards (``SESSIONTOKENS_PROFILE``)."""

from __future__ import annotations

from typing import Any

#: Presets from the standards (seconds). ``None`` means "no limit". The
#: timeouts are the standards' upper bounds (NIST SP 800-63B-4 section 2,
#: OWASP ASVS 4.0.3 V3.3.2). The standards set no rotation interval: the
#: presets rotate once per inactivity period (daily without one), so no token
#: outlives an idle window unchanged.
PROFILES: dict[str, dict[str, Any]] = {
    # AAL1: overall SHOULD be <= 30 days; an inactivity timeout is optional.
    "nist-aal1": {
        "IDLE_TIMEOUT": None,
        "ABSOLUTE_TIMEOUT": 30 * 86400,
        "ROTATE_INTERVAL": 86400,
    },
    # AAL2: overall SHOULD be <= 24 hours, inactivity SHOULD be <= 1 hour.
    "nist-aal2": {
        "IDLE_TIMEOUT": 3600,
        "ABSOLUTE_TIMEOUT": 86400,
        "ROTATE_INTERVAL": 3600,
    },
    # AAL3: overall SHALL be <= 12 hours, inactivity SHOULD be <= 15 minutes.
    "nist-aal3": {
        "IDLE_TIMEOUT": 15 * 60,
        "ABSOLUTE_TIMEOUT": 12 * 3600,
        "ROTATE_INTERVAL": 15 * 60,
    },
    # OWASP ASVS 4.0.3 3.3.2, level 2: 12 hours or 30 minutes of inactivity.
    "asvs-l2": {
        "IDLE_TIMEOUT": 30 * 60,
        "ABSOLUTE_TIMEOUT": 12 * 3600,
        "ROTATE_INTERVAL": 30 * 60,
    },
}
