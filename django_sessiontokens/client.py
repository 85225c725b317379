"""What is recorded about the client: address and user agent, with the
privacy settings applied."""

from __future__ import annotations

import functools
import ipaddress
from typing import TYPE_CHECKING

from django_sessiontokens.conf import conf
from django_sessiontokens.defaults import USER_AGENT_COLUMN_LENGTH

if TYPE_CHECKING:
    from django.http import HttpRequest


@functools.lru_cache(maxsize=4096)
def _valid_ip(value: str) -> str | None:
    """The address in canonical form, or ``None`` (cached: a site sees the
    same addresses again and again)."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """``REMOTE_ADDR``, or with ``SESSIONTOKENS_TRUSTED_PROXIES = n`` the
    address the n-th trusted proxy saw (``X-Forwarded-For`` read from the
    right). Entries a client could have forged are never used."""
    remote = _valid_ip(request.META.get("REMOTE_ADDR", "") or "")
    hops = conf.TRUSTED_PROXIES
    if hops <= 0:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    chain = [part for part in forwarded.split(",") if part.strip()]
    if len(chain) < hops:
        return remote
    return _valid_ip(chain[-hops]) or remote


def recorded_ip(ip: str | None) -> str | None:
    """The address as stored: full, truncated to /24 (IPv4) or /48 (IPv6),
    or nothing, by ``SESSIONTOKENS_RECORD_IP``."""
    mode = conf.RECORD_IP
    if ip is None or mode == "none":
        return None
    if mode == "truncated":
        address = ipaddress.ip_address(ip)
        prefix = 24 if address.version == 4 else 48
        network = ipaddress.ip_network(f"{ip}/{prefix}", strict=False)
        return str(network.network_address)
    return ip


#: Control characters (never legitimate in a header) become spaces.
_CONTROL = {code: " " for code in [*range(32), 127]}


def recorded_user_agent(request: HttpRequest) -> str:
    """The user agent as stored, capped (0 turns recording off), control
    characters replaced by spaces."""
    limit = min(conf.USER_AGENT_MAX_LENGTH, USER_AGENT_COLUMN_LENGTH)
    if limit <= 0:
        return ""
    value = request.META.get("HTTP_USER_AGENT", "") or ""
    if not isinstance(value, str):
        return ""
    value = value[:limit]
    return value.translate(_CONTROL) if not value.isprintable() else value
