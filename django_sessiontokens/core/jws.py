"""DBSC proofs: compact JWS (``typ: dbsc+jwt``) as Chromium signs them.

Pure: no I/O. The signature is checked over the segments as received (never
a re-serialization); ``alg`` is pinned by the caller (``none`` and anything
but ES256 / RS256 are refused); ES256 signatures are raw ``r || s`` (64
bytes), RS256 ones PKCS#1 v1.5 with SHA-256 and a key of 2048 bits or more.
The ``cryptography`` package is imported only when a key is used, so the
package imports without it while DBSC is off.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

#: Longest proof accepted (an RS256 registration proof is about 900 bytes).
MAX_LENGTH = 8192
ALGORITHMS = ("ES256", "RS256")
TYPE = "dbsc+jwt"
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_RSA_BITS = (2048, 8192)


class ProofError(ValueError):
    """The proof cannot be accepted; ``str(exc)`` says why (safe to log)."""


@dataclass(frozen=True)
class Proof:
    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @property
    def alg(self) -> str:
        return str(self.header.get("alg", ""))

    @property
    def jwk(self) -> dict[str, Any] | None:
        found = self.header.get("jwk")
        return found if isinstance(found, dict) else None

    @property
    def jti(self) -> str | None:
        found = self.payload.get("jti")
        return found if isinstance(found, str) else None


def b64decode(segment: str) -> bytes:
    if not _B64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise ProofError("not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover (regex above)
        raise ProofError("not base64url") from exc


def b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _object(segment: str) -> dict[str, Any]:
    try:
        found = json.loads(b64decode(segment))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProofError("a segment is not JSON") from exc
    if not isinstance(found, dict):
        raise ProofError("a segment is not a JSON object")
    return found


def parse(value: str) -> Proof:
    """Split and decode a compact JWS; ``ProofError`` if it is not one."""
    if not value or len(value) > MAX_LENGTH:
        raise ProofError("missing or too long")
    parts = value.split(".")
    if len(parts) != 3:
        raise ProofError("not a compact JWS")
    header, payload = _object(parts[0]), _object(parts[1])
    if header.get("typ") != TYPE:
        raise ProofError("typ is not dbsc+jwt")
    if header.get("alg") not in ALGORITHMS:
        raise ProofError("alg is not ES256 or RS256")
    return Proof(
        header=header,
        payload=payload,
        signing_input=f"{parts[0]}.{parts[1]}".encode("ascii"),
        signature=b64decode(parts[2]),
    )


def _integer(jwk: dict[str, Any], name: str, size: int | None = None) -> int:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise ProofError(f"jwk has no {name}")
    raw = b64decode(value)
    if not raw or (size is not None and len(raw) != size):
        raise ProofError(f"jwk {name} has the wrong size")
    return int.from_bytes(raw, "big")


def public_key(jwk: dict[str, Any], alg: str) -> Any:
    """The public key a JWK describes, for ``alg``; ``ProofError`` if it is
    not a valid key of that kind."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if alg == "ES256":
        if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
            raise ProofError("ES256 needs an EC P-256 key")
        x, y = _integer(jwk, "x", 32), _integer(jwk, "y", 32)
        try:
            return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
        except ValueError as exc:
            raise ProofError("the EC point is not on P-256") from exc
    if alg == "RS256":
        if jwk.get("kty") != "RSA":
            raise ProofError("RS256 needs an RSA key")
        n, e = _integer(jwk, "n"), _integer(jwk, "e")
        if not _RSA_BITS[0] <= n.bit_length() <= _RSA_BITS[1] or e < 3 or e % 2 == 0:
            raise ProofError("the RSA key is too small, too large or invalid")
        try:
            return rsa.RSAPublicNumbers(e, n).public_key()
        except ValueError as exc:
            raise ProofError("the RSA key is invalid") from exc
    raise ProofError("alg is not ES256 or RS256")


def canonical_jwk(jwk: dict[str, Any], alg: str) -> str:
    """The key's public members only, as compact sorted JSON (what is
    stored)."""
    names = ("crv", "kty", "x", "y") if alg == "ES256" else ("e", "kty", "n")
    return json.dumps(
        {name: jwk[name] for name in names}, sort_keys=True, separators=(",", ":")
    )


def verify(proof: Proof, jwk: dict[str, Any], alg: str) -> bool:
    """Whether ``proof`` is signed with ``jwk``'s key under ``alg`` (pinned:
    a proof whose header names another algorithm fails)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    if proof.alg != alg:
        return False
    key = public_key(jwk, alg)
    try:
        if alg == "ES256":
            if len(proof.signature) != 64:
                return False
            r = int.from_bytes(proof.signature[:32], "big")
            s = int.from_bytes(proof.signature[32:], "big")
            key.verify(
                encode_dss_signature(r, s),
                proof.signing_input,
                ec.ECDSA(hashes.SHA256()),
            )
        else:
            if len(proof.signature) != (key.key_size + 7) // 8:
                return False
            key.verify(
                proof.signature,
                proof.signing_input,
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
    except InvalidSignature:
        return False
    return True
