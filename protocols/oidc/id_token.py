"""ID tokens: the claims the provider mints (OIDC Core §2, §3.1.3.6, §5.1) and the relying party's
validation (OIDC Core §3.1.3.7).

The provider signs with its active key (``kid`` in the header, OIDC Core §10.1) and no ``typ``
(OIDC defines none; typed kinds are the ones kept apart, RFC 8725 §3.11). ``jti`` is included so
tokens minted from a replayed code can be revoked by id (RFC 6749 §4.1.2).

The relying party checks ``iss`` (step 2), ``aud`` contains its ``client_id`` (3), ``azp`` (4–5),
the signature with the issuer's key chosen by ``kid`` and the expected ``alg`` only (6–7), ``exp``
(9), ``iat`` age (10), ``nonce`` equality (11) and ``auth_time`` against ``max_age`` (13).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from protocols.jose.errors import JwtRejected, LifetimeTooLong, MissingClaim
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import sign_jwt, verify_jwt
from protocols.jose.keys import Algorithm, SigningKey
from protocols.jose.profiles import TokenProfile

ID_TOKEN_LIFETIME = 3600

RESERVED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp",
                             "sid", "jti", "at_hash", "c_hash", "client_id", "scope", "cnf", "act", "events"})
"""Claims a claims hook may not set: protocol claims are the provider's alone."""

SCOPE_CLAIMS: Mapping[str, tuple[str, ...]] = {"profile": ("name",), "email": ("email", "email_verified")}
"""Standard claims released per scope value (OIDC Core §5.4)."""


class NonceMismatch(JwtRejected):
    """``nonce`` absent or different from the one sent (OIDC Core §3.1.3.7 step 11)."""

    reason = "nonce_mismatch"


class AuthenticationTooOld(JwtRejected):
    """``auth_time`` missing or older than the requested ``max_age`` (OIDC Core §3.1.3.7 step 13)."""

    reason = "auth_time_too_old"


@attrs.frozen(kw_only=True)
class IdTokenClaims:
    """The validated claims of an ID token the relying party accepted."""

    issuer: str
    subject: str
    audience: tuple[str, ...]
    expires_at: int
    issued_at: int
    auth_time: int | None
    nonce: str | None
    amr: tuple[str, ...]
    sid: str | None
    jti: str | None
    kid: str
    claims: Mapping[str, Any] = attrs.field(repr=False)


def check_hook_claims(extra: Mapping[str, Any]) -> Mapping[str, Any]:
    """Refuse claims-hook output that would override a protocol claim; returns ``extra``."""
    clashes = RESERVED_CLAIMS.intersection(extra)
    if clashes:
        raise ValueError(f"claims hook tried to set protocol claims: {', '.join(sorted(clashes))}")
    return extra


def id_token_claims(*, issuer: str, client_id: str, subject: str, now: int, auth_time: int,
                    amr: tuple[str, ...], nonce: str | None, sid: str, jti: str,
                    profile_claims: Mapping[str, Any], lifetime: int = ID_TOKEN_LIFETIME) -> dict[str, Any]:
    """The claim set of an ID token (OIDC Core §2). ``profile_claims`` may not override protocol claims."""
    claims: dict[str, Any] = dict(check_hook_claims(profile_claims))
    claims.update(iss=issuer, sub=subject, aud=client_id, azp=client_id, exp=now + lifetime, iat=now,
                  auth_time=auth_time, amr=list(amr), sid=sid, jti=jti)
    if nonce is not None:
        claims["nonce"] = nonce
    return claims


def mint_id_token(*, key: SigningKey, issuer: str, client_id: str, subject: str, now: int, auth_time: int,
                  amr: tuple[str, ...], nonce: str | None, sid: str, jti: str,
                  profile_claims: Mapping[str, Any], lifetime: int = ID_TOKEN_LIFETIME) -> str:
    """A signed ID token (OIDC Core §3.1.3.6)."""
    claims = id_token_claims(issuer=issuer, client_id=client_id, subject=subject, now=now, auth_time=auth_time,
                             amr=amr, nonce=nonce, sid=sid, jti=jti, profile_claims=profile_claims,
                             lifetime=lifetime)
    return sign_jwt(claims=claims, key=key)


def validate_id_token(token: str, *, issuer: str, client_id: str, keys: JwkSet, now: int,
                      nonce: str | None, max_age: int | None = None,
                      algorithms: frozenset[Algorithm] = frozenset({Algorithm.RS256}),
                      max_token_age: int = 3600, leeway: int = 30) -> IdTokenClaims:
    """Validate an ID token as the relying party (OIDC Core §3.1.3.7); raises ``JwtRejected``.

    ``algorithms`` is the registered ``id_token_signed_response_alg`` (default RS256, step 7);
    ``nonce`` is the value we sent (``None``: we sent none); ``max_age`` the value we requested.
    """
    profile = TokenProfile.id_token(issuer=issuer, client_id=client_id, algorithms=algorithms, leeway=leeway,
                                    max_lifetime=86_400)
    verified = verify_jwt(token, keys=keys, profile=profile, now=now)
    claims = verified.claims
    iat = claims["iat"]
    if now - iat > max_token_age + leeway:
        raise LifetimeTooLong("the ID token was issued too long ago")
    if nonce is not None and claims.get("nonce") != nonce:
        raise NonceMismatch("the ID token nonce differs from the one sent")
    if nonce is None and "nonce" in claims:
        raise NonceMismatch("the ID token carries a nonce that was never sent")
    auth_time = claims.get("auth_time")
    if auth_time is not None and (not isinstance(auth_time, int) or isinstance(auth_time, bool)):
        raise MissingClaim("auth_time must be a NumericDate")
    if max_age is not None:
        if auth_time is None:
            raise AuthenticationTooOld("auth_time is required when max_age was requested")
        if now - auth_time > max_age + leeway:
            raise AuthenticationTooOld("the end user authenticated too long ago")
    aud = claims["aud"]
    amr = claims.get("amr", [])
    if not isinstance(amr, list) or not all(isinstance(v, str) for v in amr):
        raise MissingClaim("amr must be an array of strings")
    return IdTokenClaims(issuer=claims["iss"], subject=claims["sub"],
                         audience=tuple(aud) if isinstance(aud, list) else (aud,),
                         expires_at=claims["exp"], issued_at=iat, auth_time=auth_time,
                         nonce=claims.get("nonce"), amr=tuple(amr), sid=claims.get("sid"),
                         jti=claims.get("jti"), kid=verified.header.get("kid", ""), claims=claims)
