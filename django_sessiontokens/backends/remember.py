"""Remember me for ``TokenSessionStore``: which limits and which cookie a
session gets. The rules are ``core.policy``'s (``remembered`` selects the
remembered limits); the flag is a field of the stored record."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

#: The request attribute holding "remember me" as chosen in the request
#: (``django_sessiontokens.remember``): a sign-in later in the request may
#: flush the session, and applies the choice again.
REMEMBER_ATTRIBUTE = "_sessiontokens_remember"

if TYPE_CHECKING:
    from django_sessiontokens.backends.rotation import _Pending
    from django_sessiontokens.types import SessionRecord


class RememberMixin:
    """Mixed into ``TokenSessionStore`` (which provides the rest)."""

    _record: SessionRecord | None
    _pending: _Pending | None
    modified: bool
    #: "Remember me" as chosen in this request (``remember``); ``None``:
    #: unchanged.
    _remember: bool | None = None

    if TYPE_CHECKING:

        def _user_id(self, data: dict[str, Any]) -> str | None: ...
        def get(self, key: str, default: Any = None) -> Any: ...
        def set_expiry(self, value: Any) -> None: ...
        @property
        def _session(self) -> dict[str, Any]: ...

    # Remember me ------------------------------------------------------------
    def remember(self, remembered: bool = True) -> None:
        """Mark the session remembered ("keep me signed in": the remembered
        limits and a persistent cookie) or not (the ordinary limits and a
        browser-session cookie, Django's ``set_expiry(0)``). Stored by the
        next save; only a signed-in session is remembered."""
        self._remember = bool(remembered)
        if remembered:
            if self.get("_session_expiry") == 0:
                self.set_expiry(None)
        else:
            self.set_expiry(0)
        self.modified = True

    def _remembered(self, data: dict[str, Any]) -> bool:
        """Is the session remembered, as its next write will store it?"""
        if self._user_id(data) is None:
            return False
        if self._remember is not None:
            return self._remember
        if self._pending is not None:
            return self._pending.remembered
        return self._record.remembered if self._record is not None else False

    @property
    def remembered(self) -> bool:
        """Is the signed-in session remembered? Loads the session."""
        return self._remembered(self._session)

    def get_expire_at_browser_close(self) -> bool:
        """A remembered session's cookie is persistent; the others follow
        Django (``set_expiry(0)``, ``SESSION_EXPIRE_AT_BROWSER_CLOSE``)."""
        if self.remembered:
            return False
        return bool(super().get_expire_at_browser_close())  # type: ignore[misc]
