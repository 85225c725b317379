"""``manage.py endsessions``: end sessions by user, by public id, or all."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from itertools import islice
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from django_sessiontokens import services
from django_sessiontokens.core import tokens
from django_sessiontokens.management.errors import storage_errors
from django_sessiontokens.management.progress import Progress
from django_sessiontokens.management.users import resolve_user
from django_sessiontokens.services import Actor, Reason, SessionInfo

#: Sessions ended per call when ending all of them.
BATCH_SIZE = 1000


class Command(BaseCommand):
    help = (
        "End sessions (reason 'command'): every session of --user, the "
        "sessions named by --id, or --all of them (asks first)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--user", help="A username or a user id.")
        which.add_argument(
            "--id",
            dest="ids",
            action="append",
            metavar="PUBLIC_ID",
            help="A session's public id (as listsessions shows), written "
            "--id=ID; repeatable.",
        )
        which.add_argument(
            "--all", action="store_true", help="Every session: signs everyone out."
        )
        parser.add_argument(
            "--no-input",
            "--noinput",
            dest="interactive",
            action="store_false",
            help="Do not ask for confirmation (needed for --all in scripts).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity: int = options["verbosity"]
        with storage_errors():
            if options["all"]:
                self._end_all(options["interactive"], verbosity)
                return
            if options["user"] is not None:
                user = resolve_user(options["user"])
                ended = services.end_user_sessions(
                    user, reason=Reason.COMMAND, actor=Actor.COMMAND
                )
            else:
                ended = self._end_ids(options["ids"])
        if verbosity >= 1:
            for info in ended:
                user = f" (user {info.user_id})" if info.user_id else ""
                self.stdout.write(f"Ended {info.public_id}{user}")
            self.stdout.write(f"Ended {len(ended)} session(s).")

    def _end_ids(self, ids: list[str]) -> list[SessionInfo]:
        ids = list(dict.fromkeys(ids))
        malformed = [value for value in ids if not tokens.is_public_id(value)]
        if malformed:
            raise CommandError(
                f"Not a session public id: {', '.join(malformed)}. Pass the "
                f"{tokens.PUBLIC_ID_LENGTH}-character id that listsessions "
                "shows, never a cookie value. Nothing was ended."
            )
        store = services.get_store()
        unknown = [value for value in ids if store.get(value) is None]
        if unknown:
            raise CommandError(
                f"No session has the id {', '.join(unknown)} (ended or expired "
                "already?). Nothing was ended."
            )
        return services.end_sessions(
            ids, reason=Reason.COMMAND, actor=Actor.COMMAND, store=store
        )

    def _end_all(self, interactive: bool, verbosity: int) -> None:
        store = services.get_store()
        ids = [record.public_id for record in store.all()]
        if not ids:
            if verbosity >= 1:
                self.stdout.write("There are no sessions to end.")
            return
        if interactive:
            if not sys.stdin.isatty():
                raise CommandError(
                    "--all signs everyone out and asks for confirmation, but "
                    "there is no terminal to ask on. Add --no-input to confirm "
                    "in a script. Nothing was ended."
                )
            answer = input(
                f"End all {len(ids)} session(s)? Every user is signed out. "
                "Type 'yes' to continue: "
            )
            if answer.strip().lower() != "yes":
                raise CommandError("Cancelled. Nothing was ended.")
        ended = 0
        remaining = iter(ids)
        with Progress(self.stdout, verbosity, "Ending sessions") as progress:
            progress.start(len(ids))
            while batch := list(islice(remaining, BATCH_SIZE)):
                infos = services.end_sessions(
                    batch, reason=Reason.COMMAND, actor=Actor.COMMAND, store=store
                )
                ended += len(infos)
                progress.update(len(infos))
                if verbosity >= 2 and not progress.draws_bar:
                    for info in infos:
                        self.stdout.write(f"Ended {info.public_id}")
        if verbosity >= 1:
            self.stdout.write(f"Ended {ended} session(s).")
