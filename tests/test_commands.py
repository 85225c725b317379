"""purgesessions, listsessions and endsessions on every engine."""

import io
import json
import sys
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from django_sessiontokens import signals
from django_sessiontokens.models import SessionEvent
from tests.conftest import capture_signal
from tests.factories import SessionRecordFactory

pytestmark = pytest.mark.django_db


class TTY(io.StringIO):
    def isatty(self):
        return True


def run(*args, stdout=None, **options):
    out = stdout or io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


@pytest.fixture
def aged(store, user, clock):
    """Five sessions that have expired and three that have not, five
    minutes from now (Redis lets keys live until their real expiry)."""
    expired = [SessionRecordFactory(ends_in=60, user=user) for _ in range(3)]
    expired += [SessionRecordFactory(ends_in=60) for _ in range(2)]
    live = [SessionRecordFactory(ends_in=3600, user=user) for _ in range(3)]
    for record in expired + live:
        store.create(record)
    clock.shift(timedelta(minutes=5))
    return expired, live


# purgesessions ----------------------------------------------------------------


def test_purge_removes_expired_sessions_only(engine, store, aged):
    expired, live = aged
    out = run("purgesessions", "--batch-size", "2")
    assert "Removed 5 expired session(s)" in out
    assert all(store.get(r.public_id) is None for r in expired)
    assert all(store.get(r.public_id) is not None for r in live)
    # Idempotent: nothing left to remove.
    assert "Removed 0 expired session(s)" in run("purgesessions")
    assert all(store.get(r.public_id) is not None for r in live)


def test_purge_in_batches_of_the_given_size(engine, store, aged, settings):
    settings.SESSIONTOKENS_PURGE_BATCH_SIZE = 2
    out = run("purgesessions", verbosity=2)
    batches = [
        line for line in out.splitlines() if "batch" in line and "so far" in line
    ]
    assert batches, out
    assert all(int(line.split(", ")[1].split(" ")[0]) <= 2 for line in batches)
    assert "of up to 2" in out


def test_purge_dry_run_removes_nothing(engine, store, aged):
    expired, live = aged
    out = run("purgesessions", "--dry-run")
    assert "Would remove 5 expired session(s)" in out
    assert all(store.get(r.public_id) is not None for r in expired + live)


def test_purge_is_silent_at_verbosity_0(engine, store, aged):
    expired, _ = aged
    assert run("purgesessions", verbosity=0) == ""
    assert all(store.get(r.public_id) is None for r in expired)


def test_purge_prints_plain_counts_when_not_a_terminal(engine, store, aged):
    out = run("purgesessions")
    assert "\r" not in out
    assert "it/s" not in out and "sessions/s" not in out


def test_purge_draws_a_bar_on_a_terminal(engine, store, aged):
    out = run("purgesessions", stdout=TTY())
    assert "Expired sessions" in out
    assert "5/5" in out  # tqdm's counter against the counted total
    assert "Removed 5 expired session(s)" in out


def test_purge_without_tqdm_prints_counts_on_a_terminal(
    engine, store, aged, monkeypatch
):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm -> ImportError
    out = run("purgesessions", stdout=TTY())
    assert "5/5" not in out
    assert "Removed 5 expired session(s)" in out


def test_purge_sends_no_signals_by_default(
    engine, store, aged, django_capture_on_commit_callbacks
):
    with (
        capture_signal(signals.session_ended) as calls,
        django_capture_on_commit_callbacks(execute=True),
    ):
        run("purgesessions", "--dry-run", "--send-signals")
        assert "Removed 5" in run("purgesessions")
    assert calls == []


@pytest.mark.parametrize("how", ["option", "setting"])
def test_purge_sends_expired_signals_when_asked(
    engine, store, aged, settings, django_capture_on_commit_callbacks, how
):
    expired, _ = aged
    if how == "setting":
        settings.SESSIONTOKENS_PURGE_SEND_SIGNALS = True
    args = ["--send-signals"] if how == "option" else []
    with (
        capture_signal(signals.session_ended) as calls,
        django_capture_on_commit_callbacks(execute=True),
    ):
        run("purgesessions", *args)
    assert sorted(c["public_id"] for c in calls) == sorted(r.public_id for r in expired)
    assert {c["reason"] for c in calls} == {"expired"}


def test_purge_prunes_old_audit_events(engine, store, settings, clock):
    settings.SESSIONTOKENS_AUDIT_RETENTION = 86400
    now = timezone.now()
    old = SessionEvent.objects.create(
        time=now - timedelta(days=2), kind="created", public_id="a" * 24
    )
    recent = SessionEvent.objects.create(
        time=now - timedelta(hours=1), kind="created", public_id="b" * 24
    )
    assert "Would remove 0" in run("purgesessions", "--dry-run")
    assert SessionEvent.objects.filter(pk=old.pk).exists()
    out = run("purgesessions")
    assert "Pruned 1 audit event(s)." in out
    assert not SessionEvent.objects.filter(pk=old.pk).exists()
    assert SessionEvent.objects.filter(pk=recent.pk).exists()


@pytest.mark.parametrize("size", ["0", "-5", "many"])
def test_purge_rejects_a_bad_batch_size(engine, size):
    with pytest.raises(CommandError, match="above 0"):
        run("purgesessions", "--batch-size", size)


# listsessions -----------------------------------------------------------------


@pytest.fixture
def sessions(store, user, other_user, clock):
    """Tokens: two live and one expired session of ``user``, one live of
    ``other_user``, one anonymous."""
    made = {}
    for name, owner, ends_in in [
        ("mine1", user, 3600),
        ("mine2", user, 7200),
        ("mine_expired", user, 60),
        ("theirs", other_user, 3600),
        ("anonymous", None, 3600),
    ]:
        record = SessionRecordFactory(user=owner, ends_in=ends_in)
        store.create(record)
        made[name] = record
    clock.shift(timedelta(minutes=5))
    return made


def test_list_user_sessions_as_a_table(engine, sessions, user):
    out = run("listsessions", "--user", user.username)
    assert sessions["mine1"].public_id in out
    assert sessions["mine2"].public_id in out
    assert sessions["mine_expired"].public_id not in out
    assert sessions["theirs"].public_id not in out
    assert "PUBLIC ID" in out and user.username in out
    assert "2 session(s)." in out


def test_list_all_includes_expired_and_accepts_an_id(engine, sessions, user):
    out = run("listsessions", "--user", str(user.pk), "--all")
    assert sessions["mine_expired"].public_id in out
    assert "expired" in out
    assert "3 session(s)." in out


def test_list_json_never_shows_a_token(engine, store, user, clock):
    from django_sessiontokens.core import tokens

    token = tokens.new_token(user.pk)
    store.create(SessionRecordFactory(user=user, token=token))
    out = run("listsessions", "--user", user.username, "--format", "json")
    rows = json.loads(out)
    assert [row["public_id"] for row in rows] == [token.public_id]
    assert rows[0]["user"] == user.username
    assert rows[0]["state"] == "active"
    assert token.secret not in out
    assert token.secret_hash not in out


def test_list_without_user_shows_signed_in_sessions(engine, sessions):
    out = run("listsessions", "--format", "json")
    ids = {row["public_id"] for row in json.loads(out)}
    assert ids == {sessions[n].public_id for n in ("mine1", "mine2", "theirs")}
    out = run("listsessions", "--limit", "1")
    assert "3 session(s) (1 shown)." in out


def test_list_unknown_user_is_an_error(engine):
    with pytest.raises(CommandError, match="No user has the username or id 'nobody'"):
        run("listsessions", "--user", "nobody")


def test_list_rejects_bad_arguments(engine):
    with pytest.raises(CommandError):
        run("listsessions", "--format", "xml")
    with pytest.raises(CommandError):
        run("listsessions", "--active", "--all")
    with pytest.raises(CommandError, match="--limit"):
        run("listsessions", "--limit", "0")


# endsessions ------------------------------------------------------------------


def test_end_user_sessions(
    engine, store, sessions, user, django_capture_on_commit_callbacks
):
    with (
        capture_signal(signals.session_ended) as calls,
        django_capture_on_commit_callbacks(execute=True),
    ):
        out = run("endsessions", "--user", user.username)
    mine = {sessions[n].public_id for n in ("mine1", "mine2", "mine_expired")}
    assert {c["public_id"] for c in calls} == mine
    assert {(c["reason"], c["actor"]) for c in calls} == {("command", "command")}
    assert all(store.get(public_id) is None for public_id in mine)
    assert store.get(sessions["theirs"].public_id) is not None
    assert all(f"Ended {public_id}" in out for public_id in mine)
    assert "Ended 3 session(s)." in out


def test_end_by_id(engine, store, sessions):
    ids = [sessions["mine1"].public_id, sessions["anonymous"].public_id]
    out = run("endsessions", f"--id={ids[0]}", f"--id={ids[1]}")
    assert "Ended 2 session(s)." in out
    assert all(store.get(public_id) is None for public_id in ids)
    assert store.get(sessions["mine2"].public_id) is not None


def test_end_unknown_id_ends_nothing(engine, store, sessions):
    known = sessions["mine1"].public_id
    unknown = "x" * 24
    with pytest.raises(CommandError, match=f"No session has the id {unknown}"):
        run("endsessions", f"--id={known}", f"--id={unknown}")
    assert store.get(known) is not None


def test_end_refuses_a_cookie_value(engine, store, sessions):
    from django_sessiontokens.core import tokens

    cookie = tokens.new_token().value
    with pytest.raises(CommandError, match="never a cookie value"):
        run("endsessions", f"--id={cookie}")


def test_end_unknown_user_is_an_error(engine, store, sessions):
    with pytest.raises(CommandError, match="No user has"):
        run("endsessions", "--user", "999999")
    assert store.count() == 5


def test_end_needs_exactly_one_selector(engine, user):
    with pytest.raises(CommandError, match="one of the arguments"):
        run("endsessions")
    with pytest.raises(CommandError, match="not allowed with"):
        run("endsessions", "--all", "--user", user.username, "--no-input")


class FakeStdin(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def test_end_all_refuses_without_a_terminal_or_no_input(
    engine, store, sessions, monkeypatch
):
    monkeypatch.setattr(sys, "stdin", FakeStdin(tty=False))
    with pytest.raises(CommandError, match="--no-input"):
        run("endsessions", "--all")
    assert store.count() == 5


def test_end_all_asks_on_a_terminal(engine, store, sessions, monkeypatch):
    monkeypatch.setattr(sys, "stdin", FakeStdin(tty=True))
    questions = []
    monkeypatch.setattr(
        "builtins.input", lambda prompt: questions.append(prompt) or "no"
    )
    with pytest.raises(CommandError, match="Cancelled"):
        run("endsessions", "--all")
    assert store.count() == 5
    assert "End all 5 session(s)?" in questions[0]
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    assert "Ended 5 session(s)." in run("endsessions", "--all")
    assert store.count() == 0


def test_end_all_with_no_input(engine, store, sessions):
    out = run("endsessions", "--all", "--no-input")
    assert "Ended 5 session(s)." in out
    assert store.count() == 0
    assert "no sessions to end" in run("endsessions", "--all", "--no-input")


# Redis unreachable ------------------------------------------------------------


@pytest.fixture
def redis_down(engine, settings, user):
    caches = {**settings.CACHES}
    caches["redis"] = {
        **caches["redis"],
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
    settings.CACHES = caches


@pytest.mark.parametrize(
    "args",
    [
        ["purgesessions"],
        ["listsessions", "--user", "{user}"],
        ["endsessions", "--user", "{user}"],
        ["endsessions", "--all", "--no-input"],
    ],
    ids=["purge", "list", "end-user", "end-all"],
)
@pytest.mark.parametrize("engine", ["redis"], indirect=True)
def test_unreachable_redis_is_a_command_error(engine, redis_down, user, args):
    args = [a.format(user=user.username) for a in args]
    with pytest.raises(CommandError, match="Check that Redis is running"):
        run(*args)


def test_listsessions_is_silent_at_verbosity_0(engine, store, aged):
    assert run("listsessions", verbosity=0) == ""
    assert run("listsessions", "--format", "json", verbosity=0) == ""


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["listsessions", "--limit", "many"], 2),  # argparse: usage, exit 2
        (["purgesessions", "--batch-size", "0"], 2),
        (["listsessions", "--limit", "0"], 1),  # CommandError: exit 1
        (["listsessions", "--no-such-option"], 2),
    ],
)
def test_exit_statuses_as_a_shell_sees_them(args, status):
    import os
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "django", *args, "--settings=tests.settings"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
        timeout=60,
    )
    assert done.returncode == status, done.stderr
    assert done.stderr.strip()  # says what is wrong
