"""The new-device rule: is a sign-in from a device the user has not used
recently? Pure: the services gather what is known and act on the answer.

A *device* is a browser family and an operating-system family, versions
left out (``devices.family``: ``"Firefox/Windows"``), seen from a
*network*: the IPv4 /24 or IPv6 /64 of the recorded address. A sign-in is
from a **new device** when no other session of the user and no event of
their audit trail within the window (``SESSIONTOKENS_NEW_DEVICE_WINDOW``,
30 days) shows the same browser family and OS family from the same
network. Where addresses are not recorded (``RECORD_IP = "none"``) the
network is unknown and the device alone decides.

No alert is sent:

- for the first sign-in of a new account: nothing of the user is on record
  (no other session, no audit event) and the account joined within the
  window (or the user model has no ``date_joined``);
- when a new-device alert for the same device went out in the last 24
  hours (at most one a day per device).
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

#: At most one alert per device within this time.
ALERT_INTERVAL = timedelta(days=1)


class Verdict(str, enum.Enum):
    KNOWN = "known"
    FIRST_SIGN_IN = "first_sign_in"
    ALERTED_TODAY = "alerted_today"
    NEW = "new"


@dataclass(frozen=True)
class Sighting:
    """The user seen on ``device`` from ``network`` at ``time`` (a session
    or an audit event); ``alerted``: a new-device alert was sent for it."""

    device: str
    network: str
    time: datetime
    alerted: bool = False


def network(ip: str | None) -> str:
    """The /24 (IPv4) or /64 (IPv6) of an address; ``""`` if unknown."""
    if not ip:
        return ""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def decide(
    device: str,
    network: str,
    sightings: Iterable[Sighting],
    *,
    now: datetime,
    window: timedelta,
    anything_on_record: bool,
    joined: datetime | None,
) -> Verdict:
    """``sightings``: the user's other sessions and audit events (any age:
    older ones are ignored here). ``anything_on_record``: some session or
    event of the user exists at all; ``joined``: the account's creation
    time if the user model has one."""
    since = now - window
    seen = [s for s in sightings if s.time >= since]
    for sighting in seen:
        if sighting.alerted:
            continue
        if sighting.device == device and (not network or sighting.network == network):
            return Verdict.KNOWN
    if not anything_on_record and (joined is None or joined >= since):
        return Verdict.FIRST_SIGN_IN
    recent = now - ALERT_INTERVAL
    if any(s.alerted and s.device == device and s.time >= recent for s in seen):
        return Verdict.ALERTED_TODAY
    return Verdict.NEW
