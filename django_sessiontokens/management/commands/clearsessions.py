"""``manage.py clearsessions``, as Django names it, without
``django.contrib.sessions`` installed: a cron line written for Django keeps
working after the switch. It runs the engine's ``clear_expired`` (the whole
purge, in the store's batches), like Django's own command."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from django_sessiontokens.management.errors import storage_errors


class Command(BaseCommand):
    help = (
        "Remove expired sessions (Django's command name; "
        "'purgesessions' offers batches, a dry run and progress)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        engine = import_module(settings.SESSION_ENGINE)
        try:
            clear_expired = engine.SessionStore.clear_expired
        except AttributeError:
            raise CommandError(
                f"Session engine {settings.SESSION_ENGINE!r} cannot purge expired "
                "sessions (it has no SessionStore.clear_expired)."
            ) from None
        with storage_errors():
            clear_expired()
        if options["verbosity"] >= 2:
            self.stdout.write("Expired sessions removed.")
