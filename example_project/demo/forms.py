"""The sign-in form: Django's, with a "keep me signed in" box."""

from __future__ import annotations

from django.contrib.auth.forms import AuthenticationForm

from django_sessiontokens.forms import RememberMeFormMixin


class SignInForm(RememberMeFormMixin, AuthenticationForm):
    pass
