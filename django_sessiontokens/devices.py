"""What a recorded user-agent string says about the device, for people.

Parsing is ``ua-parser``'s (its built-in rules); results are cached because
listings show the same few browsers over and over.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.utils.translation import gettext as _
from ua_parser import parse

#: Device kinds, in the order a person would think of them.
DESKTOP = "desktop"
MOBILE = "mobile"
TABLET = "tablet"
BOT = "bot"
UNKNOWN = "unknown"

_DESKTOP_OS = frozenset(
    {
        "Windows",
        "Mac OS X",
        "Linux",
        "Ubuntu",
        "Debian",
        "Fedora",
        "Chrome OS",
        "FreeBSD",
        "OpenBSD",
    }
)
_MOBILE_OS = frozenset({"iOS", "Android", "Windows Phone", "KaiOS", "HarmonyOS"})
_OS_NAMES = {"Mac OS X": "macOS"}


@dataclass(frozen=True)
class DeviceInfo:
    """A user agent described for a listing. Empty strings mean "unknown"."""

    #: Browser family and major version, e.g. ``"Firefox 120"``.
    browser: str
    #: Operating system family, e.g. ``"Windows"``, ``"macOS"``, ``"iOS"``.
    os: str
    #: ``"desktop"``, ``"mobile"``, ``"tablet"``, ``"bot"`` or ``"unknown"``.
    kind: str
    #: Hardware family when known, e.g. ``"iPhone"``, ``"Pixel 8"``.
    family: str
    #: The one-line description, e.g. ``"Firefox 120 on Windows"``.
    label: str


def _kind(ua: str, os: str, device_family: str) -> str:
    if device_family == "Spider":
        return BOT
    if device_family == "iPad" or "Tablet" in device_family:
        return TABLET
    if os == "Android":
        return MOBILE if "Mobile" in ua else TABLET
    if os in _MOBILE_OS:
        return MOBILE
    if os in _DESKTOP_OS:
        return DESKTOP
    return UNKNOWN


@functools.lru_cache(maxsize=1024)
def _parsed(ua: str) -> tuple[str, str, str, str]:
    result = parse(ua) if ua else None
    browser = os_family = family = ""
    if result is not None and result.user_agent is not None:
        found = result.user_agent
        if found.family != "Other":
            browser = f"{found.family} {found.major}" if found.major else found.family
    if result is not None and result.os is not None and result.os.family != "Other":
        os_family = result.os.family
    if result is not None and result.device is not None:
        family = "" if result.device.family == "Other" else result.device.family
    kind = _kind(ua, os_family, family)
    return browser, _OS_NAMES.get(os_family, os_family), kind, family


def describe(user_agent: str | None) -> DeviceInfo:
    """Describe a user-agent string (``""``/``None`` gives "Unknown device").

    Parsing is cached; the label is built per call, in the active language.
    """
    browser, os, kind, family = _parsed((user_agent or "").strip())
    if browser and os:
        label = _("%(browser)s on %(os)s") % {"browser": browser, "os": os}
    else:
        label = browser or os or family or _("Unknown device")
    return DeviceInfo(browser=browser, os=os, kind=kind, family=family, label=label)


@functools.lru_cache(maxsize=1024)
def _families(ua: str) -> str:
    result = parse(ua) if ua else None
    browser = os_family = ""
    if result is not None and result.user_agent is not None:
        browser = (
            "" if result.user_agent.family == "Other" else result.user_agent.family
        )
    if result is not None and result.os is not None:
        os_family = "" if result.os.family == "Other" else result.os.family
    return f"{browser}/{os_family}"[:64] if browser or os_family else ""


def family(user_agent: str | None) -> str:
    """Browser and OS family without versions, e.g. ``"Firefox/Windows"``
    (``""`` when neither is known): what the new-device rule compares, so
    a browser update is not a new device."""
    return _families((user_agent or "").strip())
