"""A stand-in DBSC browser for the suite, modelled on Chromium 150
(``net/device_bound_sessions``) as ``shared/dbsc/reference_browser.py``
describes it, driving Django's test ``Client``.

One origin, one cookie jar with expiry (from ``time.time()``, so an injected
clock moves it), sequential requests. It registers on a
``Secure-Session-Registration`` header, caches ``Secure-Session-Challenge``
values, defers an in-scope request whose bound cookie is missing until it
has refreshed, refreshes proactively when the cookie has under two minutes
left, re-sends a signed proof for an unchanged challenge (as Chromium does),
and drops its session on ``continue: false`` or a non-403 4xx.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.parse

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from django.test import Client

PROACTIVE_REFRESH_WINDOW = 120
MAX_CHALLENGES = 5


def b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def cjson(obj) -> bytes:
    return json.dumps(
        obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False
    ).encode()


def new_key(alg):
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(65537, 2048)


def public_jwk(key, alg):
    pub = key.public_key().public_numbers()
    if alg == "ES256":
        return {
            "crv": "P-256",
            "kty": "EC",
            "x": b64u(pub.x.to_bytes(32, "big")),
            "y": b64u(pub.y.to_bytes(32, "big")),
        }
    n = pub.n.to_bytes((pub.n.bit_length() + 7) // 8, "big")
    e = pub.e.to_bytes((pub.e.bit_length() + 7) // 8, "big")
    return {"e": b64u(e), "kty": "RSA", "n": b64u(n)}


def sign(key, alg, challenge=None, *, with_jwk=False, header_alg=None):
    """A proof as Chromium signs it (session_binding_utils.cc)."""
    header = {"alg": header_alg or alg, "typ": "dbsc+jwt"}
    if with_jwk:
        header["jwk"] = public_jwk(key, alg)
    payload = {} if challenge is None else {"jti": challenge}
    signing_input = b64u(cjson(header)) + "." + b64u(cjson(payload))
    if alg == "ES256":
        r, s = decode_dss_signature(
            key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        )
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64u(sig)


# RFC 8941, the subset these headers use ------------------------------------
def _string(s, i):
    i += 1
    out = []
    while s[i] != '"':
        if s[i] == "\\":
            i += 1
        out.append(s[i])
        i += 1
    return "".join(out), i + 1


def _bare(s, i):
    j = i
    while j < len(s) and (s[j].isalnum() or s[j] in "_-.:%*/+!#$&'^`|~"):
        j += 1
    return s[i:j], j


def _item(s, i):
    return _string(s, i) if s[i] == '"' else _bare(s, i)


def _params(s, i):
    params = {}
    while i < len(s) and s[i] == ";":
        i += 1
        while s[i] == " ":
            i += 1
        j = i
        while j < len(s) and (s[j].islower() or s[j].isdigit() or s[j] in "_-.*"):
            j += 1
        key, i = s[i:j], j
        if i < len(s) and s[i] == "=":
            params[key], i = _item(s, i + 1)
        else:
            params[key] = True
    return params, i


def sf_list(value):
    out, i, s = [], 0, value.strip()
    while i < len(s):
        while s[i] == " ":
            i += 1
        if s[i] == "(":
            i += 1
            inner = []
            while True:
                while s[i] == " ":
                    i += 1
                if s[i] == ")":
                    i += 1
                    break
                it, i = _item(s, i)
                p, i = _params(s, i)
                inner.append((it, p))
            member = inner
        else:
            member, i = _item(s, i)
        params, i = _params(s, i)
        out.append((member, params))
        while i < len(s) and s[i] in " ,":
            i += 1
    return out


class DbscSession:
    def __init__(self, sid, refresh_url, key, alg, cfg):
        self.id, self.refresh_url, self.key, self.alg = sid, refresh_url, key, alg
        self.cached_challenge = None
        self.last_signed = None  # (challenge, jwt): Chromium re-uses a signed challenge
        self.apply_config(cfg)

    def apply_config(self, cfg):
        self.scope = cfg["scope"]
        self.credentials = cfg["credentials"]

    def in_scope(self, path):
        if path == urllib.parse.urlsplit(self.refresh_url).path:
            return False
        for rule in reversed(self.scope.get("scope_specification", [])):
            p = rule.get("path", "/")
            if (
                path == p
                or (p.endswith("/") and path.startswith(p))
                or path.startswith(p + "/")
            ):
                return rule["type"] == "include"
        return True


class DbscBrowser:
    """``supports_dbsc=False``: a browser that ignores the headers (or a
    thief's client holding a copied session cookie)."""

    def __init__(
        self, *, alg="ES256", supports_dbsc=True, user_agent="", ip="203.0.113.7"
    ):
        self.client = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
        self.alg = alg
        self.supports_dbsc = supports_dbsc
        self.jar = {}  # name -> (value, expires_at | None)
        self.sessions = {}
        self.log = []  # (method, path, status, request headers)
        self.outcomes = []  # refresh results, in order
        self.registration_headers = []  # Secure-Session-Registration values seen

    # cookies ---------------------------------------------------------------
    def live_cookies(self):
        now = time.time()
        return {k: v for k, (v, exp) in self.jar.items() if exp is None or exp > now}

    def _store(self, response):
        for name, morsel in response.cookies.items():
            max_age = morsel["max-age"]
            if (max_age != "" and int(max_age) <= 0) or (
                not max_age and morsel.value == ""
            ):
                self.jar.pop(name, None)
                continue
            self.jar[name] = (
                morsel.value,
                time.time() + int(max_age) if max_age != "" else None,
            )
        csd = response.headers.get("Clear-Site-Data", "")
        if '"cookies"' in csd or '"*"' in csd:
            self.jar.clear()  # Chromium 150 keeps its DBSC sessions

    def expiry(self, name):
        found = self.live_cookies().get(name)
        return None if found is None else (self.jar[name][1] or float("inf"))

    def copy_session_cookie_from(self, other, name="sessionid"):
        self.jar[name] = other.jar[name]

    # transport -------------------------------------------------------------
    def send(self, method, path, headers=None):
        headers = dict(headers or {})
        self.client.cookies.clear()
        for name, value in self.live_cookies().items():
            self.client.cookies[name] = value
        if method == "POST":
            response = self.client.generic(
                "POST", path, b"", content_type="", secure=True, headers=headers
            )
        else:
            response = self.client.generic("GET", path, secure=True, headers=headers)
        self._store(response)
        self.log.append((method, path, response.status_code, headers))
        return response

    # protocol --------------------------------------------------------------
    def _process(self, path, response, *, registration=True):
        if not self.supports_dbsc:
            return
        for value in response.headers.get("Secure-Session-Challenge", "").split("\n"):
            if not value:
                continue
            for member, params in sf_list(value):
                sid = params.get("id")
                if isinstance(member, str) and sid in self.sessions:
                    self.sessions[sid].cached_challenge = member
        value = response.headers.get("Secure-Session-Registration")
        if registration and value:
            self.registration_headers.append(value)
            for member, params in sf_list(value):
                if isinstance(member, list) and isinstance(params.get("path"), str):
                    self._register(path, member, params)

    def _register(self, from_path, algs, params):
        offered = [a for a, _ in algs]
        alg = self.alg if self.alg in offered else None
        if alg is None:
            return
        key = new_key(alg)
        endpoint = urllib.parse.urljoin(from_path, params["path"])
        headers = {}
        if params.get("challenge") is not None:
            headers["Secure-Session-Response"] = sign(
                key, alg, params["challenge"], with_jwk=True
            )
        response = self.send("POST", endpoint, headers)
        self.registration = response
        if not 200 <= response.status_code < 300 or not response.content:
            return
        cfg = json.loads(response.content)
        if cfg.get("continue") is False or not cfg.get("session_identifier"):
            return
        if not isinstance(cfg.get("scope"), dict) or not cfg.get("credentials"):
            return
        refresh_url = urllib.parse.urljoin(endpoint, cfg.get("refresh_url") or endpoint)
        sess = DbscSession(cfg["session_identifier"], refresh_url, key, alg, cfg)
        self.sessions[sess.id] = sess
        self._process(endpoint, response, registration=False)

    def proof_for(self, sess, challenge):
        if sess.last_signed and sess.last_signed[0] == challenge:
            return sess.last_signed[1]
        jwt = sign(sess.key, sess.alg, challenge)
        sess.last_signed = (challenge, jwt)
        return jwt

    def refresh(self, sess, *, quoted_id=False):
        result = self._refresh(sess, quoted_id=quoted_id)
        self.outcomes.append(result)
        return result

    def _refresh(self, sess, *, quoted_id=False):
        for _ in range(MAX_CHALLENGES + 1):
            headers = {
                "Sec-Secure-Session-Id": f'"{sess.id}"' if quoted_id else sess.id
            }
            ch = sess.cached_challenge
            if ch is not None:
                headers["Secure-Session-Response"] = self.proof_for(sess, ch)
            response = self.send(
                "POST", urllib.parse.urlsplit(sess.refresh_url).path, headers
            )
            self._process(sess.refresh_url, response, registration=False)
            status = response.status_code
            if status == 403:
                if sess.cached_challenge is None or sess.cached_challenge == ch:
                    self.sessions.pop(sess.id, None)
                    return "invalid_challenge"
                continue
            if status >= 500:
                return "server_error"
            if not 200 <= status < 300:
                self.sessions.pop(sess.id, None)
                return "terminated"
            if not response.content:
                return "refreshed"
            cfg = json.loads(response.content)
            if cfg.get("session_identifier") != sess.id or cfg.get("continue") is False:
                self.sessions.pop(sess.id, None)
                return "terminated"
            sess.apply_config(cfg)
            sess.cached_challenge = None
            self._process(sess.refresh_url, response, registration=False)
            return "refreshed"
        self.sessions.pop(sess.id, None)
        return "too_many_challenges"

    def request(self, method, path, headers=None):
        headers = dict(headers or {})
        for sess in list(self.sessions.values()):
            if not sess.in_scope(path):
                continue
            for cred in sess.credentials:
                exp = self.expiry(cred["name"])
                if exp is None:  # missing: hold the request, refresh first
                    if self.refresh(sess) == "server_error":
                        headers["Secure-Session-Skipped"] = (
                            f'server_error;session_identifier="{sess.id}"'
                        )
                elif exp - time.time() < PROACTIVE_REFRESH_WINDOW:
                    self.refresh(sess)  # Chromium does this in parallel
                break
        response = self.send(method, path, headers)
        self._process(path, response)
        return response

    def get(self, path, headers=None):
        return self.request("GET", path, headers)

    def post(self, path, headers=None):
        return self.request("POST", path, headers)

    @property
    def session(self):
        """The one DBSC session (most tests have one)."""
        [sess] = self.sessions.values()
        return sess
