import re

import pytest

from django_sessiontokens.core import tokens


def test_new_token_format_and_entropy():
    token = tokens.new_token()
    assert len(token.value) == tokens.TOKEN_LENGTH == 68
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}\.[A-Za-z0-9_-]{43}", token.value)
    # 43 base64url characters carry 256 bits.
    assert len(tokens.base64.urlsafe_b64decode(token.secret + "=")) == 32
    assert len({tokens.new_token().secret for _ in range(200)}) == 200


def test_parse_round_trip():
    token = tokens.new_token()
    parsed = tokens.parse(token.value)
    assert parsed == token
    assert parsed.public_id == token.value[:24]


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "x",
        "a" * 68,
        "a" * 4096,
        "é" * 68,
        tokens.new_token().value[:-1],
        tokens.new_token().value + "A",
        tokens.new_token().value.replace(".", "-"),
        tokens.new_token().value[:24] + "." + "!" * 43,
        "0123456789abcdef0123456789abcdef",  # a django.contrib.sessions key
        b"bytes",
        12345,
    ],
)
def test_parse_rejects_garbage(value):
    assert tokens.parse(value) is None


def test_legacy_keys_only_when_asked():
    key = "0123456789abcdef0123456789abcdef"
    assert tokens.parse(key) is None
    legacy = tokens.parse(key, accept_legacy=True)
    assert legacy.legacy and legacy.value == key
    assert legacy.public_id == tokens.legacy_public_id(key)
    assert key not in legacy.public_id


def test_hash_and_constant_time_verify():
    token = tokens.new_token()
    digest = tokens.hash_secret(token.secret)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert token.secret not in digest
    assert tokens.verify(token.secret, digest)
    assert not tokens.verify(tokens.new_secret(), digest)
    assert not tokens.verify(token.secret, "")


def test_repr_and_str_never_show_the_secret():
    token = tokens.new_token()
    for text in (repr(token), str(token), f"{token}", repr([token])):
        assert token.secret not in text
        assert token.public_id in text


def test_routing_tag_is_keyed_and_stable(settings):
    first = tokens.routing_tag("42")
    assert first == tokens.routing_tag(42)
    assert tokens.new_token("42").public_id.startswith(first)
    assert tokens.routing_tag("43") != first
    settings.SECRET_KEY = "another-key"
    assert tokens.routing_tag("42") != first
    settings.SECRET_KEY_FALLBACKS = ["tests-only-not-secret"]
    assert first in tokens.routing_tags("42")
    # Anonymous tags are random.
    assert tokens.routing_tag(None) != tokens.routing_tag(None)


def test_seal_only_opens_with_the_predecessor():
    old, new = tokens.new_secret(), tokens.new_secret()
    sealed = tokens.seal(new, old)
    assert sealed != new
    assert tokens.unseal(sealed, old) == new
    assert tokens.unseal(sealed, tokens.new_secret()) != new
