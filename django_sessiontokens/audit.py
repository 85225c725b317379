"""``django_sessiontokens.audit``: the documented home of ``prune_events``
(``services.audit``)."""

from __future__ import annotations

from django_sessiontokens.services.audit import prune_events

__all__ = ["prune_events"]
