"""Who is really acting: the impersonator an impersonation tool names in
the session.

django-hijack keeps the pks of the users who took over a session in its
``"hijack_history"`` list (the last one is acting); any tool that stores a
user pk (or such a list) under ``SESSIONTOKENS_IMPERSONATOR_SESSION_KEY``
is understood the same way. The session record and its audit events keep
that pk (``impersonator_id``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from django_sessiontokens.conf import conf

#: Longest pk kept (the column's size).
MAX_LENGTH = 64


def impersonator_of(data: Mapping[str, Any]) -> str | None:
    """The impersonator's pk as a string, from session data; ``None`` when
    nobody impersonates (or the value is not a pk of the user model)."""
    key = conf.IMPERSONATOR_SESSION_KEY
    if not key:
        return None
    value = data.get(key)
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
    if value is None or value == "" or isinstance(value, (bool, dict)):
        return None
    try:
        field = get_user_model()._meta.pk
        assert field is not None
        pk = field.to_python(value)
    except (ValidationError, TypeError, ValueError):
        return None
    text = str(pk)
    return text if 0 < len(text) <= MAX_LENGTH else None


def users(ids: Iterable[str | None]) -> dict[str, Any]:
    """The users with these pks, by pk as a string (one query, none for no
    ids); pks that are not valid are left out."""
    wanted = {value for value in ids if value}
    if not wanted:
        return {}
    model = get_user_model()
    field = model._meta.pk
    assert field is not None
    valid = []
    for value in wanted:
        try:
            valid.append(field.to_python(value))
        except ValidationError:
            continue
    return {str(user.pk): user for user in model._default_manager.filter(pk__in=valid)}
