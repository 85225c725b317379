"""``dbsc/register/`` and ``dbsc/refresh/``: CSRF-exempt, protected instead
by the proof (a JWS signed with the device key) and by the session cookie
that comes with it. Every change of the binding is a compare-and-set; a
request that loses reads again and decides again."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from django_sessiontokens import services
from django_sessiontokens.conf import conf
from django_sessiontokens.core import dbsc, jws
from django_sessiontokens.core import dbsc_headers as headers
from django_sessiontokens.dbsc import answers
from django_sessiontokens.services import bindings
from django_sessiontokens.stores import registry
from django_sessiontokens.types import SessionRecord

#: Compare-and-set attempts before giving up (another request keeps winning).
ATTEMPTS = 3


def _signed_in(request: HttpRequest) -> SessionRecord | None:
    session: Any = request.session
    if session.get(SESSION_KEY) is None:
        return None
    if getattr(session, "_pending", None) is not None:
        # Rotated to a new public id by this very load (the IP / user-agent
        # policy): store it now, so the binding has followed it.
        session.save()
    record: SessionRecord | None = getattr(session, "record", None)
    return record if record is not None and record.user_id is not None else None


def _proof(request: HttpRequest) -> tuple[jws.Proof | None, HttpResponse | None]:
    raw = request.headers.get(headers.RESPONSE)
    if raw is None:
        return None, None
    text = headers.proof(raw, jws.MAX_LENGTH)
    if text is None:
        return None, answers.error(400, "Secure-Session-Response is malformed")
    try:
        return jws.parse(text), None
    except jws.ProofError as exc:
        return None, answers.error(400, f"Secure-Session-Response: {exc}")


@csrf_exempt
@require_POST
def register(request: HttpRequest) -> HttpResponse:
    if not conf.DBSC:
        return answers.error(404, "Device-bound sessions are off")
    proof, bad = _proof(request)
    if bad is not None:
        return bad
    if proof is None:
        return answers.error(400, "Secure-Session-Response is missing")
    record = _signed_in(request)
    if record is None:
        return answers.error(403, "No signed-in session came with the registration")
    jwk = proof.jwk
    try:
        if jwk is None or not jws.verify(proof, jwk, proof.alg):
            bindings.announce_refused(record, "registration proof does not verify")
            return answers.error(400, "The proof does not verify with its jwk")
        key = jws.canonical_jwk(jwk, proof.alg)
    except jws.ProofError as exc:
        return answers.error(400, f"Secure-Session-Response: {exc}")
    store = registry.binding_store()
    for _attempt in range(ATTEMPTS):
        binding = store.get(record.public_id)
        if binding is None or binding.state != dbsc.PENDING:
            return answers.error(403, "No registration was offered to this session")
        now = timezone.now()
        which = dbsc.challenge_used(binding, proof.jti, now, conf.DBSC_CHALLENGE_AGE)
        if which is None:
            bindings.announce_refused(record, "registration challenge unknown or used")
            return answers.error(403, "The challenge is unknown, used or stale")
        value = dbsc.new_secret()
        stored = store.save(
            dbsc.registered(
                binding,
                which,
                now,
                algorithm=proof.alg,
                jwk=key,
                cookie_value=value,
                cookie_age=conf.DBSC_COOKIE_AGE,
            ),
            expected=binding.version,
        )
        if stored is not None:
            bindings.announce_bound(record, stored, request)
            return answers.instructions(stored, value)
    return answers.error(409, "The binding kept changing; try again")


@csrf_exempt
@require_POST
def refresh(request: HttpRequest) -> HttpResponse:
    dbsc_id = headers.session_id(request.headers.get(headers.SESSION_ID))
    if dbsc_id is None:
        return answers.error(400, "Sec-Secure-Session-Id is missing or malformed")
    proof, bad = _proof(request)
    if bad is not None:
        return bad
    record = _signed_in(request) if conf.DBSC else None
    if record is None:  # ended, expired, signed out, or no session cookie
        return answers.terminate(dbsc_id)
    store = registry.binding_store()
    binding = None
    for _attempt in range(ATTEMPTS):
        binding = store.get(record.public_id)
        if binding is None or binding.state != dbsc.BOUND or binding.dbsc_id != dbsc_id:
            return answers.terminate(dbsc_id)
        now = timezone.now()
        if proof is not None:
            try:
                valid = jws.verify(proof, json.loads(binding.jwk), binding.algorithm)
            except jws.ProofError:
                valid = False
            if not valid:
                bindings.announce_refused(record, "refresh proof signed by another key")
                services.report_binding_anomaly(
                    record, "refresh proof signed by another key", request=request
                )
                return answers.terminate(dbsc_id)
            which = dbsc.challenge_used(
                binding, proof.jti, now, conf.DBSC_CHALLENGE_AGE
            )
            if which is not None:
                value = dbsc.new_secret()
                stored = store.save(
                    dbsc.refreshed(
                        binding,
                        which,
                        now,
                        cookie_value=value,
                        cookie_age=conf.DBSC_COOKIE_AGE,
                    ),
                    expected=binding.version,
                )
                if stored is not None:
                    return answers.instructions(stored, value)
                continue
        # No proof, or a reused or stale challenge: a fresh one (benign).
        stored = store.save(
            dbsc.with_new_challenge(binding, now), expected=binding.version
        )
        if stored is not None:
            return answers.challenge(stored)
    assert binding is not None
    return answers.challenge(binding)
