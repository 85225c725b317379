"""The admin's session listing, built on ``BaseStore.search`` so it shows the
sessions of whichever engine is in use (Redis-held ones are not rows).

It reads filters from the query string, resolves a search to users in the
database, asks the store for one page and describes each session for people:
never a token, a hash or session data.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.admin.views.main import PAGE_VAR, SEARCH_VAR
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from django_sessiontokens.core import policy
from django_sessiontokens.devices import DeviceInfo, describe
from django_sessiontokens.location import Location, locate
from django_sessiontokens.services import bindings
from django_sessiontokens.stores.base import BaseStore, SessionRecord

STATE_VAR = "state"
STAFF_VAR = "staff"
STATES = {"active": _("Active"), "expired": _("Expired"), "all": _("All")}
STAFF_CHOICES = {"": _("All"), "yes": _("Staff"), "no": _("Not staff")}
PER_PAGE = 50
#: A search matching more users than this shows the sessions of the first ones.
MAX_MATCHED_USERS = 1000


@dataclass(frozen=True)
class Row:
    """One session as the admin shows it."""

    public_id: str
    user: Any
    user_url: str | None
    user_id: str | None
    device: DeviceInfo
    ip: str | None
    created_at: datetime
    last_activity: datetime
    expires_at: datetime
    active: bool
    current: bool
    #: The user impersonating ``user`` in it (``impersonator_id``: its pk).
    impersonator: Any = None
    impersonator_id: str | None = None

    @property
    def location(self) -> Location | None:
        return locate(self.ip)

    #: Bound to its device's key (DBSC).
    device_bound: bool = False
    #: "Keep me signed in": the remembered limits apply.
    remembered: bool = False


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _has_field(model: Any, name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


class _Results:
    """What ``Paginator`` needs: ``count()`` and slicing, backed by one
    ``search`` call for the requested page (another only if the page number
    was out of range)."""

    def __init__(self, listing: SessionListing, offset: int, limit: int) -> None:
        self.listing = listing
        self.offset, self.limit = offset, limit
        self.total, self.records = listing.search(offset, limit)

    def count(self) -> int:
        return self.total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, item: slice) -> list[SessionRecord]:
        start, stop = item.start or 0, item.stop or self.total
        if start == self.offset and stop - start <= self.limit:
            return self.records[: stop - start]
        return self.listing.search(start, stop - start)[1]


class SessionListing:
    """Filters from ``request.GET``; ``page()`` gives the rows to show."""

    def __init__(self, request: HttpRequest, store: BaseStore) -> None:
        self.request = request
        self.store = store
        self.now = timezone.now()
        self.user_model = get_user_model()
        self.params = request.GET
        state = self.params.get(STATE_VAR, "active")
        self.state = state if state in STATES else "active"
        staff = self.params.get(STAFF_VAR, "")
        self.has_staff_filter = _has_field(self.user_model, "is_staff")
        self.staff = staff if staff in STAFF_CHOICES and self.has_staff_filter else ""
        self.query = self.params.get(SEARCH_VAR, "").strip()[:200]
        self.ip = _ip(self.query) if self.query else None
        #: The search matched more users than are listed.
        self.truncated = False
        self.user_ids, self.excluded = self._resolve_users()

    # Filters --------------------------------------------------------------
    def _resolve_users(self) -> tuple[list[str] | None, frozenset[str]]:
        """Users to include (``None``: everyone) and, for "not staff" without
        a search, users to leave out (few: the staff)."""
        users: QuerySet[Any] | None = None
        manager = self.user_model._default_manager
        if self.query and self.ip is None:
            condition = Q(
                **{f"{self.user_model.USERNAME_FIELD}__icontains": self.query}
            )
            email = self.user_model.get_email_field_name()
            if _has_field(self.user_model, email):
                condition |= Q(**{f"{email}__icontains": self.query})
            users = manager.filter(condition)
        if self.staff == "yes":
            users = (users if users is not None else manager.all()).filter(
                is_staff=True
            )
        elif self.staff == "no":
            if users is None:
                staff = manager.filter(is_staff=True).values_list("pk", flat=True)
                return None, frozenset(str(pk) for pk in staff)
            users = users.filter(is_staff=False)
        if users is None:
            return None, frozenset()
        ids = list(
            users.order_by("pk").values_list("pk", flat=True)[: MAX_MATCHED_USERS + 1]
        )
        self.truncated = len(ids) > MAX_MATCHED_USERS
        return [str(pk) for pk in ids[:MAX_MATCHED_USERS]], frozenset()

    def search(self, offset: int, limit: int) -> tuple[int, list[SessionRecord]]:
        if not self.excluded:
            return self._store_search(self.user_ids, offset, limit)
        return self._search_excluding(offset, limit)

    def _store_search(
        self, user_ids: Sequence[str] | None, offset: int, limit: int
    ) -> tuple[int, list[SessionRecord]]:
        return self.store.search(
            policy.cutoffs(self.now),
            user_ids=user_ids,
            ip=self.ip,
            state=self.state,
            offset=offset,
            limit=limit,
        )

    def _search_excluding(
        self, offset: int, limit: int
    ) -> tuple[int, list[SessionRecord]]:
        """Everyone's sessions but the excluded users', without sending the
        (possibly huge) list of everyone else to the store: the wanted page
        lies within the first ``offset + limit + excluded`` sessions of the
        unfiltered listing. Costs time in proportion to the page's position."""
        excluded_total = self._store_search(sorted(self.excluded), 0, 1)[0]
        total, records = self._store_search(None, 0, offset + limit + excluded_total)
        kept = [record for record in records if record.user_id not in self.excluded]
        return max(total - excluded_total, 0), kept[offset : offset + limit]

    # Output ---------------------------------------------------------------
    def page(self) -> Page[SessionRecord]:
        number = self.params.get(PAGE_VAR, "1")
        try:
            wanted = max(int(number), 1)
        except ValueError:
            wanted = 1
        results = _Results(self, (wanted - 1) * PER_PAGE, PER_PAGE)
        return Paginator(results, PER_PAGE).get_page(wanted)  # type: ignore[arg-type]

    def rows(
        self,
        records: Sequence[SessionRecord],
        user_url: Callable[[Any], str | None] | None = None,
    ) -> list[Row]:
        ids = {record.user_id for record in records if record.user_id is not None}
        ids |= {r.impersonator_id for r in records if r.impersonator_id is not None}
        users = {
            str(user.pk): user
            for user in self.user_model._default_manager.filter(pk__in=ids)
        }
        current = getattr(getattr(self.request, "session", None), "public_id", None)
        bound = bindings.bound_ids([record.public_id for record in records])
        rows = []
        for record in records:
            user = users.get(record.user_id or "")
            rows.append(
                Row(
                    public_id=record.public_id,
                    user=user,
                    user_url=user_url(user) if user_url and user is not None else None,
                    user_id=record.user_id,
                    device=describe(record.user_agent),
                    ip=record.ip,
                    created_at=record.created_at,
                    last_activity=record.last_activity,
                    expires_at=policy.ends_at(record),
                    active=policy.is_alive(record, self.now),
                    current=record.public_id == current,
                    impersonator=users.get(record.impersonator_id or ""),
                    impersonator_id=record.impersonator_id,
                    device_bound=record.public_id in bound,
                    remembered=record.remembered,
                )
            )
        return rows

    def url(self, **changes: Any) -> str:
        """This listing's query string with some parameters changed
        (``None`` removes one); the page number resets unless given."""
        params = QueryDict(mutable=True)
        params.update(self.params)
        params.pop(PAGE_VAR, None)
        for name, value in changes.items():
            params.pop(name, None)
            if value not in (None, ""):
                params[name] = str(value)
        return "?" + params.urlencode()

    def page_links(
        self, page: Page[SessionRecord]
    ) -> list[tuple[Any, str | None, bool]]:
        """Paginator: (label, url or None for an ellipsis, current)."""
        paginator = page.paginator
        return [
            (
                number,
                self.url(**{PAGE_VAR: number}) if isinstance(number, int) else None,
                number == page.number,
            )
            for number in paginator.get_elided_page_range(page.number)
        ]

    def filters(self) -> list[tuple[Any, list[tuple[Any, str, bool]]]]:
        """Sidebar: (title, [(label, url, selected)])."""
        specs = [
            (
                _("status"),
                [
                    (label, self.url(**{STATE_VAR: key}), key == self.state)
                    for key, label in STATES.items()
                ],
            )
        ]
        if self.has_staff_filter:
            specs.append(
                (
                    _("staff status"),
                    [
                        (label, self.url(**{STAFF_VAR: key}), key == self.staff)
                        for key, label in STAFF_CHOICES.items()
                    ],
                )
            )
        return specs
