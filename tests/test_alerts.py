"""New-device sign-in alerts: the rule with time travel, the email (locmem
backend), the signal, at most one a day, a failing mail backend."""

import logging
from datetime import timedelta

import django
import pytest
from django.core import mail
from django.utils import timezone

from django_sessiontokens import signals
from django_sessiontokens.models import SessionEvent
from tests.conftest import capture_signal, public_id, sign_in
from tests.factories import UserFactory
from tests.geoip import write_database

pytestmark = pytest.mark.django_db

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
FIREFOX_LINUX_NEWER = (
    "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0"
)
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
HOME, HOME_OTHER_HOST, CAFE, HOTEL = (
    "203.0.113.7",
    "203.0.113.99",
    "198.51.100.20",
    "192.0.2.30",
)


class FailingBackend:
    """An email backend whose server refuses everything."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise OSError("connection refused")


@pytest.fixture
def alerts(settings, engine, clock, django_capture_on_commit_callbacks):
    """Alerts on; ``alerts.sign_in(...)`` signs in with the on-commit work
    run, and returns the new-device signals it sent."""
    settings.SESSIONTOKENS_NEW_DEVICE_ALERT = True

    class Helper:
        def sign_in(self, user, user_agent, ip):
            with (
                capture_signal(signals.session_new_device) as sent,
                django_capture_on_commit_callbacks(execute=True),
            ):
                client = sign_in(user, user_agent=user_agent, ip=ip)
            self.client = client
            return sent

    return Helper()


@pytest.fixture
def old_user(db):
    """An account that joined long ago (its first sign-in is not "new")."""
    return UserFactory(date_joined=timezone.now() - timedelta(days=400))


def test_the_first_sign_in_of_a_new_account_sends_nothing(alerts, user):
    assert alerts.sign_in(user, FIREFOX_LINUX, HOME) == []
    assert mail.outbox == []


def test_a_known_device_on_a_known_network_sends_nothing(alerts, user, clock):
    alerts.sign_in(user, FIREFOX_LINUX, HOME)
    clock.shift(timedelta(days=3))
    # A browser update and another address of the same /24: the same device.
    assert alerts.sign_in(user, FIREFOX_LINUX_NEWER, HOME_OTHER_HOST) == []
    assert mail.outbox == []


def test_a_new_device_gets_one_email_and_the_signal(alerts, user, clock):
    alerts.sign_in(user, FIREFOX_LINUX, HOME)
    clock.shift(timedelta(hours=2))
    sent = alerts.sign_in(user, CHROME_WINDOWS, CAFE)
    (message,) = mail.outbox
    assert message.to == [user.email]
    assert message.subject == "New sign-in to your account"
    assert "Chrome 124 on Windows" in message.body
    assert CAFE in message.body
    assert "http://testserver/sessions/" in message.body
    html, kind = message.alternatives[0]
    assert kind == "text/html" and 'href="http://testserver/sessions/"' in html
    (signal,) = sent
    assert signal["public_id"] == public_id(alerts.client)
    assert signal["user"] == user and signal["user_id"] == str(user.pk)
    assert signal["device"] == "Chrome 124 on Windows"
    assert signal["ip"] == CAFE and signal["emailed"] is True
    assert signal["location"] is None  # no database configured
    kinds = SessionEvent.objects.filter(kind="new_device").values_list(
        "public_id", "device"
    )
    assert list(kinds) == [(signal["public_id"], "Chrome/Windows")]


def test_a_known_device_on_a_new_network_is_new(alerts, user, clock):
    alerts.sign_in(user, FIREFOX_LINUX, HOME)
    clock.shift(timedelta(hours=1))
    assert len(alerts.sign_in(user, FIREFOX_LINUX, HOTEL)) == 1


def test_at_most_one_alert_per_device_a_day(alerts, user, clock):
    alerts.sign_in(user, FIREFOX_LINUX, HOME)
    assert len(alerts.sign_in(user, CHROME_WINDOWS, CAFE)) == 1
    clock.shift(timedelta(hours=20))
    assert alerts.sign_in(user, CHROME_WINDOWS, HOTEL) == []  # same day
    clock.shift(timedelta(hours=5))
    assert len(alerts.sign_in(user, CHROME_WINDOWS, "192.0.2.200")) == 0  # known
    assert len(alerts.sign_in(user, CHROME_WINDOWS, "100.64.0.1")) == 1  # next day
    assert len(mail.outbox) == 2


def test_a_device_not_seen_within_the_window_is_new_again(alerts, user, clock):
    alerts.sign_in(user, FIREFOX_LINUX, HOME)
    clock.shift(timedelta(days=29))
    assert alerts.sign_in(user, FIREFOX_LINUX, HOME) == []
    clock.shift(timedelta(days=31))
    assert len(alerts.sign_in(user, FIREFOX_LINUX, HOME)) == 1


def test_the_window_is_a_setting(alerts, user, clock, settings):
    settings.SESSIONTOKENS_NEW_DEVICE_WINDOW = timedelta(days=2)
    alerts.sign_in(user, FIREFOX_LINUX, HOME)
    clock.shift(timedelta(days=3))
    assert len(alerts.sign_in(user, FIREFOX_LINUX, HOME)) == 1


def test_an_old_account_with_nothing_on_record_is_alerted(alerts, old_user):
    assert len(alerts.sign_in(old_user, FIREFOX_LINUX, HOME)) == 1


def test_a_failing_mail_server_does_not_fail_the_sign_in(
    alerts, user, settings, caplog
):
    if django.VERSION >= (6, 1):
        settings.MAILERS = {"default": {"BACKEND": "tests.test_alerts.FailingBackend"}}
    else:
        settings.EMAIL_BACKEND = "tests.test_alerts.FailingBackend"
    alerts.sign_in(user, FIREFOX_LINUX, HOME)
    with caplog.at_level(logging.ERROR, logger="django_sessiontokens"):
        sent = alerts.sign_in(user, CHROME_WINDOWS, CAFE)
    assert alerts.client.get("/whoami/").json()["user"] == user.username
    (signal,) = sent
    assert signal["emailed"] is False  # the signal fires either way
    assert "Could not send the new-device email" in caplog.text


def test_signal_only_mode_sends_no_email(alerts, user, settings):
    settings.SESSIONTOKENS_NEW_DEVICE_ALERT = "signal"
    alerts.sign_in(user, FIREFOX_LINUX, HOME)
    (signal,) = alerts.sign_in(user, CHROME_WINDOWS, CAFE)
    assert signal["emailed"] is False and mail.outbox == []


def test_a_user_without_an_email_address_gets_the_signal_only(alerts, user):
    user.email = ""
    user.save()
    alerts.sign_in(user, FIREFOX_LINUX, HOME)
    (signal,) = alerts.sign_in(user, CHROME_WINDOWS, CAFE)
    assert signal["emailed"] is False and mail.outbox == []


def test_the_email_says_where(alerts, user, settings, tmp_path):
    settings.SESSIONTOKENS_GEOIP = str(write_database(tmp_path / "City.mmdb"))
    alerts.sign_in(user, FIREFOX_LINUX, CAFE)
    (signal,) = alerts.sign_in(user, CHROME_WINDOWS, "203.0.113.50")
    assert signal["location"] == {
        "city": "Paris",
        "country": "France",
        "country_code": "FR",
    }
    assert "Paris, France" in mail.outbox[0].body


def test_templates_are_translated(alerts, user, settings):
    settings.LANGUAGE_CODE = "de"
    alerts.sign_in(user, FIREFOX_LINUX, HOME)
    alerts.sign_in(user, CHROME_WINDOWS, CAFE)
    assert mail.outbox[0].subject == "Neue Anmeldung bei Ihrem Konto"
    assert "Gerät: Chrome 124 unter Windows" in mail.outbox[0].body


def test_off_by_default_nothing_is_checked(
    engine, user, django_capture_on_commit_callbacks
):
    from django_sessiontokens.conf import conf

    assert conf.NEW_DEVICE_ALERT is False
    with (
        capture_signal(signals.session_new_device) as sent,
        django_capture_on_commit_callbacks(execute=True),
    ):
        sign_in(user, user_agent=FIREFOX_LINUX, ip=HOME)
        sign_in(user, user_agent=CHROME_WINDOWS, ip=CAFE)
    assert sent == [] and mail.outbox == []
    assert not SessionEvent.objects.filter(kind="new_device").exists()


@pytest.mark.parametrize("engine", ["db"], indirect=True)
def test_the_check_costs_two_queries(alerts, user, store, django_assert_num_queries):
    """The user's sessions (one query on the db engine) and their recent
    audit events (one); a third only when neither holds anything."""
    from django_sessiontokens.services import alerts as service

    alerts.sign_in(user, FIREFOX_LINUX, HOME)
    alerts.sign_in(user, FIREFOX_LINUX, HOME)
    record = store.get(public_id(alerts.client))
    with django_assert_num_queries(2):
        assert service.check(record, user).value == "known"


@pytest.mark.parametrize("engine", ["redis"], indirect=True)
def test_on_redis_the_check_is_two_round_trips_and_one_query(
    alerts, user, store, django_assert_num_queries
):
    """The user's sessions come from Redis (``for_user``: the user's index,
    then their records), their recent audit events from the database."""
    from django_sessiontokens.services import alerts as service
    from tests.test_round_trips import redis_round_trips

    alerts.sign_in(user, FIREFOX_LINUX, HOME)
    alerts.sign_in(user, FIREFOX_LINUX, HOME)
    record = store.get(public_id(alerts.client))
    with django_assert_num_queries(1), redis_round_trips() as sent:
        assert service.check(record, user).value == "known"
    assert len(sent) == 2, sent
