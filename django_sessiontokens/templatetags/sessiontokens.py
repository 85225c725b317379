"""``{% load sessiontokens %}``: times in human terms, as every session
listing (page, API, admin) shows them, and ``{% device_bound as bound %}``
(``django_sessiontokens.device_bound`` for the template's request)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """ "just now" under a minute, else "3 hours ago"."""
    if moment is None:
        return ""
    now = now or timezone.now()
    if now - moment < timedelta(minutes=1):
        return _("just now")
    return _("%(time)s ago") % {"time": timesince(moment, now, depth=1)}


@register.simple_tag(takes_context=True)
def device_bound(context: Any) -> bool:
    """Did this request prove its session is bound to this device (DBSC)?"""
    from django_sessiontokens import device_bound as bound

    request = context.get("request")
    return request is not None and bound(request)
