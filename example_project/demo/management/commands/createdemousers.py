"""``createdemousers``: alice and bob, and the staff superuser admin, all
with the password ``demo-password-1``. Running it again changes nothing."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

PASSWORD = "demo-password-1"
USERS = [
    ("alice", "Alice", False),
    ("bob", "Bob", False),
    ("admin", "Admin", True),
]


class Command(BaseCommand):
    help = f"Create the demo users alice, bob and admin (password {PASSWORD!r})."

    def handle(self, *args: Any, **options: Any) -> None:
        model = get_user_model()
        for username, first_name, staff in USERS:
            user, created = model.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first_name,
                    "email": f"{username}@example.com",
                    "is_staff": staff,
                    "is_superuser": staff,
                },
            )
            if created or not user.check_password(PASSWORD):
                user.set_password(PASSWORD)
                user.save()
            state = "created" if created else "already there"
            self.stdout.write(f"{username}: {state}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Sign in as alice, bob or admin with the password {PASSWORD!r}."
            )
        )
