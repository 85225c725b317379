from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from django_sessiontokens.core import tokens
from django_sessiontokens.stores.base import SessionRecord


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw-correct-horse")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()
            obj._password = None


class StaffFactory(UserFactory):
    is_staff = True


class SessionRecordFactory(factory.Factory):
    """A session record, not stored: ``store.create(SessionRecordFactory())``.
    ``user`` sets ``user_id``; ``ends_in`` is seconds from now (negative:
    already expired); pass ``token=tokens.new_token(...)`` to know the
    cookie value."""

    class Meta:
        model = SessionRecord

    class Params:
        user = None
        ends_in = 3600
        token = factory.LazyAttribute(
            lambda o: tokens.new_token(o.user.pk if o.user else None)
        )

    public_id = factory.LazyAttribute(lambda o: o.token.public_id)
    secret_hash = factory.LazyAttribute(lambda o: o.token.secret_hash)
    user_id = factory.LazyAttribute(lambda o: str(o.user.pk) if o.user else None)
    created_at = factory.LazyFunction(timezone.now)
    last_activity = factory.LazyAttribute(lambda o: o.created_at)
    authenticated_at = factory.LazyAttribute(lambda o: o.created_at if o.user else None)
    expires_at = factory.LazyAttribute(
        lambda o: o.created_at + timedelta(seconds=o.ends_in)
    )
    ip = "203.0.113.7"
    user_agent = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Firefox/130.0"
