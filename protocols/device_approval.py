"""Approvals signed on the person's authentication device (CIBA Core §1, §7.2: the OP authenticates
the user on their authentication device; how is left to the deployment). Sans-IO.

The device is an authenticator app enrolled at the identity provider with its own key pair
(``DeviceRegistration``: the public JWK Set, the push endpoint, the owner's subject). For every
backchannel request the provider pushes an ``ApprovalPrompt`` — client, binding message, scope and
the RFC 9396 authorization details in plain words. The person decides on the device and the app
signs the answer as a JWT (``typ`` ``ciba-approval+jwt``) with the device key:

    iss = device id, sub = the person, aud = the provider's issuer, iat, exp (≤ 5 min), jti,
    txn = the prompt's transaction id, decision = "approve" | "deny",
    prompt_hash = base64url(SHA-256(canonical prompt JSON)), amr = how the person unlocked the key

The provider verifies the signature with the *registered* key of that device, the owner, the
audience, freshness, single use of ``jti``, and that ``prompt_hash`` is the hash of the prompt it
sent for ``txn`` — so an approval is bound to exactly what was displayed, and a forged or altered
prompt yields an approval the provider refuses. The push itself needs no signature for that reason.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import attrs

from protocols.entropy import SeededEntropy
from protocols.http import MalformedBody, parse_json
from protocols.jose.encoding import Base64UrlError, b64url_decode
from protocols.jose.errors import JwtRejected
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import sign_jwt, verify_jwt
from protocols.jose.keys import SigningKey
from protocols.jose.profiles import TokenProfile
from protocols.oauth.client_auth import AssertionReplayCache
from protocols.oauth.errors import InvalidClient, InvalidGrant, InvalidRequest

APPROVAL_TYP = "ciba-approval+jwt"
DECISION_PATH = "/bc-device/decision"
MAX_APPROVAL_LIFETIME = 300
DEVICE_AMR = ("hwk", "user")
"""RFC 8176 §2: proof of possession of a hardware-protected key, plus a user-presence test."""
KNOWN_AMR = frozenset({"hwk", "swk", "user", "pin", "fpt", "face", "mfa"})


class Decision(enum.Enum):
    APPROVE = "approve"
    DENY = "deny"


@attrs.frozen(kw_only=True)
class DeviceRegistration:
    """An enrolled authenticator: who owns it, its public keys, where its pushes go."""

    device_id: str
    subject: str
    jwks: JwkSet
    push_endpoint: str
    mailbox: str | None = None
    """The owner's e-mail channel (an inbox endpoint) — told about each request, cannot answer it."""


@attrs.frozen(kw_only=True)
class ApprovalPrompt:
    """What the device shows (CIBA §7.1 ``binding_message``; RFC 9396 §3.1 details in plain words)."""

    txn: str
    issuer: str
    client_id: str
    client_name: str
    subject: str
    binding_message: str | None
    scope: tuple[str, ...] = attrs.field(converter=tuple)
    authorization_details: tuple[Mapping[str, Any], ...] = attrs.field(converter=tuple)
    summary: tuple[Mapping[str, str], ...] = attrs.field(converter=tuple)
    expires_at: int

    def to_json(self) -> dict[str, Any]:
        return {"txn": self.txn, "issuer": self.issuer, "client_id": self.client_id, "client_name": self.client_name,
                "subject": self.subject, "binding_message": self.binding_message, "scope": list(self.scope),
                "authorization_details": [dict(d) for d in self.authorization_details],
                "summary": [dict(s) for s in self.summary], "expires_at": self.expires_at}

    @classmethod
    def from_json(cls, body: Any) -> ApprovalPrompt:
        if not isinstance(body, Mapping):
            raise InvalidRequest("the prompt is not a JSON object")
        for name in ("authorization_details", "summary", "scope"):
            items = body.get(name)
            if not isinstance(items, list) or not all(isinstance(i, Mapping if name != "scope" else str) for i in items):
                raise InvalidRequest(f"the prompt's {name} is malformed")
        if not all(isinstance(v, str) for item in body["summary"] for v in item.values()):
            raise InvalidRequest("the prompt's summary is malformed")
        if not isinstance(body.get("binding_message"), (str, type(None))):
            raise InvalidRequest("the prompt's binding_message is malformed")
        try:
            return cls(txn=str(body["txn"]), issuer=str(body["issuer"]), client_id=str(body["client_id"]),
                       client_name=str(body["client_name"]), subject=str(body["subject"]),
                       binding_message=body.get("binding_message"), scope=tuple(body["scope"]),
                       authorization_details=tuple(body["authorization_details"]),
                       summary=tuple(body["summary"]), expires_at=int(body["expires_at"]))
        except (KeyError, TypeError, ValueError):
            raise InvalidRequest("the prompt is malformed") from None

    @property
    def hash(self) -> str:
        canonical = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode("utf-8")).digest()).rstrip(b"=").decode()


def sign_decision(*, prompt: ApprovalPrompt, decision: Decision, device_id: str, key: SigningKey, now: int,
                  entropy: SeededEntropy, amr: tuple[str, ...] = DEVICE_AMR, reason: str = "") -> str:
    """The device's signed answer to ``prompt`` (see the module docstring)."""
    claims: dict[str, Any] = {"iss": device_id, "sub": prompt.subject, "aud": prompt.issuer, "iat": now,
                              "exp": now + 120, "jti": entropy.token(16), "txn": prompt.txn,
                              "decision": decision.value, "prompt_hash": prompt.hash, "amr": list(amr)}
    if reason:
        claims["reason"] = reason[:200]
    return sign_jwt(claims=claims, key=key, typ=APPROVAL_TYP)


@attrs.frozen(kw_only=True)
class DeviceDecision:
    """A verified answer; ``txn`` and ``prompt_hash`` still have to match the provider's record."""

    device: DeviceRegistration
    kid: str
    txn: str
    decision: Decision
    prompt_hash: str
    amr: tuple[str, ...]
    jti: str
    reason: str


def _claimed_device(token: str) -> str:
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidRequest("the approval is not a compact JWS")
    try:
        claims = parse_json(b64url_decode(parts[1]))
    except (Base64UrlError, MalformedBody):
        raise InvalidRequest("the approval is malformed") from None
    issuer = claims.get("iss") if isinstance(claims, Mapping) else None
    if not isinstance(issuer, str):
        raise InvalidRequest("the approval names no device")
    return issuer


def verify_decision(token: str, *, devices: Mapping[str, DeviceRegistration], issuer: str, now: int,
                    replay: AssertionReplayCache) -> DeviceDecision:
    """Verify a device's signed answer: registered device, its key, audience, freshness, single use."""
    device = devices.get(_claimed_device(token))
    if device is None:
        raise InvalidClient("unknown authentication device")
    profile = TokenProfile(name="device_approval", typ=APPROVAL_TYP, issuer=device.device_id, audience=issuer,
                           single_audience=True, max_lifetime=MAX_APPROVAL_LIFETIME,
                           required_claims={"iss", "sub", "aud", "iat", "exp", "jti", "txn", "decision", "prompt_hash"},
                           forbidden_claims={"nonce", "events", "client_id"})
    try:
        verified = verify_jwt(token, keys=device.jwks, profile=profile, now=now)
    except JwtRejected as exc:
        raise InvalidClient(f"the device approval was rejected: {exc.reason}") from None
    claims = verified.claims
    if claims["sub"] != device.subject:
        raise InvalidGrant("the device belongs to someone else")
    try:
        decision = Decision(claims["decision"])
    except ValueError:
        raise InvalidRequest("decision must be approve or deny") from None
    amr = claims.get("amr", [])
    if not isinstance(amr, list) or not amr or not all(isinstance(a, str) and a in KNOWN_AMR for a in amr):
        raise InvalidRequest("amr must list how the person unlocked the device key")
    for name in ("txn", "prompt_hash", "jti"):
        if not isinstance(claims[name], str) or not claims[name]:
            raise InvalidRequest(f"{name} must be a non-empty string")
    if not replay.remember(issuer=device.device_id, jti=claims["jti"], expires_at=claims["exp"] + 60, now=now):
        raise InvalidGrant("this approval was already used")
    reason = claims.get("reason", "")
    return DeviceDecision(device=device, kid=verified.kid, txn=claims["txn"], decision=decision,
                          prompt_hash=claims["prompt_hash"], amr=tuple(amr), jti=claims["jti"],
                          reason=reason if isinstance(reason, str) else "")
