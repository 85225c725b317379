"""Form mixins for sign-in forms: "keep me signed in" (``RememberMeFormMixin``)
and, in ``django_sessiontokens.limits``, the concurrent-session limit."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from django_sessiontokens import remember


class RememberMeFormMixin(forms.Form):
    """For ``AuthenticationForm`` subclasses: a ``remember`` box ("Keep me
    signed in"). A valid form marks the sign-in remembered or not
    (``django_sessiontokens.remember``), so the view's ``login()`` stores
    it::

        class SignInForm(RememberMeFormMixin, AuthenticationForm):
            pass
    """

    request: Any

    remember = forms.BooleanField(
        label=_("Keep me signed in"),
        required=False,
        help_text=_("Stay signed in after closing the browser, on this device."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or self.cleaned_data
        request = getattr(self, "request", None)
        if request is not None and not self.errors:
            remember(request, bool(cleaned.get("remember")))
        return cleaned


__all__ = ["RememberMeFormMixin"]
