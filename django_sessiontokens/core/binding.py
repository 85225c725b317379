"""Binding decisions: what to do when a signed-in session comes back from
another IP address or user agent. Pure: it returns the action and the
anomalies; ``services.events`` announces them.

``SESSIONTOKENS_ON_IP_CHANGE`` and ``SESSIONTOKENS_ON_UA_CHANGE`` each say
``"ignore"``, ``"signal"`` (the default), ``"rotate"`` (new token at once, the
previous one dies, as at login) or ``"end"`` (the session ends, reason
``binding``). Every action but ``"ignore"`` reports an anomaly with the old
and new values.

The comparison is between what was recorded for the session and what would be
recorded for this request, so the privacy settings apply: with
``SESSIONTOKENS_RECORD_IP = "truncated"`` only a change of network (/24 or /48)
counts, with ``"none"`` no address is compared, and with
``SESSIONTOKENS_USER_AGENT_MAX_LENGTH = 0`` no user agent is. Anonymous
sessions are never checked: there is no account to protect, and mobile
clients change networks often.
"""

from __future__ import annotations

from dataclasses import dataclass

from django_sessiontokens.types import SessionRecord

#: Strength of each action; the strongest of the IP and user-agent actions
#: is carried out.
_STRENGTH = {"ignore": 0, "signal": 1, "rotate": 2, "end": 3}


@dataclass(frozen=True)
class Anomaly:
    kind: str  # "ip" or "user_agent"
    old: str | None
    new: str | None
    action: str


def decide(
    record: SessionRecord,
    *,
    ip: str | None,
    user_agent: str | None,
    on_ip_change: str,
    on_ua_change: str,
) -> tuple[str, list[Anomaly]]:
    """``(action, anomalies)``: action is ``""`` (nothing), ``"rotate"`` or
    ``"end"``; anomalies are to be announced."""
    if record.user_id is None:
        return "", []
    found: list[Anomaly] = []
    if ip and record.ip and ip != record.ip and on_ip_change != "ignore":
        found.append(Anomaly("ip", record.ip, ip, on_ip_change))
    if (
        user_agent
        and record.user_agent
        and user_agent != record.user_agent
        and on_ua_change != "ignore"
    ):
        found.append(Anomaly("user_agent", record.user_agent, user_agent, on_ua_change))
    action = max((a.action for a in found), key=_STRENGTH.__getitem__, default="")
    return (action if action in ("rotate", "end") else ""), found
