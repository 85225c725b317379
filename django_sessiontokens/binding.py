"""Binding policy: what happens when a signed-in session comes back from
another IP address or user agent.

``SESSIONTOKENS_ON_IP_CHANGE`` and ``SESSIONTOKENS_ON_UA_CHANGE`` each say
``"ignore"``, ``"signal"`` (the default), ``"rotate"`` (new token at once, the
previous one dies, as at login) or ``"end"`` (the session ends, reason
``binding``). Every action but ``"ignore"`` sends ``session_anomaly`` with the
old and new values.

The comparison is between what was recorded for the session and what would be
recorded for this request, so the privacy settings apply: with
``SESSIONTOKENS_RECORD_IP = "truncated"`` only a change of network (/24 or /48)
counts, with ``"none"`` no address is compared, and with
``SESSIONTOKENS_USER_AGENT_MAX_LENGTH = 0`` no user agent is. Anonymous
sessions are never checked: there is no account to protect, and mobile
clients change networks often.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django_sessiontokens import services, signals
from django_sessiontokens.conf import conf

if TYPE_CHECKING:
    from django.http import HttpRequest

    from django_sessiontokens.stores.base import SessionRecord

#: Strength of each action; the strongest of the IP and user-agent actions
#: is carried out.
_STRENGTH = {"ignore": 0, "signal": 1, "rotate": 2, "end": 3}


def _changes(
    record: SessionRecord, ip: str | None, user_agent: str | None
) -> list[tuple[str, str | None, str | None, str]]:
    """``(kind, old, new, action)`` for each compared value that changed."""
    found: list[tuple[str, str | None, str | None, str]] = []
    if ip and record.ip and ip != record.ip:
        found.append(("ip", record.ip, ip, conf.ON_IP_CHANGE))
    if user_agent and record.user_agent and user_agent != record.user_agent:
        found.append(("user_agent", record.user_agent, user_agent, conf.ON_UA_CHANGE))
    return found


def check(
    record: SessionRecord,
    *,
    ip: str | None,
    user_agent: str | None,
    request: HttpRequest | None,
) -> str:
    """Compare the request with the record, announce anomalies and return
    what to do: ``""`` (nothing), ``"rotate"`` or ``"end"``."""
    if record.user_id is None:
        return ""
    action = "ignore"
    for kind, old, new, kind_action in _changes(record, ip, user_agent):
        if kind_action == "ignore":
            continue
        _announce(
            record, kind=kind, old=old, new=new, action=kind_action, request=request
        )
        if _STRENGTH.get(kind_action, 0) > _STRENGTH[action]:
            action = kind_action
    return action if action in ("rotate", "end") else ""


def _announce(
    record: SessionRecord,
    *,
    kind: str,
    old: str | None,
    new: str | None,
    action: str,
    request: HttpRequest | None,
) -> None:
    services.send_after_commit(
        signals.session_anomaly,
        public_id=record.public_id,
        user_id=record.user_id,
        kind=kind,
        old=old,
        new=new,
        action=action,
        request=request,
    )
