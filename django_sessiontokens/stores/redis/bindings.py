"""Device bindings in Redis (redis engine): one string per binding beside
its session (same hash tag), "<version>\\n<JSON>", changed by compare-and-set
in one Lua script (``lua/bind.lua``). Each write sets a TTL of the longest a
session may live, so a binding never outlives its session by much even if
nobody deletes it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings

from django_sessiontokens.conf import conf
from django_sessiontokens.stores.bindings import BindingStore
from django_sessiontokens.stores.redis import keys, scripts
from django_sessiontokens.stores.redis.connection import RedisAccess, call
from django_sessiontokens.types import BINDING_FIELDS, DeviceBinding

_TIMES = frozenset(
    name
    for name, field in DeviceBinding.__dataclass_fields__.items()
    if "datetime" in str(field.type)
)


def pack(binding: DeviceBinding) -> str:
    values: dict[str, Any] = {}
    for name in BINDING_FIELDS:
        value = getattr(binding, name)
        values[name] = value.isoformat() if isinstance(value, datetime) else value
    return f"{binding.version}\n" + json.dumps(values, separators=(",", ":"))


def unpack(raw: bytes | str) -> DeviceBinding:
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    values = json.loads(text.partition("\n")[2])
    for name in _TIMES:
        if values.get(name):
            values[name] = datetime.fromisoformat(values[name])
    return DeviceBinding(
        **{name: values[name] for name in BINDING_FIELDS if name in values}
    )


def ttl_ms() -> int:
    longest = conf.ABSOLUTE_TIMEOUT or conf.IDLE_TIMEOUT or settings.SESSION_COOKIE_AGE
    return int(max(longest, conf.DBSC_CHALLENGE_AGE) * 1000) + 60_000


class RedisBindingStore(RedisAccess, BindingStore):
    def key(self, public_id: str) -> str:
        return keys.binding(self.prefix(), public_id)

    @staticmethod
    def unpack(raw: bytes | str) -> DeviceBinding:
        return unpack(raw)

    def get(self, public_id: str) -> DeviceBinding | None:
        with self.guard():
            raw = call(self.client(), "GET", self.key(public_id))
        return unpack(raw) if raw else None

    def get_many(self, public_ids: Sequence[str]) -> dict[str, DeviceBinding]:
        if not public_ids:
            return {}
        with self.guard():
            pipe = self.client().pipeline(transaction=False)
            for public_id in public_ids:
                pipe.get(self.key(public_id))
            found = pipe.execute()
        return {
            public_id: unpack(raw)
            for public_id, raw in zip(public_ids, found, strict=True)
            if raw
        }

    def save(
        self, binding: DeviceBinding, *, expected: int | None
    ) -> DeviceBinding | None:
        stored = binding.replace(version=(expected or 0) + 1)
        with self.guard():
            done = scripts.run(
                self.client(),
                "bind",
                [self.key(binding.public_id)],
                [-1 if expected is None else expected, pack(stored), ttl_ms()],
            )
        return stored if done else None

    def delete(self, public_ids: Sequence[str]) -> None:
        if not public_ids:
            return
        with self.guard():
            pipe = self.client().pipeline(transaction=False)
            for public_id in public_ids:
                pipe.delete(self.key(public_id))
            pipe.execute()
