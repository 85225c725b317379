"""Fast bulk loading of users and sessions, straight into each store's own
layout (COPY on PostgreSQL, ``executemany`` on SQLite, pipelines on Redis).

Sessions are spread round-robin over the given users; a fraction of them is
already expired (for the purge benchmark).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction

BACKEND = "django.contrib.auth.backends.ModelBackend"
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
CHUNK = 5000


def user_data(user_id: object) -> dict[str, str]:
    """What ``login()`` leaves in a session (the hash is a placeholder of the
    right size: bulk sessions are never used to sign in)."""
    return {
        "_auth_user_id": str(user_id),
        "_auth_user_backend": BACKEND,
        "_auth_user_hash": "0" * 64,
    }


def make_users(count: int, prefix: str = "bulk") -> list[int]:
    """``count`` users (unusable passwords), in bulk; their ids."""
    model = get_user_model()
    ids: list[int] = []
    for start in range(0, count, CHUNK):
        users = [
            model(username=f"{prefix}{n}", password="!")
            for n in range(start, min(count, start + CHUNK))
        ]
        ids += [user.pk for user in model.objects.bulk_create(users)]
    return ids


def _spread(count: int, user_ids: Sequence[int]) -> Iterator[tuple[int, int]]:
    for n in range(count):
        yield n, user_ids[n % len(user_ids)]


def _expired(n: int, fraction: float) -> bool:
    """Expired sessions interleaved evenly with live ones, as in a real table."""
    return int((n + 1) * fraction) > int(n * fraction)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# Ours --------------------------------------------------------------------
OUR_COLUMNS = [
    "public_id",
    "secret_hash",
    "retired_hashes",
    "rotated_at",
    "sealed_secret",
    "data",
    "user_id",
    "created_at",
    "authenticated_at",
    "last_activity",
    "expires_at",
    "ip",
    "user_agent",
    "remembered",
]


def our_records(
    count: int, user_ids: Sequence[int], now: datetime, *, expired: float = 0.0
) -> Iterator[Any]:
    """``SessionRecord`` objects as the engines would store them."""
    from django_sessiontokens.backends.db import SessionStore
    from django_sessiontokens.backends.serialization import serialize
    from django_sessiontokens.core import tokens
    from django_sessiontokens.stores.base import SessionRecord

    serializer = SessionStore().serializer
    tags: dict[int, tuple[str, str]] = {}
    for n, user_id in _spread(count, user_ids):
        if user_id not in tags:
            tags[user_id] = (
                tokens.routing_tag(user_id),
                serialize(serializer, user_data(user_id)),
            )
        tag, data = tags[user_id]
        dead = _expired(n, expired)
        # Distinct times (a microsecond apart), as sessions made over time.
        age = timedelta(days=2) if dead else timedelta(minutes=5)
        base = now - age - timedelta(microseconds=n)
        yield SessionRecord(
            public_id=tag + _b64(secrets.token_bytes(12)),
            secret_hash=secrets.token_hex(32),
            created_at=base,
            last_activity=base,
            expires_at=base + timedelta(hours=1),
            data=data,
            user_id=str(user_id),
            authenticated_at=base,
            ip=f"10.{n % 250}.{n // 250 % 250}.{n % 199 + 1}",
            user_agent=USER_AGENT,
            rotated_at=base,
        )


def load_our_db(
    count: int, user_ids: Sequence[int], now: datetime, *, expired: float = 0.0
) -> None:
    """Rows of ``sessiontokens_session``."""
    columns = [*OUR_COLUMNS, "version", "written_at"]
    rows = (
        [*(getattr(record, name) for name in OUR_COLUMNS), 1, record.last_activity]
        for record in our_records(count, user_ids, now, expired=expired)
    )
    stamps = (3, 7, 8, 9, 10, 15)
    _insert("sessiontokens_session", columns, rows, datetimes=stamps)


def load_our_redis(
    count: int,
    user_ids: Sequence[int],
    now: datetime,
    *,
    expired: float = 0.0,
    min_ttl_ms: int = 0,
) -> None:
    """Records in the Redis store's own layout: its create script, pipelined.

    ``min_ttl_ms`` keeps expired records in Redis (as after a shortened
    timeout) so that the purge has something to remove."""
    from django_sessiontokens.services import get_store
    from django_sessiontokens.stores.redis import codec, scripts
    from django_sessiontokens.stores.redis.codec import ttl_ms

    store: Any = get_store()
    client = store.client()
    script = scripts.SCRIPTS["create"]
    client.script_load(script.source)
    sets = store._sets(client)
    pipe = client.pipeline(transaction=False)
    records = our_records(count, user_ids, now, expired=expired)
    for n, record in enumerate(records, start=1):
        pid = record.public_id
        names = [store.key(pid), store._index(pid, record.user_id), *sets]
        args = [max(ttl_ms(record.expires_at), min_ttl_ms), codec.pack_record(record)]
        pipe.evalsha(script.sha, len(names), *names, *args)
        if n % CHUNK == 0:
            pipe.execute()
    pipe.execute()


# Django's engines ----------------------------------------------------------
def _django_keys(count: int) -> Iterator[str]:
    for _ in range(count):
        yield secrets.token_hex(16)


def load_django_db(
    count: int, user_ids: Sequence[int], now: datetime, *, expired: float = 0.0
) -> None:
    """Rows of ``django_session``, signed and compressed as Django does."""
    from django.contrib.sessions.backends.db import SessionStore

    encoded: dict[int, str] = {}

    def rows() -> Iterator[list[Any]]:
        for (n, user_id), key in zip(
            _spread(count, user_ids), _django_keys(count), strict=True
        ):
            if user_id not in encoded:
                encoded[user_id] = SessionStore().encode(user_data(user_id))
            hours = -1 if _expired(n, expired) else 336
            end = now + timedelta(hours=hours, microseconds=-n)
            yield [key, encoded[user_id], end]

    _insert(
        "django_session", ["session_key", "session_data", "expire_date"], rows(), (2,)
    )


def load_peer_db(
    table: str, count: int, user_ids: Sequence[int], now: datetime, *, expired: float
) -> None:
    """Rows of django-user-sessions' or django-qsessions' table (a user
    column, as their middleware fills it)."""
    from django.contrib.sessions.backends.db import SessionStore

    encoded: dict[int, str] = {}
    qsessions = table.startswith("qsessions")
    columns = ["session_key", "session_data", "expire_date", "user_id"]
    columns += ["user_agent", "ip"]
    columns += ["created_at", "updated_at"] if qsessions else ["last_activity"]

    def rows() -> Iterator[list[Any]]:
        for (n, user_id), key in zip(
            _spread(count, user_ids), _django_keys(count), strict=True
        ):
            if user_id not in encoded:
                encoded[user_id] = SessionStore().encode(user_data(user_id))
            dead = _expired(n, expired)
            base = now - timedelta(days=2, microseconds=n) if dead else now
            end = base + timedelta(hours=1 if dead else 336)
            row = [key, encoded[user_id], end, user_id, USER_AGENT, "10.0.0.1", base]
            yield [*row, base] if qsessions else row

    stamps = (2, 6, 7) if qsessions else (2, 6)
    _insert(table, columns, rows(), stamps)


def load_django_cache(count: int, user_ids: Sequence[int], now: datetime) -> None:
    """Keys of Django's cache engine (pickled by django-redis, pipelined)."""
    from django.contrib.sessions.backends.cache import KEY_PREFIX
    from django.core.cache import caches

    cache = caches[settings.SESSION_CACHE_ALIAS]
    batch: dict[str, Any] = {}
    for (_n, user_id), key in zip(
        _spread(count, user_ids), _django_keys(count), strict=True
    ):
        batch[KEY_PREFIX + key] = user_data(user_id)
        if len(batch) >= CHUNK:
            cache.set_many(batch, timeout=settings.SESSION_COOKIE_AGE)
            batch = {}
    if batch:
        cache.set_many(batch, timeout=settings.SESSION_COOKIE_AGE)


# Inserting -------------------------------------------------------------------
def _insert(
    table: str,
    columns: list[str],
    rows: Iterator[list[Any]],
    datetimes: tuple[int, ...] = (),
) -> None:
    names = ", ".join(columns)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw: Any = cursor.cursor
            with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        adapt = connection.ops.adapt_datetimefield_value
        cache: dict[datetime, Any] = {}
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"
        batch: list[list[Any]] = []
        for row in rows:
            for index in datetimes:
                value = row[index]
                if value is not None:
                    if value not in cache:
                        cache[value] = adapt(value)
                    row[index] = cache[value]
            batch.append(row)
            if len(batch) >= CHUNK:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
