"""A session record <-> its stored string.

A record is stored as one string: its fields but ``data`` in the order of
``STORED`` (``version`` included), separated by ``SEP`` (``None`` as ``""``,
datetimes as microseconds since the epoch), then a newline, then the data.
The fields never hold a newline or ``SEP`` (``encode`` replaces them), so the
first newline ends them. Python splits a record in about a microsecond, and
the Lua scripts read and change a field by its position (``lua_positions``),
without JSON.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from django.conf import settings
from django.utils import timezone as django_timezone

from django_sessiontokens.types import SessionRecord

#: The order of a record's fields in its stored value (``data`` follows).
STORED = (
    "public_id",
    "secret_hash",
    "created_at",
    "last_activity",
    "expires_at",
    "user_id",
    "authenticated_at",
    "ip",
    "user_agent",
    "retired_hashes",
    "rotated_at",
    "sealed_secret",
    "version",
    # Added later: a record stored before them has fewer fields (``_record``
    # pads it: no impersonator, not remembered).
    "impersonator_id",
    "remembered",
)
#: A field's position, as Lua counts (from 1).
POSITION = {name: str(n) for n, name in enumerate(STORED, start=1)}
SEP = "\x1f"
#: What cannot be stored inside a field: the separators.
_UNSAFE = str.maketrans({"\n": " ", "\r": " ", SEP: " "})
_TIMES = ("created_at", "last_activity", "expires_at", "authenticated_at", "rotated_at")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)


def micros(value: datetime) -> int:
    """Microseconds since the epoch (naive datetimes are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return (value - _EPOCH) // _MICROSECOND


def text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return "" if value is None else str(value)


def encode(name: str, value: Any) -> str:
    """A field as stored."""
    if value is None:
        return ""
    if name in _TIMES:
        return str(micros(value))
    if isinstance(value, bool):
        return "1" if value else ""
    return str(value).translate(_UNSAFE)


def pack_record(record: SessionRecord) -> str:
    """The stored value of a whole record."""
    fields = SEP.join(encode(name, getattr(record, name)) for name in STORED)
    return fields + "\n" + record.data


def pack_changes(changes: dict[str, Any]) -> list[str]:
    """Changes to the fields (not ``data``) as script arguments: position,
    value, position, value..."""
    out: list[str] = []
    for name, value in changes.items():
        if name != "data":
            out += [POSITION[name], encode(name, value)]
    return out


def unpack(raw: str | bytes, *, data: bool = True) -> SessionRecord:
    """The record of a stored value (with ``data=False``, without its data).
    Also takes the fields alone (what scripts return), without a newline."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    fields, _, rest = raw.partition("\n")
    return _record(fields, rest if data else "")


def _record(fields: str, data: str) -> SessionRecord:
    values = fields.split(SEP)
    if len(values) < len(STORED):  # stored before later fields were added
        values += [""] * (len(STORED) - len(values))
    (
        public_id,
        secret_hash,
        created_at,
        last_activity,
        expires_at,
        user_id,
        authenticated_at,
        ip,
        user_agent,
        retired_hashes,
        rotated_at,
        sealed_secret,
        version,
        impersonator_id,
        remembered,
    ) = values
    epoch = _EPOCH if settings.USE_TZ else _NAIVE_EPOCH
    created = epoch + timedelta(0, 0, int(created_at))

    def moment(value: str) -> Any:
        """A stored time (most equal the creation time: computed once)."""
        if value == created_at:
            return created
        return epoch + timedelta(0, 0, int(value)) if value else None

    return SessionRecord(
        public_id=public_id,
        secret_hash=secret_hash,
        created_at=created,
        last_activity=moment(last_activity),
        expires_at=moment(expires_at),
        data=data,
        user_id=user_id or None,
        authenticated_at=moment(authenticated_at),
        ip=ip or None,
        user_agent=user_agent,
        retired_hashes=retired_hashes,
        rotated_at=moment(rotated_at),
        sealed_secret=sealed_secret,
        version=int(version or 0),
        impersonator_id=impersonator_id or None,
        remembered=remembered == "1",
    )


def lua_positions() -> str:
    """Lua: ``F``, each field's position in the stored value."""
    pairs = ", ".join(f"{name} = {POSITION[name]}" for name in STORED)
    return f"local F = {{{pairs}}}\n"


def ttl_ms(expires_at: datetime, cap: float | None = None) -> int:
    """Milliseconds left before ``expires_at`` (at least 1), at most ``cap``
    seconds."""
    left = (expires_at - django_timezone.now()).total_seconds()
    if cap is not None:
        left = min(left, cap)
    return max(1, int(left * 1000))
