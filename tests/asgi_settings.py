"""Settings of the ASGI servers that ``tests/test_channels.py`` starts in
subprocesses (``tests.asgi_app``): the test settings with a file SQLite
database shared by the servers, the engine and check interval from the
environment."""

import os

from tests.settings import *  # noqa: F403

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["SESSIONTOKENS_ASGI_DB"],
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        "CONN_MAX_AGE": 60,
    }
}
SESSION_ENGINE = "django_sessiontokens.backends." + os.environ.get(
    "SESSIONTOKENS_ASGI_ENGINE", "db"
)
INSTALLED_APPS = [*INSTALLED_APPS, "channels"]  # noqa: F405
ROOT_URLCONF = "tests.asgi_app"
ASGI_APPLICATION = "tests.asgi_app.application"
SESSIONTOKENS_TOUCH_INTERVAL = 1
SESSIONTOKENS_MAX_SESSIONS_PER_USER = 3
if os.environ.get("SESSIONTOKENS_CHANNELS_CHECK_INTERVAL"):
    SESSIONTOKENS_CHANNELS_CHECK_INTERVAL = float(
        os.environ["SESSIONTOKENS_CHANNELS_CHECK_INTERVAL"]
    )
