"""``--user``: a username or a primary key."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError


def resolve_user(value: str) -> Any:
    """The user whose username is ``value``, else whose primary key is."""
    model = get_user_model()
    manager = model._default_manager
    user = manager.filter(**{model.USERNAME_FIELD: value}).first()
    if user is not None:
        return user
    try:
        pk = model._meta.pk.to_python(value)
    except (ValidationError, ValueError, TypeError):
        pk = None
    user = manager.filter(pk=pk).first() if pk is not None else None
    if user is None:
        raise CommandError(
            f"No user has the username or id {value!r}. Check the spelling, "
            "or pass the user's primary key."
        )
    return user


def usernames(user_ids: Iterable[str | None]) -> dict[str, str]:
    """Usernames by user id (as strings) for display."""
    model = get_user_model()
    ids = {user_id for user_id in user_ids if user_id is not None}
    if not ids:
        return {}
    users = model._default_manager.filter(pk__in=ids)
    return {str(user.pk): user.get_username() for user in users}
