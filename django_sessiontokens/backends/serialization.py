"""Session data to and from the stored text, with Django's serializer."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.signing import JSONSerializer

security_logger = logging.getLogger("django.security.sessiontokens")

_json_dumps = json.JSONEncoder(separators=(",", ":")).encode
_json_loads = json.loads


def serialize(serializer: Any, data: dict[str, Any]) -> str:
    if serializer is JSONSerializer:  # its output, without two copies
        return _json_dumps(data)
    return bytes(serializer().dumps(data)).decode("latin-1")


def deserialize(serializer: Any, raw: str) -> dict[str, Any]:
    """The stored data; a corrupt row is an empty session, never a 500."""
    if not raw:
        return {}
    try:
        if serializer is JSONSerializer:
            value = _json_loads(raw)
        else:
            value = serializer().loads(raw.encode("latin-1"))
    except Exception:
        security_logger.warning("Session data could not be decoded")
        return {}
    return value if isinstance(value, dict) else {}
