"""``manage.py listsessions``: signed-in sessions, by public id only."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from django_sessiontokens import services
from django_sessiontokens.management.errors import storage_errors
from django_sessiontokens.management.users import resolve_user, usernames

COLUMNS = (
    "public_id",
    "user",
    "state",
    "signed_in",
    "last_activity",
    "expires",
    "remembered",
    "ip",
    "user_agent",
)


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


class Command(BaseCommand):
    help = (
        "List sessions by public id (never a token): one user's with --user, "
        "else the most recently active signed-in sessions."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--user", help="A username or a user id.")
        state = parser.add_mutually_exclusive_group()
        state.add_argument(
            "--active",
            dest="include_expired",
            action="store_false",
            default=False,
            help="Only sessions that have not expired (the default).",
        )
        state.add_argument(
            "--all",
            dest="include_expired",
            action="store_true",
            help="Expired sessions not purged yet too.",
        )
        parser.add_argument(
            "--format", choices=["table", "json"], default="table", help="Output."
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=100,
            help="Without --user: how many sessions at most (default 100).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        include_expired: bool = options["include_expired"]
        if options["limit"] < 1:
            raise CommandError("--limit must be a whole number above 0.")
        with storage_errors():
            if options["user"] is not None:
                user = resolve_user(options["user"])
                infos = services.list_user_sessions(
                    user, include_expired=include_expired
                )
                total = len(infos)
            else:
                total, infos = services.search_sessions(
                    state="all" if include_expired else "active",
                    limit=options["limit"],
                )
        names = usernames(info.user_id for info in infos)
        rows = [
            {
                "public_id": info.public_id,
                "user_id": info.user_id,
                "user": names.get(info.user_id or "", info.user_id),
                "state": "active" if info.is_active else "expired",
                "signed_in": _time(info.authenticated_at),
                "last_activity": _time(info.last_activity),
                "expires": _time(info.expires_at),
                "remembered": info.remembered,
                "ip": info.ip,
                "user_agent": info.user_agent,
            }
            for info in infos
        ]
        if options["verbosity"] < 1:
            return  # --verbosity 0: errors only (the exit status says it worked)
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows, indent=2))
            return
        self._table(rows)
        if options["verbosity"] >= 1:
            shown = f" ({len(rows)} shown)" if total > len(rows) else ""
            self.stdout.write(f"{total} session(s){shown}.")

    def _table(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        cells = [[c.upper().replace("_", " ") for c in COLUMNS]]
        for row in rows:
            agent = row["user_agent"] or ""
            row = {
                **row,
                "user_agent": agent[:40] + ("…" if len(agent) > 40 else ""),
                "remembered": "yes" if row["remembered"] else "",
            }
            cells.append(["" if row[c] is None else str(row[c]) for c in COLUMNS])
        widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
        for line in cells:
            text = "  ".join(
                cell.ljust(width) for cell, width in zip(line, widths, strict=True)
            )
            self.stdout.write(text.rstrip())
