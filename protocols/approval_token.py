"""The token issued after a human approval, and how the system that performs the action checks it.

Issued by the identity provider when a CIBA request is approved (CIBA Core §10.1.1, §10.3.1), it
is an RFC 9068 JWT access token (``typ`` ``at+jwt``, §2.1) with:

- ``scope``: exactly the scopes approved (no ``openid``: the ID token answers that);
- ``authorization_details``: exactly the approved RFC 9396 objects (§9.1), and
  ``authorization_details_sha256`` naming them compactly for audit correlation;
- ``aud``: the one resource the approval is for (RFC 8707, RFC 9068 §3); ``exp``: short;
- ``auth_time`` and ``amr``: when and how the approver authenticated on their device;
- ``jti``: the consumer executes each approved action at most once per ``jti``.

``check_approved_action`` is the consumer (resource server) side: RFC 9068 §4 validation, the
scope, the single use of (``jti``, action), and ``protocols.rar.require_covered`` — an action with
another amount, another recipient or another customer is ``403 insufficient_scope``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import attrs

from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import sign_jwt
from protocols.jose.keys import SigningKey
from protocols.jose.profiles import TYP_ACCESS_TOKEN
from protocols.oauth.errors import InsufficientScope, InvalidAuthorizationDetails, InvalidToken
from protocols.oidc.userinfo import validate_access_token
from protocols.rar import AuthorizationDetail, details_hash, parse_authorization_details, require_covered, to_json

MAX_APPROVAL_TOKEN_LIFETIME = 3600


def approval_token_claims(*, issuer: str, subject: str, audience: str, client_id: str, scope: tuple[str, ...],
                          details: tuple[AuthorizationDetail, ...], issued_at: int, lifetime: int, jti: str,
                          auth_time: int, amr: tuple[str, ...]) -> dict[str, Any]:
    """The claim set (RFC 9068 §2.2 plus RFC 9396 §9.1)."""
    if not 0 < lifetime <= MAX_APPROVAL_TOKEN_LIFETIME:
        raise ValueError("an approval token is short-lived")
    claims: dict[str, Any] = {"iss": issuer, "sub": subject, "aud": audience, "client_id": client_id,
                              "iat": issued_at, "exp": issued_at + lifetime, "jti": jti, "auth_time": auth_time,
                              "amr": list(amr), "scope": " ".join(scope)}
    if details:
        claims["authorization_details"] = to_json(details)
        claims["authorization_details_sha256"] = details_hash(details)
    return claims


def mint_approval_token(*, claims: Mapping[str, Any], key: SigningKey) -> str:
    return sign_jwt(claims=dict(claims), key=key, typ=TYP_ACCESS_TOKEN)


@attrs.frozen(kw_only=True)
class ApprovedAction:
    """A token accepted for one action: who approved, for which client, what exactly."""

    jti: str
    approver: str
    client_id: str
    scope: tuple[str, ...]
    detail: AuthorizationDetail
    expires_at: int


def check_approved_action(token: str, *, issuer: str, audience: str, keys: JwkSet, now: int,
                          requested: AuthorizationDetail, action: str, required_scope: str,
                          used: Collection[tuple[str, str]] = frozenset()) -> ApprovedAction:
    """Validate ``token`` for performing ``action`` on ``requested`` (module docstring).

    ``used`` holds the (jti, action) pairs already performed. Errors: ``InvalidToken`` (401) for a
    token that is not valid here or was already used for this action, ``InsufficientScope`` (403)
    for a valid token that does not cover the action.
    """
    claims = validate_access_token(token, issuer=issuer, audience=audience, keys=keys, now=now)
    if (claims.jti, action) in used:
        raise InvalidToken("this approval was already used for this action")
    if required_scope not in claims.scope:
        raise InsufficientScope(f"the approval does not grant {required_scope}")
    raw = claims.claims.get("authorization_details")
    if raw is None:
        raise InsufficientScope("the token carries no authorization_details")
    try:
        granted = parse_authorization_details(raw)
    except InvalidAuthorizationDetails:
        raise InvalidToken("the token's authorization_details are malformed") from None
    if claims.claims.get("authorization_details_sha256") != details_hash(granted):
        raise InvalidToken("the token's authorization_details hash does not match")
    detail = require_covered(granted, requested=requested, action=action)
    return ApprovedAction(jti=claims.jti, approver=claims.subject, client_id=claims.client_id, scope=claims.scope,
                          detail=detail, expires_at=claims.expires_at)
