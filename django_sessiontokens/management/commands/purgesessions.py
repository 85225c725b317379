"""``manage.py purgesessions``: remove expired sessions in batches."""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from django_sessiontokens import services
from django_sessiontokens.conf import conf
from django_sessiontokens.management.errors import storage_errors
from django_sessiontokens.management.progress import Progress


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ArgumentTypeError(f"expected a whole number above 0, got {value!r}")
    return number


class Command(BaseCommand):
    help = (
        "Remove expired sessions (idle or absolute timeout) in batches, with "
        "stale Redis index entries and audit events past their retention. "
        "Safe to run while the site serves traffic, and to run again."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=None,
            help="Sessions removed per statement "
            "(default: SESSIONTOKENS_PURGE_BATCH_SIZE, else the store's: 100000 "
            "on SQLite, 50000 on other databases, 1000 on Redis).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what would be removed; remove nothing.",
        )
        parser.add_argument(
            "--send-signals",
            action="store_true",
            default=None,
            help="Send session_ended (reason 'expired') for each purged "
            "session (default: SESSIONTOKENS_PURGE_SEND_SIGNALS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity: int = options["verbosity"]
        dry_run: bool = options["dry_run"]
        batch_size = (
            options["batch_size"]
            or conf.PURGE_BATCH_SIZE
            or services.get_store().purge_batch_size()
        )
        now = timezone.now()
        with (
            storage_errors("batches already removed stay removed"),
            Progress(self.stdout, verbosity, "Expired sessions") as progress,
        ):
            if progress.draws_bar:
                progress.start(services.count_expired(now=now))
            for count in services.purge_expired(
                batch_size=batch_size,
                dry_run=dry_run,
                send_signals=options["send_signals"],
                now=now,
            ):
                progress.update(count)
        events = None if dry_run else prune_audit_events(now)
        if verbosity < 1:
            return
        verb = "Would remove" if dry_run else "Removed"
        self.stdout.write(
            f"{verb} {progress.done} expired session(s) "
            f"in {progress.batches} batch(es) of up to {batch_size}."
        )
        if events is not None:
            self.stdout.write(f"Pruned {events} audit event(s).")


def prune_audit_events(now: datetime) -> int | None:
    """Audit events past ``SESSIONTOKENS_AUDIT_RETENTION`` (when the audit
    trail is part of this installation)."""
    try:
        from django_sessiontokens.services.audit import prune_events
    except ImportError:
        return None
    return prune_events(now)
