"""Re-authentication before ending other sessions
(``SESSIONTOKENS_REAUTH_TO_END_SESSIONS``, OWASP ASVS 5.0 7.5.2).

``views.end_own`` and ``views.end_others`` (the page, the JSON API, DRF and
django-ninja) call ``require``: unless the user authenticated within the
setting's time (``decorators.authenticated_recently``), it raises
``ReauthenticationRequired``. The page then shows ``ConfirmPasswordForm``
(``sessiontokens/reauthenticate.html``), posted back to the same address
with the CSRF token: the password is checked by ``django.contrib.auth``'s
``authenticate`` as Django's login form does (any backend, custom user
models), the session is stamped as authenticated now and gets a new token,
and the action continues. The APIs answer 403 with ``"code":
"reauthentication_required"``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from django_sessiontokens.conf import conf
from django_sessiontokens.decorators import authenticated_recently
from django_sessiontokens.exceptions import ReauthenticationRequired

#: The confirmation form's field (its presence marks a confirming POST).
FIELD = "reauth_password"
#: Set on the request when its POST confirmed the password.
_CONFIRMED = "_sessiontokens_reauthenticated"


def require(request: HttpRequest) -> None:
    """Raise ``ReauthenticationRequired`` unless the user authenticated
    recently enough to end other sessions."""
    max_age = conf.REAUTH_TO_END_SESSIONS
    if max_age is not None and not authenticated_recently(request, max_age):
        raise ReauthenticationRequired(max_age)


class ConfirmPasswordForm(forms.Form):
    """The signed-in user's password, checked by ``authenticate``."""

    reauth_password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_reauth_password(self) -> str:
        password: str = self.cleaned_data["reauth_password"]
        user = self.request.user
        # As Django's AuthenticationForm asks the backends: ``username``
        # (ModelBackend reads it for any USERNAME_FIELD); a failure sends
        # ``user_login_failed``, which lockout tools count.
        found = authenticate(
            self.request, username=user.get_username(), password=password
        )
        if found is None or found.pk != user.pk:
            raise forms.ValidationError(
                gettext("That password is not correct."), code="invalid_password"
            )
        return password


def confirm(request: HttpRequest) -> HttpResponse | None:
    """On a POST carrying the confirmation form: ``None`` when the password
    is right (the session is then authenticated now; ``finish`` gives it a
    new token once the action is done), else the form again with its error.
    On any other request ``None``."""
    if FIELD not in request.POST:
        return None
    form = ConfirmPasswordForm(request, request.POST)
    if not form.is_valid():
        return page(request, form)
    session: Any = request.session
    if hasattr(session, "mark_authenticated"):
        session.mark_authenticated()
        setattr(request, _CONFIRMED, True)
    return None


def finish(request: HttpRequest) -> None:
    """After the action: a confirmed re-authentication, like a sign-in,
    gives the session a new token (not before: ending the other sessions
    keeps the request's own, by its id)."""
    if getattr(request, _CONFIRMED, False) and request.user.is_authenticated:
        from django_sessiontokens import rotate

        rotate(request, reason="reauthentication")


def page(request: HttpRequest, form: ConfirmPasswordForm | None = None) -> HttpResponse:
    """The confirmation page, posting back to the address of the action."""
    return render(
        request,
        "sessiontokens/reauthenticate.html",
        {
            "form": form or ConfirmPasswordForm(request),
            "action": request.get_full_path(),
            "field": FIELD,
        },
        status=403 if form is None else 400,
    )


def api_answer(exc: ReauthenticationRequired) -> JsonResponse:
    """The JSON APIs' answer: 403 and a code a client can act on."""
    return JsonResponse(
        {
            "error": gettext(
                "Sign in again (or confirm your password) to end other sessions."
            ),
            "code": ReauthenticationRequired.CODE,
            "max_age": int(exc.max_age),
        },
        status=403,
    )
