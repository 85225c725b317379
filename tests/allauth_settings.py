"""Settings of the django-allauth suite (``tests/allauth_cases.py``, run in
a subprocess by ``tests/test_allauth.py``): the test settings plus allauth's
account, login by code, the dummy social provider, headless and
usersessions. SQLite in memory whatever ``DATABASE_URL`` says: usersessions'
``session_key`` column (40 characters) cannot hold our tokens on PostgreSQL
(see check sessiontokens.W006)."""

from tests.settings import *  # noqa: F403

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
INSTALLED_APPS = [
    *INSTALLED_APPS,  # noqa: F405
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.dummy",
    "allauth.headless",
    "allauth.usersessions",
]
MIDDLEWARE = [*MIDDLEWARE, "allauth.account.middleware.AccountMiddleware"]  # noqa: F405
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ROOT_URLCONF = "tests.allauth_urls"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_RATE_LIMITS = False
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_AUTO_SIGNUP = True
HEADLESS_ONLY = False
HEADLESS_FRONTEND_URLS = {}
HEADLESS_TOKEN_STRATEGY = "django_sessiontokens.contrib.allauth.SessionTokenStrategy"
