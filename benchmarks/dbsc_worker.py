"""One configuration of ``benchmarks.dbsc``, in its own process: the read
page unbound and, with ``BENCH_DBSC=1``, bound (its bound cookie sent) and
the refresh that renews the bound cookie. Prints JSON on the last line.

The key is a P-256 key held here, signing as Chromium does (compact JSON,
keys sorted, raw r||s): the signing is the browser's work and happens
outside the timed request.
"""

from __future__ import annotations

import base64
import json
import os
import re
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")

from benchmarks.worker import log, measure, wsgi_environ

CHALLENGE = re.compile(r'^\s*"([^"]*)"')
PARAM = re.compile(r';\s*([a-z_]+)="([^"]*)"')


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Key:
    """A device key (ES256), as Chromium's software keys."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        self.private = ec.generate_private_key(ec.SECP256R1())

    def proof(self, challenge: str, *, with_jwk: bool = False) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import (
            decode_dss_signature,
        )

        header: dict[str, Any] = {"alg": "ES256", "typ": "dbsc+jwt"}
        if with_jwk:
            numbers = self.private.public_key().public_numbers()
            header["jwk"] = {
                "crv": "P-256",
                "kty": "EC",
                "x": b64u(numbers.x.to_bytes(32, "big")),
                "y": b64u(numbers.y.to_bytes(32, "big")),
            }

        def part(obj: dict[str, Any]) -> str:
            return b64u(json.dumps(obj, separators=(",", ":"), sort_keys=True).encode())

        signing_input = f"{part(header)}.{part({'jti': challenge})}"
        der = self.private.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{signing_input}.{b64u(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


class Client:
    """Requests through ``WSGIHandler`` with a cookie jar and headers."""

    def __init__(self) -> None:
        from django.core.handlers.wsgi import WSGIHandler

        self.handler = WSGIHandler()
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
        keep: bool = True,
    ) -> Any:
        environ = wsgi_environ(method, path, query)
        if self.cookies:
            environ["HTTP_COOKIE"] = "; ".join(
                f"{k}={v}" for k, v in self.cookies.items()
            )
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        response = self.handler(environ, lambda status, headers: None)
        response.content  # noqa: B018 - read the body, as a server does
        response.close()  # fires request_finished
        if response.status_code not in expect:
            raise RuntimeError(f"{method} {path} answered {response.status_code}")
        if keep:
            for name, morsel in response.cookies.items():
                if morsel.value and str(morsel["max-age"]) != "0":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return response


def register(client: Client, key: Key, login: Any) -> dict[str, Any]:
    """Register ``key`` for the session ``login`` signed in; the session
    instructions, with the next challenge under ``"challenge"``."""
    offer = login["Secure-Session-Registration"]
    params = dict(PARAM.findall(offer))
    response = client.request(
        "POST",
        params["path"],
        headers={
            "Secure-Session-Response": key.proof(params["challenge"], with_jwk=True)
        },
    )
    instructions: dict[str, Any] = json.loads(response.content)
    instructions["challenge"] = next_challenge(client, key, instructions, response)
    return instructions


def next_challenge(client: Client, key: Key, instructions: dict, response: Any) -> str:
    """The challenge for the next refresh: the one this response carried, or
    the one a refresh without a proof gets (403)."""
    found = CHALLENGE.match(response.get("Secure-Session-Challenge", ""))
    if found:
        return found.group(1)
    answer = client.request(
        "POST",
        instructions["refresh_url"],
        headers={"Sec-Secure-Session-Id": instructions["session_identifier"]},
        expect=(403,),
    )
    return str(CHALLENGE.match(answer["Secure-Session-Challenge"]).group(1))  # type: ignore[union-attr]


def run(iterations: int, warmup: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection

    from benchmarks.engines import BY_NAME
    from benchmarks.worker import flush_redis, prepare_database

    engine = BY_NAME[os.environ["BENCH_ENGINE"]]
    prepare_database()
    if engine.uses_redis:
        flush_redis()
    users = get_user_model().objects
    options = {"iterations": iterations, "warmup": warmup}
    results: dict[str, Any] = {"vendor": connection.vendor}

    plain = Client()
    plain.request("GET", "/login/", query=f"uid={users.create_user('plain').pk}")
    log("read, unbound")
    results["unbound"] = measure(lambda: plain.request("GET", "/read/"), **options)
    if not getattr(settings, "SESSIONTOKENS_DBSC", False):
        return results

    bound, key = Client(), Key()
    login = bound.request("GET", "/login/", query=f"uid={users.create_user('b').pk}")
    instructions = register(bound, key, login)
    log("read, bound")
    results["bound"] = measure(lambda: bound.request("GET", "/read/"), **options)

    headers: dict[str, str] = {}

    def sign() -> None:
        headers["Sec-Secure-Session-Id"] = instructions["session_identifier"]
        headers["Secure-Session-Response"] = key.proof(instructions["challenge"])

    def refresh() -> None:
        response = bound.request("POST", instructions["refresh_url"], headers=headers)
        instructions["challenge"] = next_challenge(bound, key, instructions, response)

    log("refresh")
    results["refresh"] = measure(refresh, setup=sign, **options)
    return results


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(run(args.iterations, args.warmup)))


if __name__ == "__main__":
    main()
