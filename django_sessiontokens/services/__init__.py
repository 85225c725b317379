"""The service layer: the only code that ends sessions and announces
lifecycle events. Admin, views, API, commands, receivers and the engines call
these; they decide "alive" with ``core.policy`` and reach storage through
``stores.registry``, never through an engine module."""

from __future__ import annotations

from django_sessiontokens.services.ending import (
    clear_expired,
    count_expired,
    end_session,
    end_sessions,
    end_user_sessions,
    get_store,
    info,
    list_user_sessions,
    purge_expired,
    report_binding_anomaly,
    report_reuse,
    search_sessions,
)
from django_sessiontokens.services.events import (
    announce_created,
    announce_rotated_to,
    send_after_commit,
)
from django_sessiontokens.types import Actor, Reason, SessionInfo

__all__ = [
    "Actor",
    "Reason",
    "SessionInfo",
    "announce_created",
    "announce_rotated_to",
    "clear_expired",
    "count_expired",
    "end_session",
    "end_sessions",
    "end_user_sessions",
    "get_store",
    "info",
    "list_user_sessions",
    "purge_expired",
    "report_binding_anomaly",
    "report_reuse",
    "search_sessions",
    "send_after_commit",
]
