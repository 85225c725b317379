"""The pure new-device rule (``core.new_device``), without storage."""

from datetime import datetime, timedelta, timezone

import pytest

from django_sessiontokens.core.new_device import Sighting, Verdict, decide, network
from django_sessiontokens.devices import family
from django_sessiontokens.stores.redis import codec
from tests.factories import SessionRecordFactory

NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
WINDOW = timedelta(days=30)
FIREFOX = "Firefox/Linux"
HOME = "203.0.113.0/24"


def verdict(sightings, device=FIREFOX, net=HOME, on_record=True, joined=None):
    return decide(
        device,
        net,
        sightings,
        now=NOW,
        window=WINDOW,
        anything_on_record=on_record or bool(sightings),
        joined=joined,
    )


def seen(days=1, device=FIREFOX, net=HOME, alerted=False):
    return Sighting(device, net, NOW - timedelta(days=days), alerted=alerted)


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        (None, ""),
        ("", ""),
        ("bogus", ""),
    ],
)
def test_network(ip, expected):
    assert network(ip) == expected


def test_same_device_and_network_within_the_window_is_known():
    assert verdict([seen(days=29)]) is Verdict.KNOWN


def test_outside_the_window_it_is_new():
    assert verdict([seen(days=31)]) is Verdict.NEW


def test_another_network_or_device_is_new():
    assert verdict([seen(net="198.51.100.0/24")]) is Verdict.NEW
    assert verdict([seen(device="Chrome/Windows")]) is Verdict.NEW


def test_without_a_network_the_device_decides():
    assert verdict([seen(net="198.51.100.0/24")], net="") is Verdict.KNOWN


def test_an_alert_is_not_a_sighting_but_holds_back_the_next_for_a_day():
    assert verdict([seen(days=0.5, alerted=True)]) is Verdict.ALERTED_TODAY
    assert verdict([seen(days=1.5, alerted=True)]) is Verdict.NEW
    other = seen(days=0.5, device="Chrome/Windows", alerted=True)
    assert verdict([other]) is Verdict.NEW


def test_first_sign_in_of_a_new_account():
    assert verdict([], on_record=False) is Verdict.FIRST_SIGN_IN
    assert verdict([], on_record=False, joined=NOW - timedelta(days=2)) is (
        Verdict.FIRST_SIGN_IN
    )
    # An old account with nothing on record is alerted.
    old = NOW - timedelta(days=400)
    assert verdict([], on_record=False, joined=old) is Verdict.NEW
    # Something on record (older than the window): not a first sign-in.
    assert verdict([], on_record=True) is Verdict.NEW


def test_device_family_leaves_versions_out():
    windows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{0}.0) Gecko/20100101 "
    old, new = (
        (windows + "Firefox/{0}.0").format(120),
        (windows + "Firefox/{0}.0").format(131),
    )
    assert family(old) == family(new) == "Firefox/Windows"
    assert family("") == family(None) == ""


def test_redis_records_stored_before_the_impersonator_field_still_load():
    record = SessionRecordFactory(impersonator_id="42")
    packed = codec.pack_record(record)
    assert codec.unpack(packed).impersonator_id == "42"
    fields, _, data = packed.partition("\n")
    # Stored before the fields that follow ``version`` were added.
    kept = codec.STORED.index("impersonator_id")
    older = codec.SEP.join(fields.split(codec.SEP)[:kept]) + "\n" + data
    loaded = codec.unpack(older)
    assert loaded.impersonator_id is None
    assert loaded.public_id == record.public_id and loaded.data == record.data
