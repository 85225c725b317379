"""Settings of the example project: SQLite and nothing else by default.

Environment variables:

* ``SESSION_ENGINE_NAME``: ``db`` (default), ``redis`` or ``cached_db``;
* ``REDIS_URL``: the Redis server for the last two
  (default ``redis://127.0.0.1:6379/0``);
* ``EXAMPLE_DATABASE``: the SQLite file (default ``db.sqlite3`` here);
* ``DJANGO_DEBUG``: ``0`` turns debug off;
* ``DBSC``: ``0`` turns device-bound sessions off;
* ``DBSC_ORIGIN``: where the site is served, as the browser sees it
  (default ``http://localhost:8000``);
* ``DBSC_COOKIE_AGE``: the bound cookie's lifetime in seconds (default 600).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import django
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-project-not-a-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") != "0"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "demo",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_sessiontokens",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django_sessiontokens.middleware.SessionTokenMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("EXAMPLE_DATABASE") or BASE_DIR / "db.sqlite3",
        # Writers take SQLite's lock when their transaction begins, so
        # concurrent writes wait instead of failing with "database is locked"
        # (Django 5.1+; on 4.2 revocations are retried instead).
        **(
            {"OPTIONS": {"transaction_mode": "IMMEDIATE"}}
            if django.VERSION >= (5, 1)
            else {}
        ),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Sessions ----------------------------------------------------------------
SESSION_ENGINE_NAME = os.environ.get("SESSION_ENGINE_NAME", "db")
if SESSION_ENGINE_NAME not in ("db", "redis", "cached_db"):
    raise ImproperlyConfigured(
        f"SESSION_ENGINE_NAME={SESSION_ENGINE_NAME!r}: use db, redis or cached_db."
    )
SESSION_ENGINE = f"django_sessiontokens.backends.{SESSION_ENGINE_NAME}"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if SESSION_ENGINE_NAME != "db":
    CACHES["sessions"] = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        # Short timeouts bound how long a request waits for a Redis that does
        # not answer (see the README's "When Redis does not answer").
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    }
    SESSIONTOKENS_REDIS_CACHE = "sessions"

# Device-bound sessions (DBSC): a browser that supports them (Chrome 145+
# on Windows) binds its session to a key that never leaves the device, and a
# copy of the session cookie is then signed out anywhere else. Browsers
# without DBSC keep working on the session cookie alone. localhost is a
# secure context, so this works over plain http here; elsewhere it needs
# HTTPS.
SESSIONTOKENS_DBSC = os.environ.get("DBSC", "1") != "0"
SESSIONTOKENS_DBSC_ORIGIN = os.environ.get("DBSC_ORIGIN", "http://localhost:8000")
if os.environ.get("DBSC_COOKIE_AGE"):
    SESSIONTOKENS_DBSC_COOKIE_AGE = int(os.environ["DBSC_COOKIE_AGE"])

# The defaults follow NIST SP 800-63B AAL2: 1 hour idle, 24 hours in all.
# SESSIONTOKENS_IDLE_TIMEOUT = 15 * 60  # for example
# "Keep me signed in" (the sign-in form's box): no idle limit, 30 days in all
# (the defaults of SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT / _ABSOLUTE_TIMEOUT).
# Signing other sessions out asks for the password again 5 minutes after
# signing in.
SESSIONTOKENS_REAUTH_TO_END_SESSIONS = 5 * 60

# New-device alerts: sign in from another browser and the email is printed
# on runserver's console.
SESSIONTOKENS_NEW_DEVICE_ALERT = True
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = "security@example.com"

# Where sessions are: a tiny generated database for loopback and the
# documentation addresses (geoip/make_demo_database.py), when geoip2 is
# installed (pip install "django-sessiontokens[geoip]").
if importlib.util.find_spec("geoip2") is not None:
    SESSIONTOKENS_GEOIP = BASE_DIR / "geoip" / "demo-city.mmdb"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = True
LANGUAGE_CODE = "en"
STATIC_URL = "static/"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
