"""Settings of the load-test site, chosen by environment variables (as the
example project's are):

* ``LOAD_ENGINE``: ``db`` (default), ``redis`` or ``cached_db``;
* ``LOAD_DATABASE_URL``: ``postgres://...`` for PostgreSQL (with
  ``LOAD_CONN_MAX_AGE``, default 0, and ``LOAD_CONN_HEALTH_CHECKS=1``), else
  ``LOAD_SQLITE`` names the SQLite file;
* ``LOAD_REDIS_URL``: the Redis server of the two Redis engines;
* ``LOAD_REDIS_TIMEOUT``: their socket (and connect) timeout, seconds (0.5).

Logging goes to stderr with a timestamp on every record, so the tests can
find tracebacks and tell in which phase of a run they were written.
"""

from __future__ import annotations

import os

import dj_database_url
import django

SECRET_KEY = "load-tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.load.site.urls"
WSGI_APPLICATION = "tests.load.site.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django_sessiontokens",
]
MIDDLEWARE = [
    "tests.load.site.timing.ServerTiming",
    "django_sessiontokens.middleware.SessionTokenMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
    }
]

if os.environ.get("LOAD_DATABASE_URL"):
    DATABASES = {
        "default": dj_database_url.parse(
            os.environ["LOAD_DATABASE_URL"],
            conn_max_age=int(os.environ.get("LOAD_CONN_MAX_AGE", "0")),
            conn_health_checks=os.environ.get("LOAD_CONN_HEALTH_CHECKS") == "1",
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("LOAD_SQLITE", "load.sqlite3"),
            # What the README advises for SQLite under concurrent writes.
            "OPTIONS": {"timeout": 20}
            | ({"transaction_mode": "IMMEDIATE"} if django.VERSION >= (5, 1) else {}),
        }
    }

ENGINE = os.environ.get("LOAD_ENGINE", "db")
SESSION_ENGINE = f"django_sessiontokens.backends.{ENGINE}"
REDIS_TIMEOUT = float(os.environ.get("LOAD_REDIS_TIMEOUT", "0.5"))
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if ENGINE != "db":
    CACHES["sessions"] = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": REDIS_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_TIMEOUT,
        },
    }
    SESSIONTOKENS_REDIS_CACHE = "sessions"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "stamped": {"format": "@%(created).3f %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "stamped"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
