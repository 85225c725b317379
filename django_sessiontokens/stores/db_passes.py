"""The purge's passes: ``Cutoffs`` as ranges, one per bound of today's
settings, each on a (partial) index of its own (``models.Session``); the
database store's SQL for them is ``stores.db_sql``'s."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Q

if TYPE_CHECKING:
    from django_sessiontokens.core.policy import Cutoffs


@dataclass(frozen=True)
class Pass:
    """One bound of ``Cutoffs``: rows whose ``key`` is at most ``bound``,
    among signed-in (``signed_in=True``), anonymous (``False``) or all
    (``None``) sessions, remembered or not (``remembered``; ``None``: both);
    ``never_authenticated`` adds ``authenticated_at IS NULL``. Each pass has
    an index of its own (``models.Session``)."""

    key: str
    bound: datetime
    signed_in: bool | None = None
    never_authenticated: bool = False
    remembered: bool | None = None
    #: The pass's index (``None``: the ``expires_at`` field's own).
    index: str | None = None
    #: Only rows whose stored end is after this (``Cutoffs.now``): those
    #: ending earlier are the first pass's. The passes' indexes carry
    #: ``expires_at`` as their last column, so this is checked in the index:
    #: on PostgreSQL the first pass's dead rows are skipped there, not
    #: visited again in the table by every later pass.
    ends_after: datetime | None = None

    def q(self) -> Q:
        found = Q(**{f"{self.key}__lte": self.bound})
        if self.signed_in is not None:
            found &= Q(user__isnull=not self.signed_in)
        if self.never_authenticated:
            found &= Q(authenticated_at__isnull=True)
        if self.remembered is not None:
            found &= Q(remembered=self.remembered)
        if self.ends_after is not None:
            found &= Q(expires_at__gt=self.ends_after)
        return found


def passes(cutoffs: Cutoffs) -> list[Pass]:
    """``Cutoffs`` as ranges, one per index: a session is expired when it
    falls in any of them (``Cutoffs.expired``)."""
    found = [Pass("expires_at", cutoffs.now)]
    for remembered in (False, True):
        idle, absolute = cutoffs.bounds(remembered)
        if idle is not None:
            found.append(
                Pass(
                    "last_activity",
                    idle,
                    signed_in=True,
                    remembered=remembered,
                    index=(
                        "sessiontokens_remembered_idle"
                        if remembered
                        else "sessiontokens_idle"
                    ),
                    ends_after=cutoffs.now,
                )
            )
        if absolute is not None:
            found.append(
                Pass(
                    "authenticated_at",
                    absolute,
                    signed_in=True,
                    remembered=remembered,
                    index=(
                        "sessiontokens_remembered"
                        if remembered
                        else "sessiontokens_authenticated"
                    ),
                    ends_after=cutoffs.now,
                )
            )
            # Never authenticated (rare): one index for both kinds.
            found.append(
                Pass(
                    "created_at",
                    absolute,
                    signed_in=True,
                    never_authenticated=True,
                    remembered=remembered,
                    index="sessiontokens_created",
                    ends_after=cutoffs.now,
                )
            )
    if cutoffs.anonymous is not None:
        found.append(
            Pass(
                "last_activity",
                cutoffs.anonymous,
                signed_in=False,
                index="sessiontokens_anonymous",
                ends_after=cutoffs.now,
            )
        )
    return found


def expired(cutoffs: Cutoffs) -> Q:
    """``Cutoffs`` as a query: the OR of ``passes``, each a range on an
    indexed column."""
    found = Q()
    for step in passes(cutoffs):
        found |= step.q()
    return found
