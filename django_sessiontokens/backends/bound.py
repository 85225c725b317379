"""Device-bound sessions (DBSC) in the ``TokenSessionStore`` adapter: the
load reads the session's binding with the session (one round trip on Redis)
when the request must carry a bound cookie, and serves a bound session
without a valid one as signed out (``dbsc.enforcement``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django_sessiontokens import metrics
from django_sessiontokens.conf import conf
from django_sessiontokens.dbsc import enforcement
from django_sessiontokens.stores.registry import binding_store

if TYPE_CHECKING:
    from django_sessiontokens.stores.base import BaseStore
    from django_sessiontokens.types import DeviceBinding, RequestContext, SessionRecord

#: ``rejected`` for a bound session presented without a valid bound cookie.
UNBOUND = "unbound"
#: ``_read``'s binding when the request needs no bound cookie.
UNCHECKED: Any = object()


class BoundMixin:
    """Mixed into ``TokenSessionStore`` (which provides the rest)."""

    context: RequestContext
    #: A user signed in during this request (registration is offered); the
    #: request carried a valid bound cookie; the pending binding seen.
    signed_in_now = False
    device_bound = False
    dbsc_pending: DeviceBinding | None = None

    if TYPE_CHECKING:

        def get_store(self) -> BaseStore: ...

    def _read(self, public_id: str) -> tuple[SessionRecord | None, Any]:
        """The record, and its binding (``UNCHECKED`` when DBSC is off or the
        request is out of the bound cookie's scope)."""
        store = self.get_store()
        request = self.context.request
        if conf.DBSC and request is not None and enforcement.in_scope(request):
            found: tuple[SessionRecord | None, Any] = metrics.timed(
                "get", store.get_with_binding, public_id, binding_store()
            )
            return found
        return metrics.timed("get", store.get, public_id), UNCHECKED

    def _admitted(self, record: SessionRecord, binding: Any) -> bool:
        """May the request use its session? (Always, when unchecked.)"""
        if binding is UNCHECKED or record.user_id is None:
            return True
        return enforcement.admit(self, record, binding)

    def load_once(self) -> None:
        """Load the session now if this request has not yet."""
        self._get_session()  # type: ignore[attr-defined]
