"""Ending a session is final, even against a request in flight that rotates
it to a new public id.

Each round signs a victim in, starts a real request on a second thread that
stops at a barrier between its load and its save (``tests.views.in_flight``),
ends the session by one of the ending paths while it waits, then lets it
finish. Afterwards nothing that request answered may be signed in, and the
user has no session left but the one that did the ending. The barrier sits
before or after the rotation step, so both orders are covered every time.
"""

import os
import threading
from itertools import product

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from django_sessiontokens import services
from tests.conftest import public_id, sign_in, signed_in_as
from tests.factories import UserFactory
from tests.views import InFlight

ROUNDS = int(os.environ.get("SESSIONTOKENS_RACE_ROUNDS", "1000"))
HOME, CAFE, DESK = "203.0.113.1", "203.0.113.2", "198.51.100.9"
ENDINGS = ["end_one", "end_all", "logout", "api_delete", "password_change"]
CASES = [
    *product(["rotate", "binding"], ["before", "after"], ENDINGS),
    *product(["sign-in"], ["before", "after"], ["end_one", "logout"]),
]


def end(ending, *, pid, cookie, user):
    """End the victim's session by one of the paths a site offers; returns
    the public id of a session the ending itself kept (or ``None``)."""
    if ending == "end_one":
        services.end_session(pid)
    elif ending == "end_all":
        services.end_user_sessions(user)
    elif ending == "logout":
        other = Client(REMOTE_ADDR=HOME)
        other.cookies["sessionid"] = cookie
        assert other.post("/logout/").status_code in (200, 302)
    elif ending == "api_delete":
        manager = sign_in(user, ip=DESK)
        url = reverse("sessiontokens:api-session", args=[pid])
        assert manager.delete(url).status_code == 200
        return public_id(manager)
    elif ending == "password_change":
        user.set_password("changed")
        user.save()
    return None


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_ended_session_stays_ended_against_a_rotation_in_flight(engine, settings):
    settings.SESSIONTOKENS_ON_IP_CHANGE = "rotate"
    alice = UserFactory(username="alice")
    outcomes: dict[str, int] = {}
    revived = []
    for round_ in range(ROUNDS):
        kind, when, ending = CASES[round_ % len(CASES)]
        InFlight.reset()
        if kind == "sign-in":
            victim = Client(REMOTE_ADDR=HOME)
            assert victim.get("/set/").status_code == 200  # an anonymous record
        else:
            victim = sign_in(alice, ip=HOME)
        pid, cookie = public_id(victim), victim.cookies["sessionid"].value
        answered = {}

        def in_flight(victim=victim, kind=kind, when=when, answered=answered):
            try:
                answered["status"] = victim.get(
                    "/in-flight/",
                    {"kind": kind, "when": when, "username": "alice"},
                    REMOTE_ADDR=CAFE if kind == "binding" else HOME,
                ).status_code
            finally:
                connections.close_all()  # this thread's, or they pile up

        thread = threading.Thread(target=in_flight)
        thread.start()
        try:
            assert InFlight.reached.wait(10), "the request never reached the barrier"
            kept = end(ending, pid=pid, cookie=cookie, user=alice)
        finally:
            InFlight.release.set()
            thread.join(10)
        case = f"{kind}/{when}/{ending}"
        outcomes[f"{case} -> {answered.get('status')}"] = (
            outcomes.get(f"{case} -> {answered.get('status')}", 0) + 1
        )
        alive = {info.public_id for info in services.list_user_sessions(alice)}
        if signed_in_as(victim) is not None or alive - {kept}:
            revived.append((round_, case, answered.get("status"), alive - {kept}))
        services.end_user_sessions(alice)  # next round starts clean
    assert revived == [], (revived[:5], outcomes)
    # Every case ran, and the in-flight request was told its session ended.
    assert {key.split(" -> ")[0] for key in outcomes} == {
        f"{k}/{w}/{e}" for k, w, e in CASES
    } or len(CASES) > ROUNDS
