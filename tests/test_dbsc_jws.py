"""DBSC proofs: JWS parsing and verification (``core.jws``), pure."""

import base64
import json

import pytest

from django_sessiontokens.core import jws
from tests.dbsc_browser import b64u, cjson, new_key, public_jwk, sign


@pytest.fixture(scope="module")
def keys():
    return {"ES256": new_key("ES256"), "RS256": new_key("RS256")}


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_a_chromium_proof_verifies(keys, alg):
    proof = jws.parse(sign(keys[alg], alg, "c1", with_jwk=True))
    assert (proof.alg, proof.jti) == (alg, "c1")
    assert jws.verify(proof, proof.jwk, alg)
    stored = json.loads(jws.canonical_jwk(proof.jwk, alg))
    assert stored == public_jwk(keys[alg], alg)


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_another_key_or_payload_fails(keys, alg):
    other = public_jwk(new_key(alg), alg)
    proof = jws.parse(sign(keys[alg], alg, "c1"))
    assert not jws.verify(proof, other, alg)
    head, _, sig = sign(keys[alg], alg, "c1").split(".")
    tampered = jws.parse(f"{head}.{b64u(cjson({'jti': 'c2'}))}.{sig}")
    assert not jws.verify(tampered, public_jwk(keys[alg], alg), alg)


def test_verified_over_the_received_segments(keys):
    """Whitespace in the payload JSON still verifies: nothing is
    re-serialized."""
    key = keys["ES256"]
    header = b64u(cjson({"alg": "ES256", "typ": "dbsc+jwt"}))
    payload = b64u(b'{ "jti" : "c1" }')
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(
        key.sign(f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    )
    sig = b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
    proof = jws.parse(f"{header}.{payload}.{sig}")
    assert jws.verify(proof, public_jwk(key, "ES256"), "ES256")


def test_alg_is_pinned(keys):
    proof = jws.parse(sign(keys["RS256"], "RS256", "c1"))
    assert not jws.verify(proof, public_jwk(keys["ES256"], "ES256"), "ES256")


def test_a_der_signature_is_refused(keys):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = keys["ES256"]
    signing_input = b64u(cjson({"alg": "ES256", "typ": "dbsc+jwt"})) + "." + b64u(b"{}")
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    proof = jws.parse(f"{signing_input}.{b64u(der)}")
    assert not jws.verify(proof, public_jwk(key, "ES256"), "ES256")


@pytest.mark.parametrize(
    ("header", "why"),
    [
        ({"alg": "none", "typ": "dbsc+jwt"}, "alg"),
        ({"alg": "HS256", "typ": "dbsc+jwt"}, "alg"),
        ({"alg": "ES256"}, "typ"),
        ({"alg": "ES256", "typ": "JWT"}, "typ"),
    ],
)
def test_unsupported_headers_are_refused(header, why):
    value = f"{b64u(cjson(header))}.{b64u(b'{}')}.{b64u(b'x' * 64)}"
    with pytest.raises(jws.ProofError, match=why):
        jws.parse(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "a.b",
        "a.b.c.d",
        "!!!.b.c",
        "e30.e30.x",  # b64 of "{}" but a 1-char signature
        b64u(b"[]") + ".e30.AAAA",
        b64u(b"not json") + ".e30.AAAA",
        b64u("é".encode("latin-1")) + ".e30.AAAA",
        "x" * (jws.MAX_LENGTH + 1),
        base64.urlsafe_b64encode(b'{"alg":"ES256","typ":"dbsc+jwt"}').decode()
        + ".e30.AAAA",  # padded base64
    ],
)
def test_malformed_proofs_are_refused(value):
    with pytest.raises(jws.ProofError):
        jws.parse(value)


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
        {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"},
        {"kty": "EC", "crv": "P-256", "x": b64u(b"\x01" * 32), "y": b64u(b"\x01" * 32)},
        {"kty": "EC", "crv": "P-256", "x": b64u(b"\x01" * 31)},
        {"kty": "oct", "k": "AA"},
    ],
)
def test_bad_keys_are_refused(jwk):
    alg = "RS256" if jwk["kty"] == "RSA" else "ES256"
    with pytest.raises(jws.ProofError):
        jws.public_key(jwk, alg)


def test_small_rsa_keys_are_refused():
    from cryptography.hazmat.primitives.asymmetric import rsa

    small = rsa.generate_private_key(65537, 1024)
    with pytest.raises(jws.ProofError, match="too small"):
        jws.public_key(public_jwk(small, "RS256"), "RS256")
