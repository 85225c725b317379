"""The Redis key layout, written here and nowhere else.

``P`` is ``SESSIONTOKENS_REDIS_KEY_PREFIX``; ``T`` a public id's first
``tokens.TAG_LENGTH`` characters, its routing tag (derived from the user, so
one user's sessions share a Cluster slot)::

    P:{T}:s:<public id>       string: a session (``codec``); TTL = time left
                              before its stored ``expires_at``
    P:{T}:u:<user id>         sorted set: the user's public ids of tag T,
                              scored by expiry (microseconds since the epoch)
    P:{all}:expiry            sorted set: every session by ``expires_at``;
                              members "<public id>" or "<public id> <user id>"
    P:{all}:activity          sorted set: signed-in public ids by last activity
                              (not remembered)
    P:{all}:auth              sorted set: signed-in public ids by when they
                              signed in (``authenticated_at``, else
                              ``created_at``; not remembered)
    P:{all}:anon              sorted set: anonymous public ids by last activity
    P:{all}:ractivity         sorted sets: the same as activity and auth for
    P:{all}:rauth             remembered sessions ("keep me signed in"), which
                              have limits of their own
    P:{T}:b:<public id>       string (redis engine, DBSC on): the session's
                              device binding, "<version>\n<JSON>"
                              (``stores.redis.bindings``); TTL = the longest
                              a session may live
    P:{T}:c:<gen>:<public id> string (cached_db engine): a copy of the
                              database row, made under cache generation
                              <gen> (``models.CacheEpoch``), or a marker
                              (``gone``, ``nocache``)

A session and its user's index share the tag ``{T}``, so each write is one
Lua script, atomic on Redis Cluster too. The six ``{all}`` sets live in one
other slot: on a single Redis the same script keeps them; on Cluster a
pipelined follow-up does, and they are never the authority (every session
found through them is read back before anything is decided).
"""

from __future__ import annotations

from django_sessiontokens.core import tokens

#: Tag of sessions imported from django.contrib.sessions (tokens.legacy_public_id).
IMPORTED_TAG = "imported"
#: The ``{all}`` sets in the order scripts receive them.
SET_NAMES = ("expiry", "activity", "auth", "anon", "ractivity", "rauth")


def tag(public_id: str) -> str:
    return public_id[: tokens.TAG_LENGTH]


def session(prefix: str, public_id: str) -> str:
    return f"{prefix}:{{{tag(public_id)}}}:s:{public_id}"


def index_base(prefix: str, tag: str) -> str:
    """A user index key without its user id."""
    return f"{prefix}:{{{tag}}}:u:"


def user_index(prefix: str, public_id: str, user_id: str) -> str:
    """The index of ``user_id`` that holds ``public_id`` (same tag)."""
    return index_base(prefix, tag(public_id)) + user_id


def user_indexes(prefix: str, user_id: str) -> list[str]:
    """Every index of one user: its current and fallback tags, and imports."""
    tags = [*tokens.routing_tags(user_id), IMPORTED_TAG]
    return [index_base(prefix, found) + user_id for found in tags]


def all_set(prefix: str, name: str) -> str:
    return f"{prefix}:{{all}}:{name}"


def all_sets(prefix: str) -> list[str]:
    """The six ``{all}`` sets, in ``SET_NAMES`` order."""
    return [all_set(prefix, name) for name in SET_NAMES]


def member(public_id: str, user_id: str | None) -> str:
    """A session's member of the expiry set."""
    return f"{public_id} {user_id}" if user_id else public_id


def split_member(value: str) -> tuple[str, str]:
    """``(public id, user id or "")`` of an expiry-set member."""
    public_id, _, user_id = value.partition(" ")
    return public_id, user_id


def binding(prefix: str, public_id: str) -> str:
    """A session's device binding (same tag as the session)."""
    return f"{prefix}:{{{tag(public_id)}}}:b:{public_id}"


def copy(prefix: str, generation: int, public_id: str) -> str:
    """cached_db: the copy of a row made under ``generation``."""
    return f"{prefix}:{{{tag(public_id)}}}:c:{generation}:{public_id}"


def escape_glob(value: str) -> str:
    return "".join("\\" + char if char in "*?[]\\" else char for char in value)


def session_pattern(prefix: str) -> str:
    """A ``SCAN`` pattern matching every session key."""
    return f"{escape_glob(prefix)}:{{*}}:s:*"
