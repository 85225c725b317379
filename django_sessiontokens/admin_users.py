"""Ending all of one user's sessions from the user admin.

``EndSessionsUserAdminMixin`` adds an "End all sessions" action to the user
list and an "End all sessions" button to the user change page (with a
confirmation page). ``django_sessiontokens.admin`` mixes it into the
registered user admin when that is a ``UserAdmin``; a custom user admin
lists it first among its bases.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import select_template
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from django_sessiontokens import services
from django_sessiontokens.devices import describe

#: The permission that ending sessions in the admin requires.
END_PERMISSION = "sessiontokens.end_session"


def can_end_sessions(request: HttpRequest) -> bool:
    return bool(request.user.has_perm(END_PERMISSION))


def end_user_sessions(request: HttpRequest, user: Any) -> int:
    """End ``user``'s sessions as an admin; your own current one stays."""
    current = request.session if user.pk == request.user.pk else None
    return len(
        services.end_user_sessions(
            user,
            except_=current,
            reason=services.Reason.REVOKED,
            actor=services.Actor.ADMIN,
            ended_by=request.user,
            request=request,
        )
    )


class EndSessionsUserAdminMixin:
    """For a ``ModelAdmin`` of the user model (put it before the admin class
    in the bases). Needs the ``sessiontokens.end_session`` permission."""

    end_sessions_template = "admin/sessiontokens/end_user_sessions.html"
    end_sessions_change_form_template = "admin/sessiontokens/user_change_form.html"

    # The action ---------------------------------------------------------------
    def get_actions(
        self, request: HttpRequest, action_location: Any = None
    ) -> dict[str, Any]:
        # Django 6.1 passes action_location (and warns when it cannot).
        extra = {} if action_location is None else {"action_location": action_location}
        actions: dict[str, Any] = super().get_actions(request, **extra)  # type: ignore[misc]
        if actions is not None and can_end_sessions(request):
            actions["end_all_sessions"] = (
                EndSessionsUserAdminMixin.end_all_sessions,
                "end_all_sessions",
                gettext_lazy("End all sessions of selected %(verbose_name_plural)s"),
            )
        return actions

    def end_all_sessions(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        if not can_end_sessions(request):
            raise PermissionDenied
        users = list(queryset)
        ended = sum(end_user_sessions(request, user) for user in users)
        self.message_user(  # type: ignore[attr-defined]
            request,
            _("Ended %(sessions)s of %(users)s.")
            % {
                "sessions": ngettext("%(count)d session", "%(count)d sessions", ended)
                % {"count": ended},
                "users": ngettext("%(count)d user", "%(count)d users", len(users))
                % {"count": len(users)},
            },
            messages.SUCCESS,
        )

    # The button and its confirmation page ------------------------------------
    def _end_sessions_url_name(self) -> str:
        opts = self.opts  # type: ignore[attr-defined]
        return f"{opts.app_label}_{opts.model_name}_end_sessions"

    def get_urls(self) -> list[URLPattern]:
        admin_site = self.admin_site  # type: ignore[attr-defined]
        return [
            path(
                "<path:object_id>/end-sessions/",
                admin_site.admin_view(self.end_sessions_view),
                name=self._end_sessions_url_name(),
            ),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The change page keeps its own template and gains a button.
        self.sessiontokens_base_form: Any = self.change_form_template  # type: ignore[has-type]
        self.change_form_template = self.end_sessions_change_form_template

    def _base_change_form(self) -> Any:
        opts = self.opts  # type: ignore[attr-defined]
        names = self.sessiontokens_base_form or [
            f"admin/{opts.app_label}/{opts.model_name}/change_form.html",
            f"admin/{opts.app_label}/change_form.html",
            "admin/change_form.html",
        ]
        return select_template([names] if isinstance(names, str) else names)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        context["sessiontokens_base_template"] = self._base_change_form()
        if change and obj is not None and can_end_sessions(request):
            context["sessiontokens_end_url"] = reverse(
                f"admin:{self._end_sessions_url_name()}",
                args=[quote(obj.pk)],
                current_app=self.admin_site.name,  # type: ignore[attr-defined]
            )
        return super().render_change_form(  # type: ignore[misc,no-any-return]
            request, context, add, change, form_url, obj
        )

    def end_sessions_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        admin_site = self.admin_site  # type: ignore[attr-defined]
        opts = self.opts  # type: ignore[attr-defined]
        user = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        if user is None:
            raise PermissionDenied  # never say which ids exist
        if not (
            self.has_view_or_change_permission(request, user)  # type: ignore[attr-defined]
            and can_end_sessions(request)
        ):
            raise PermissionDenied
        change_url = reverse(
            f"admin:{opts.app_label}_{opts.model_name}_change",
            args=[quote(user.pk)],
            current_app=admin_site.name,
        )
        if request.method == "POST":
            ended = end_user_sessions(request, user)
            self.message_user(  # type: ignore[attr-defined]
                request,
                ngettext(
                    "Ended %(count)d session of “%(user)s”.",
                    "Ended %(count)d sessions of “%(user)s”.",
                    ended,
                )
                % {"count": ended, "user": user},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(change_url)
        sessions = [
            (info, describe(info.user_agent))
            for info in services.list_user_sessions(user)
        ]
        context = {
            **admin_site.each_context(request),
            "title": _("End all sessions of “%(user)s”?") % {"user": user},
            "subtitle": None,
            "opts": opts,
            "object": user,
            "sessions": sessions,
            "current_public_id": getattr(request.session, "public_id", None),
            "change_url": change_url,
        }
        request.current_app = admin_site.name
        return TemplateResponse(request, self.end_sessions_template, context)
