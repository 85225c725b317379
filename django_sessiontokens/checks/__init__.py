"""System checks. Ids are permanent; each message has a hint.

========  ================================================================
E001      SessionTokenMiddleware is not in MIDDLEWARE
E002      Django's SessionMiddleware is still in MIDDLEWARE
E003      SESSION_ENGINE is not one of this app's engines
E004      a timeout setting is not a positive number of seconds/timedelta
E005      SESSIONTOKENS_IDLE_TIMEOUT is longer than ABSOLUTE_TIMEOUT
E006      SESSIONTOKENS_TOUCH_INTERVAL is not shorter than IDLE_TIMEOUT
E007      SESSIONTOKENS_RECORD_IP is not "full", "truncated" or "none"
E008      SESSIONTOKENS_USER_AGENT_MAX_LENGTH is out of range
E009      SESSIONTOKENS_ON_IP_CHANGE / ON_UA_CHANGE has an unknown value
E010      SESSIONTOKENS_LIMIT_POLICY has an unknown value
E011      SESSIONTOKENS_PROFILE names no known profile
E012      a "__Host-" cookie name with a domain, a path other than "/" or
          an insecure cookie
E013      the Redis cache alias is missing or is not django-redis
E014      SESSIONTOKENS_ROTATION_GRACE is negative or not shorter than
          ROTATE_INTERVAL
E015      SESSIONTOKENS_INVALID_TOKEN_LIMIT is not a positive whole number
E016      SESSIONTOKENS_MAX_SESSIONS_PER_USER is not a positive whole number
E017      a yes/no setting is not True or False
E018      SESSIONTOKENS_PURGE_BATCH_SIZE is not a positive whole number
E019      SESSIONTOKENS_TRUSTED_PROXIES is not a whole number, 0 or more
E020      SESSIONTOKENS_REDIS_KEY_PREFIX is empty or holds "{", "}",
          "*", "?", "[", "]", a space or a control character
E021      SESSIONTOKENS_REDIS_CACHE is not a string, or REDIS_CLIENT is not
          a callable or an importable dotted path
E022      a "__Http-" / "__Host-Http-" cookie name without HttpOnly or
          Secure (or, for "__Host-Http-", with a domain or another path)
E023      SESSIONTOKENS_CACHE_CHECK_INTERVAL is not a number of seconds (or
          a timedelta) from 0 to 60
E030      SESSIONTOKENS_DBSC is on and SESSIONTOKENS_DBSC_ORIGIN is not an
          origin ("https://host[:port]")
E031      SESSIONTOKENS_DBSC is on without HTTPS (outside DEBUG)
E032      SESSIONTOKENS_DBSC_COOKIE_NAME is not a cookie name, or is the
          session cookie's name
E033      SESSIONTOKENS_DBSC_COOKIE_AGE is not a positive number of seconds
E034      SESSIONTOKENS_DBSC_CHALLENGE_AGE is not longer than DBSC_COOKIE_AGE
E035      SESSIONTOKENS_DBSC_ON_SKIPPED / DBSC_ON_ANOMALY has an unknown value
E036      SESSIONTOKENS_DBSC is on but the dbsc-register / dbsc-refresh
          URLs are not routed
E037      SESSIONTOKENS_DBSC_EXCLUDE is not a list of paths starting with "/"
E038      SESSIONTOKENS_DBSC is on but the cryptography package is missing
E040      SESSIONTOKENS_NEW_DEVICE_ALERT is not False, True or "signal"
E041      SESSIONTOKENS_GEOIP (or GEOIP_PATH) names no MaxMind database
E042      SESSIONTOKENS_GEOIP (or GEOIP_PATH) is set but geoip2 is missing
E043      SESSIONTOKENS_IMPERSONATOR_SESSION_KEY is not a string
E044      SESSIONTOKENS_NEW_DEVICE_WINDOW is not a positive duration
E045      SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT / REMEMBERED_ABSOLUTE_TIMEOUT
          is not a positive number of seconds/timedelta or None
E046      SESSIONTOKENS_REMEMBERED_IDLE_TIMEOUT is longer than
          REMEMBERED_ABSOLUTE_TIMEOUT
E047      SESSIONTOKENS_TOUCH_INTERVAL is not shorter than
          REMEMBERED_IDLE_TIMEOUT
E048      SESSIONTOKENS_REAUTH_TO_END_SESSIONS is not a positive number of
          seconds/timedelta or None
W001      (deploy) SESSION_COOKIE_SECURE is False
W002      (deploy) SESSION_COOKIE_HTTPONLY is False
W003      (deploy) SESSION_COOKIE_SAMESITE is None
W004      (deploy) SQLite without "transaction_mode": "IMMEDIATE" (Django
          5.1+): concurrent writes can fail with "database is locked"
W005      allauth.usersessions tracks activity too
          (USERSESSIONS_TRACK_ACTIVITY)
W006      allauth.usersessions is installed: it stores the cookie value
          and its column is too short for our tokens
W007      allauth headless app clients without our token strategy: their
          sessions are never touched nor rotated
W010      SESSIONTOKENS_DBSC_COOKIE_NAME has no "__Host-" prefix
W011      SESSIONTOKENS_DBSC_COOKIE_AGE is under 130 s (Chrome then
          refreshes on every request)
W012      SESSIONTOKENS_DBSC is on with DBSC_ON_SKIPPED = "allow"
W015      new-device emails are on but the "your sessions" page is not in
          the URLconf (no link)
W016      new-device alerts are on but the audit trail is off (no alert)
W017      a location database is set but SESSIONTOKENS_RECORD_IP is "none"
W018      remembered sessions have neither an idle nor an absolute limit
W019      a remembered limit is shorter than the same ordinary limit
========  ================================================================
"""

from __future__ import annotations

from django.core.checks import Tags
from django.core.checks import register as register_check

from django_sessiontokens.checks.dbsc import check_dbsc
from django_sessiontokens.checks.deploy import check_deploy
from django_sessiontokens.checks.features import check_features
from django_sessiontokens.checks.remember import check_remember
from django_sessiontokens.checks.setup import (
    check_engine,
    check_headless_rotation,
    check_host_prefix,
    check_http_prefix,
    check_middleware,
    check_redis,
    check_usersessions,
)
from django_sessiontokens.checks.values import (
    check_cache_check_interval,
    check_choices,
    check_lifecycle,
    check_timeouts,
    check_values,
)

ALL_CHECKS = (
    check_middleware,
    check_engine,
    check_timeouts,
    check_choices,
    check_host_prefix,
    check_redis,
    check_lifecycle,
    check_values,
    check_http_prefix,
    check_cache_check_interval,
    check_usersessions,
    check_headless_rotation,
    check_dbsc,
    check_features,
    check_remember,
)


def register() -> None:
    for check in ALL_CHECKS:
        register_check(check, Tags.security)
    register_check(check_deploy, Tags.security, deploy=True)


__all__ = ["ALL_CHECKS", "check_deploy", "register"]
