from datetime import timedelta

import pytest

from django_sessiontokens.conf import conf, seconds
from django_sessiontokens.defaults import DEFAULTS


def test_defaults_match_nist_aal2():
    assert conf.IDLE_TIMEOUT == 3600
    assert conf.ABSOLUTE_TIMEOUT == 86400
    assert conf.TOUCH_INTERVAL == 60


def test_settings_are_read_live(settings):
    settings.SESSIONTOKENS_IDLE_TIMEOUT = timedelta(minutes=5)
    assert conf.IDLE_TIMEOUT == 300
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 42
    assert conf.IDLE_TIMEOUT == 42


def test_profile_presets_and_explicit_settings_win(settings):
    settings.SESSIONTOKENS_PROFILE = "nist-aal3"
    assert conf.IDLE_TIMEOUT == 900
    assert conf.ABSOLUTE_TIMEOUT == 12 * 3600
    settings.SESSIONTOKENS_IDLE_TIMEOUT = 600
    assert conf.IDLE_TIMEOUT == 600


def test_every_default_has_a_property():
    for name in DEFAULTS:
        getattr(conf, name)


@pytest.mark.parametrize("bad", ["10", True, object()])
def test_seconds_rejects_non_numbers(bad):
    with pytest.raises(TypeError):
        seconds(bad)
