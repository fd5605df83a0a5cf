"""Security Event Tokens (RFC 8417) as the Shared Signals Framework profiles them (SSF 1.0 §"Events").

Building (RFC 8417 §2.2; SSF 1.0): a SET is a JWS-signed JWT with header ``typ: secevent+jwt``
(RFC 8417 §2.3, mandatory in SSF) and claims ``iss``, ``iat``, ``jti`` (always present: receivers
deduplicate on ``iss`` + ``jti``), ``aud`` (the receiver), ``events`` holding exactly **one**
event (SSF interop profile) keyed by its event-type URI, ``sub_id`` (RFC 9493 subject identifier —
SSF forbids the JWT ``sub`` claim), ``txn`` linking the SETs one incident caused, and ``toe`` (time
of event) when known. A SET states a past fact, so it has no ``exp`` (SSF forbids it) and no
``nonce`` (RFC 8417 §4.1: what keeps it from passing for an ID token).

Validation (RFC 8935 §2 receiver checks, RFC 8725 §3.11/§3.12): signature with the transmitter's
keys, ``typ``, ``iss`` equal to the stream's issuer, ``aud`` containing us, ``exp``/``nonce``/``sub``
absent, ``events`` with one object-valued event whose payload passes the event type's rules,
``sub_id`` a valid subject identifier, and — through :class:`ReplayGuard` — a (``iss``, ``jti``)
never seen before. Every refusal is a :class:`SetRejected` carrying the RFC 8935 §2.4 error code
(``invalid_request``, ``invalid_key``, ``invalid_issuer``, ``invalid_audience``) that the push
endpoint returns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from protocols.jose.errors import (
    AlgorithmKeyMismatch, AlgorithmNotAllowed, BadSignature, ForbiddenKeyReference, JwtRejected, UnknownKeyId,
    WrongAudience, WrongIssuer,
)
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import sign_jwt, verify_jwt
from protocols.jose.keys import SigningKey
from protocols.jose.profiles import TYP_SECURITY_EVENT, TokenProfile
from protocols.subject_identifiers import InvalidSubject, Subject, parse_subject

SET_MEDIA_TYPE = "application/secevent+jwt"
"""RFC 8417 §7.2: the media type of a SET in an HTTP body (RFC 8935 §2)."""

DEFAULT_MAX_AGE = 3600
"""Oldest SET (``now − iat``) a receiver accepts; it also bounds how long ``jti`` values are kept."""

PayloadRule = Callable[[Mapping[str, Any]], None]
"""Checks one event type's payload; raises ``ValueError`` with a one-line reason if it does not conform."""

# RFC 8935 §2.4 error codes.
INVALID_REQUEST = "invalid_request"
INVALID_KEY = "invalid_key"
INVALID_ISSUER = "invalid_issuer"
INVALID_AUDIENCE = "invalid_audience"
AUTHENTICATION_FAILED = "authentication_failed"
ACCESS_DENIED = "access_denied"
ERROR_CODES = (INVALID_REQUEST, INVALID_KEY, INVALID_ISSUER, INVALID_AUDIENCE, AUTHENTICATION_FAILED, ACCESS_DENIED)


class SetRejected(Exception):
    """A SET the receiver refuses: ``err`` is the RFC 8935 §2.4 code, ``description`` one line."""

    def __init__(self, err: str, description: str) -> None:
        if err not in ERROR_CODES:
            raise ValueError(f"{err!r} is not an RFC 8935 error code")
        self.err = err
        self.description = description
        super().__init__(f"{err}: {description}")


_KEY_PROBLEMS = (AlgorithmNotAllowed, AlgorithmKeyMismatch, BadSignature, ForbiddenKeyReference, UnknownKeyId)


def _rejection(error: JwtRejected) -> SetRejected:
    """Map a JWT-level refusal to the RFC 8935 §2.4 code a push receiver returns."""
    if isinstance(error, _KEY_PROBLEMS):
        return SetRejected(INVALID_KEY, error.message)
    if isinstance(error, WrongIssuer):
        return SetRejected(INVALID_ISSUER, error.message)
    if isinstance(error, WrongAudience):
        return SetRejected(INVALID_AUDIENCE, error.message)
    return SetRejected(INVALID_REQUEST, error.message)


@attrs.frozen(kw_only=True)
class SecurityEvent:
    """One validated (or to-be-signed) SET: who says what happened to whom, and when."""

    issuer: str
    audience: tuple[str, ...]
    jti: str
    issued_at: int
    event_type: str
    payload: Mapping[str, Any]
    subject: Subject
    txn: str | None = None
    time_of_event: int | None = None

    def claims(self) -> dict[str, Any]:
        """The JWT claims set (RFC 8417 §2.2): one event, ``sub_id``, no ``sub``/``exp``."""
        claims: dict[str, Any] = {
            "iss": self.issuer, "iat": self.issued_at, "jti": self.jti,
            "aud": self.audience[0] if len(self.audience) == 1 else list(self.audience),
            "events": {self.event_type: dict(self.payload)}, "sub_id": self.subject.to_json(),
        }
        if self.txn is not None:
            claims["txn"] = self.txn
        if self.time_of_event is not None:
            claims["toe"] = self.time_of_event
        return claims


def sign_security_event(event: SecurityEvent, *, key: SigningKey) -> str:
    """The compact JWS of ``event`` with ``typ: secevent+jwt`` (RFC 8417 §2.3)."""
    if not event.audience:
        raise ValueError("a SET needs at least one audience")
    return sign_jwt(claims=event.claims(), key=key, typ=TYP_SECURITY_EVENT)


def set_profile(*, issuer: str, audience: str, max_age: int = DEFAULT_MAX_AGE) -> TokenProfile:
    """The validator profile of an SSF SET: RFC 8417's (``typ``, ``events``, no ``exp``/``nonce``)
    plus SSF's ``sub_id`` required and ``sub`` forbidden."""
    base = TokenProfile.security_event(issuer=issuer, audience=audience, max_age=max_age)
    return attrs.evolve(base, required_claims=base.required_claims | {"sub_id"},
                        forbidden_claims=base.forbidden_claims | {"sub"})


def validate_security_event(token: str, *, keys: JwkSet, issuer: str, audience: str, now: int,
                            payload_rules: Mapping[str, PayloadRule], max_age: int = DEFAULT_MAX_AGE,
                            ) -> SecurityEvent:
    """Validate a received SET (RFC 8935 §2 receiver checks) and return it.

    ``payload_rules`` maps each event type the receiver understands to its payload check; an event
    type outside it is still returned (the caller ignores it) once its payload is a JSON object.
    Raises :class:`SetRejected`. Replay (``jti``) is checked separately by :class:`ReplayGuard`.
    """
    try:
        verified = verify_jwt(token, keys=keys, profile=set_profile(issuer=issuer, audience=audience, max_age=max_age),
                              now=now)
    except JwtRejected as error:
        raise _rejection(error) from None
    claims = verified.claims
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        raise SetRejected(INVALID_REQUEST, "jti must be a non-empty string")
    events = claims["events"]
    if not isinstance(events, dict) or len(events) != 1:
        raise SetRejected(INVALID_REQUEST, "events must be an object holding exactly one event (SSF 1.0)")
    ((event_type, payload),) = events.items()
    if not isinstance(payload, dict):
        raise SetRejected(INVALID_REQUEST, "an event's payload must be a JSON object (RFC 8417 §2.2)")
    rule = payload_rules.get(event_type)
    if rule is not None:
        try:
            rule(payload)
        except ValueError as error:
            raise SetRejected(INVALID_REQUEST, f"the event does not conform to its type: {error}") from None
    try:
        subject = parse_subject(claims["sub_id"])
    except InvalidSubject as error:
        raise SetRejected(INVALID_REQUEST, f"sub_id: {error}") from None
    txn = claims.get("txn")
    if txn is not None and not isinstance(txn, str):
        raise SetRejected(INVALID_REQUEST, "txn must be a string")
    toe = claims.get("toe")
    if toe is not None and (isinstance(toe, bool) or not isinstance(toe, int)):
        raise SetRejected(INVALID_REQUEST, "toe must be a NumericDate")
    aud = claims["aud"]
    return SecurityEvent(issuer=claims["iss"], audience=(aud,) if isinstance(aud, str) else tuple(aud), jti=jti,
                         issued_at=claims["iat"], event_type=event_type, payload=payload, subject=subject, txn=txn,
                         time_of_event=toe)


@attrs.define
class ReplayGuard:
    """Receiver-side duplicate detection on (``iss``, ``jti``) (RFC 8417 §2.2 ``jti``; RFC 8935 §2).

    An id is remembered until its SET is older than ``max_age`` (the validator refuses older SETs
    anyway), so memory stays bounded however long the receiver runs.
    """

    max_age: int = DEFAULT_MAX_AGE
    _seen: dict[tuple[str, str], int] = attrs.field(factory=dict)

    def admit(self, event: SecurityEvent, *, now: int) -> None:
        """Record ``event``; raise ``SetRejected(invalid_request)`` if it was seen before."""
        for key in [k for k, iat in self._seen.items() if iat + self.max_age < now]:
            del self._seen[key]
        key = (event.issuer, event.jti)
        if key in self._seen:
            raise SetRejected(INVALID_REQUEST, "duplicate SET: this jti was already received from this issuer")
        self._seen[key] = event.issued_at

    def __len__(self) -> int:
        return len(self._seen)
