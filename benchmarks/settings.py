"""Django settings for the benchmarks, chosen by environment variables:

``BENCH_ENGINE``  a name from ``benchmarks.engines`` (default ``ours-db``);
``DATABASE_URL``  the database (default: a SQLite file, ``BENCH_SQLITE``);
``BENCH_SQLITE_JOURNAL``  ``wal`` (default: the write-ahead log, every commit
durable, as the tutorial advises) or ``delete`` (SQLite's rollback journal);
``BENCH_REDIS_URL``  the Redis database (default ``redis://127.0.0.1:6379/10``);
``BENCH_AUDIT``  ``0`` switches our audit trail off (default on, as shipped);
``BENCH_DBSC``  ``1`` turns device-bound sessions on (ours only).

Only the engine's own app is installed, with just the session and the
authentication middleware, so that the session is what the numbers measure.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dj_database_url

from benchmarks.engines import BY_NAME

ENGINE = BY_NAME[os.environ.get("BENCH_ENGINE", "ours-db")]
SQLITE_PATH = os.environ.get(
    "BENCH_SQLITE", str(Path(tempfile.gettempdir()) / "sessiontokens-bench.sqlite3")
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")

SECRET_KEY = "benchmarks-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "benchmarks.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Persistent connections, as in production: no reconnect per request.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{SQLITE_PATH}"), conn_max_age=None
    )
}
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "redis": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS_URL},
}
SESSION_CACHE_ALIAS = "redis"  # Django's cache and cached_db engines
SESSIONTOKENS_REDIS_CACHE = "redis"  # ours
SESSIONTOKENS_AUDIT = os.environ.get("BENCH_AUDIT", "1") != "0"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    ENGINE.installed_app,
]
MIDDLEWARE = [
    ENGINE.middleware,
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
SESSION_ENGINE = ENGINE.session_engine
if ENGINE.ours:
    SESSIONTOKENS_DBSC = os.environ.get("BENCH_DBSC") == "1"
    SESSIONTOKENS_DBSC_ORIGIN = "http://testserver"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "root": {"handlers": ["null"]},
}
