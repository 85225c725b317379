"""The Lua scripts (``lua/*.lua``, package data) and the one way to run one.

Each script is the field positions (``codec.lua_positions``), then
``lua/lib.lua`` (shared helpers), then its own file. Every key a script
touches arrives in ``KEYS``; none is built inside Lua. A script runs as
``EVALSHA`` through ``connection.call``; when Redis lacks it (after a
restart or ``SCRIPT FLUSH``) as ``EVAL``, which caches it again. On Cluster
the same commands go through the client's ``execute_command``, which routes
them by their keys (one slot per call).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from redis import exceptions as redis_exceptions

from django_sessiontokens.stores.redis import codec
from django_sessiontokens.stores.redis.connection import call

NAMES = ("create", "write", "data", "delete", "replace", "refresh", "bind")


@dataclass(frozen=True)
class Script:
    name: str
    source: str
    sha: str


def _read(name: str) -> str:
    package = resources.files("django_sessiontokens.stores.redis") / "lua"
    return (package / f"{name}.lua").read_text(encoding="utf-8")


def _load() -> dict[str, Script]:
    prelude = codec.lua_positions() + _read("lib")
    found = {}
    for name in NAMES:
        source = prelude + _read(name)
        sha = hashlib.sha1(source.encode("utf-8"), usedforsecurity=False).hexdigest()
        found[name] = Script(name, source, sha)
    return found


SCRIPTS = _load()


def run(client: Any, name: str, keys: list[str], args: list[Any]) -> Any:
    """Run the script ``name`` with these keys and arguments."""
    script = SCRIPTS[name]
    try:
        return call(client, "EVALSHA", script.sha, len(keys), *keys, *args)
    except redis_exceptions.NoScriptError:
        return call(client, "EVAL", script.source, len(keys), *keys, *args)
