"""``manage.py importsessions``: move django.contrib.sessions sessions into
ours without signing anyone out."""

from __future__ import annotations

from argparse import ArgumentParser
from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from django_sessiontokens.management.commands.purgesessions import positive_int
from django_sessiontokens.management.errors import storage_errors
from django_sessiontokens.management.progress import Progress
from django_sessiontokens.services import importer
from django_sessiontokens.stores.base import BaseStore

ENGINES = ("db", "redis", "cached_db")


def target_store(name: str | None) -> BaseStore:
    """The store of ``--engine`` (a short name or a module path), else of
    ``SESSION_ENGINE`` when it is ours, else the database store."""
    path = name or settings.SESSION_ENGINE
    if path in ENGINES:
        path = f"django_sessiontokens.backends.{path}"
    if not path.startswith("django_sessiontokens.backends."):
        if name is not None:
            raise CommandError(
                f"--engine must be one of {', '.join(ENGINES)} or a "
                f"django_sessiontokens.backends module, not {name!r}."
            )
        path = "django_sessiontokens.backends.db"
    try:
        engine = import_module(path)
    except ImportError as exc:
        raise CommandError(
            f"Cannot load the session engine {path!r} ({exc}). For Redis "
            'install "django-sessiontokens[redis]".'
        ) from exc
    store: BaseStore = engine.SessionStore.get_store()
    return store


class Command(BaseCommand):
    help = (
        "Move the live sessions of django.contrib.sessions (the django_session "
        "table) into django-sessiontokens, keeping their data and user, so "
        "nobody is signed out. Needs SESSIONTOKENS_ACCEPT_IMPORTED = True "
        "for the old cookies to be accepted (once, then rotated)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=1000,
            help="Rows per transaction (default 1000).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count; change nothing."
        )
        parser.add_argument(
            "--keep-source",
            action="store_true",
            help="Leave imported rows in django_session (to import while the "
            "old engine still serves; run again without it after switching).",
        )
        parser.add_argument(
            "--engine",
            help="Where to import to: db, redis or cached_db (default: "
            "SESSION_ENGINE if it is ours, else db).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity: int = options["verbosity"]
        dry_run: bool = options["dry_run"]
        store = target_store(options["engine"])
        now = timezone.now()
        totals = importer.ImportBatch()
        try:
            live, expired = importer.counts(now)
        except importer.LegacyTableMissing:
            raise CommandError(
                f"There is no {importer.LEGACY_TABLE} table in the database, so "
                "there is nothing to import. Run this command against the "
                "database django.contrib.sessions used (check DATABASES)."
            ) from None
        with (
            storage_errors("batches already imported stay imported"),
            Progress(self.stdout, verbosity, "Importing sessions") as progress,
        ):
            progress.start(live)
            for batch in importer.import_sessions(
                store,
                batch_size=options["batch_size"],
                dry_run=dry_run,
                keep_source=options["keep_source"],
                now=now,
            ):
                totals.imported += batch.imported
                totals.already += batch.already
                totals.undecodable += batch.undecodable
                totals.unknown_user += batch.unknown_user
                totals.removed += batch.removed
                progress.update(batch.rows)
        if verbosity >= 1:
            self._report(totals, expired, dry_run)

    def _report(self, totals: importer.ImportBatch, expired: int, dry: bool) -> None:
        lines = [
            f"{'Would import' if dry else 'Imported'} {len(totals.imported)} "
            "session(s).",
            f"Already imported: {totals.already}.",
            f"Skipped, expired: {expired}.",
            f"Skipped, unreadable or empty (other SECRET_KEY?): {totals.undecodable}.",
            f"Skipped, user no longer exists: {totals.unknown_user}.",
        ]
        if not dry:
            lines.append(f"Removed from {importer.LEGACY_TABLE}: {totals.removed}.")
        for line in lines:
            self.stdout.write(line)
