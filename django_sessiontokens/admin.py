"""Admin: the sessions of every engine, ending them, and the audit trail.

Read-only except for ending, which needs ``sessiontokens.end_session`` and
goes through ``services``. Never shows a token, a hash or session data.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from django_sessiontokens import services
from django_sessiontokens.admin_listing import MAX_MATCHED_USERS, SessionListing
from django_sessiontokens.admin_users import (
    EndSessionsUserAdminMixin,
    can_end_sessions,
)
from django_sessiontokens.models import Session, SessionEvent
from django_sessiontokens.stores.base import SEARCH_COUNT_LIMIT

#: The action's name in the form (``action=end_sessions``).
END_ACTION = "end_sessions"
_MAX_SELECTED = 1000


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Lists sessions through the store, not the ORM, so Redis-held sessions
    show up too."""

    list_template = "admin/sessiontokens/session_list.html"
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: Session | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: Session | None = None
    ) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "",
                self.admin_site.admin_view(self.changelist_view),
                name="{}_{}_changelist".format(*info),
            )
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return self._end_selected(request)
        listing = SessionListing(request, services.get_store())
        page = listing.page()
        if listing.truncated:
            messages.warning(
                request,
                _(
                    "The search matched more than %(count)d users; showing the "
                    "sessions of the first %(count)d. Refine the search."
                )
                % {"count": MAX_MATCHED_USERS},
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Sessions"),
            "subtitle": None,
            "opts": self.opts,
            "listing": listing,
            "page": page,
            "page_links": listing.page_links(page),
            "rows": listing.rows(list(page.object_list), self._user_url(request)),
            "can_end": can_end_sessions(request),
            "count_limit": SEARCH_COUNT_LIMIT,
            "end_action": END_ACTION,
            "media": self.media,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.list_template, context)

    def _user_url(self, request: HttpRequest) -> Any:
        user_admin = self.admin_site._registry.get(get_user_model())
        if user_admin is None or not user_admin.has_view_or_change_permission(request):
            return None
        opts = user_admin.opts

        def url(user: Any) -> str | None:
            try:
                return reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_change",
                    args=[quote(user.pk)],
                    current_app=self.admin_site.name,
                )
            except NoReverseMatch:
                return None

        return url

    def _end_selected(self, request: HttpRequest) -> HttpResponse:
        if not can_end_sessions(request):
            raise PermissionDenied
        back = HttpResponseRedirect(request.get_full_path())
        if request.POST.get("action") != END_ACTION:
            self.message_user(request, _("No action selected."), messages.WARNING)
            return back
        selected = [
            value
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
            if 0 < len(value) <= 64
        ][:_MAX_SELECTED]
        if not selected:
            self.message_user(
                request,
                _(
                    "Items must be selected in order to perform actions on them. "
                    "No items have been changed."
                ),
                messages.WARNING,
            )
            return back
        ended = services.end_sessions(
            selected,
            reason=services.Reason.REVOKED,
            actor=services.Actor.ADMIN,
            ended_by=request.user,
            request=request,
        )
        self.message_user(
            request,
            ngettext(
                "Ended %(count)d session.", "Ended %(count)d sessions.", len(ended)
            )
            % {"count": len(ended)},
            messages.SUCCESS,
        )
        return back


@admin.register(SessionEvent)
class SessionEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The audit trail, read-only."""

    list_display = [
        "when",
        "kind",
        "user",
        "reason",
        "actor",
        "ended_by",
        "ip",
        "session",
        "previous",
    ]
    list_filter = ["kind", "reason", "actor"]
    list_select_related = ["user", "ended_by"]
    list_per_page = 100
    actions = None

    @admin.display(description=gettext_lazy("time"), ordering="time")
    def when(self, event: SessionEvent) -> str:
        """With seconds: several events of one session share a minute."""
        return date_format(localtime(event.time), "Y-m-d H:i:s")

    @admin.display(description=gettext_lazy("session id"), ordering="public_id")
    def session(self, event: SessionEvent) -> Any:
        return _short(event.public_id)

    @admin.display(description=gettext_lazy("previous session id"))
    def previous(self, event: SessionEvent) -> Any:
        return _short(event.previous_public_id)

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        username = get_user_model().USERNAME_FIELD
        return ["=public_id", "=previous_public_id", f"user__{username}"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: SessionEvent | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: SessionEvent | None = None
    ) -> bool:
        return False


def _short(public_id: str) -> Any:
    """The last 8 characters (the full id on hover): random, so they tell one
    user's sessions apart (the first 8 are the user's routing tag), they
    match the end of the ids ``listsessions`` prints, and the list fits a
    1400 px window."""
    if not public_id:
        return "—"
    return format_html('<code title="{}">…{}</code>', public_id, public_id[-8:])


def extend_user_admin(site: admin.AdminSite = admin.site) -> bool:
    """Mix ``EndSessionsUserAdminMixin`` into the user model's registered
    admin when that is a ``UserAdmin``; ``True`` if it did (or had)."""
    user_model = get_user_model()
    registered = site._registry.get(user_model)
    if isinstance(registered, EndSessionsUserAdminMixin):
        return True
    if not isinstance(registered, UserAdmin):
        return False
    base = type(registered)
    extended = type(base.__name__, (EndSessionsUserAdminMixin, base), {})
    site.unregister(user_model)
    site.register(user_model, extended)
    return True


extend_user_admin()
