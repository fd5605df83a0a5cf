"""Why a JWT was refused: one exception class per rejection (RFC 7519 §7.2, RFC 8725 §3).

Every class carries a stable machine-readable ``reason`` (used in audit events and metrics) and a
one-line human message. Messages never contain the token, any part of it, or key material; values
the attacker controls (``kid``, ``typ``, claim values) are not echoed either. Callers map these to
protocol errors at their seam: ``InvalidToken`` at a resource server (RFC 6750 §3.1),
``InvalidGrant`` for assertion grants (RFC 7521 §5.2), ``InvalidClient`` for client assertions
(RFC 7523 §3.2).
"""

from __future__ import annotations

from typing import ClassVar


class JwtRejected(Exception):
    """A JWT failed validation; ``reason`` names the rule, the message says it in one line."""

    reason: ClassVar[str] = "rejected"

    def __init__(self, message: str = "") -> None:
        self.message = message or self.reason.replace("_", " ")
        super().__init__(self.message)


class MalformedJwt(JwtRejected):
    """Not a compact JWS of three canonical base64url segments holding strict UTF-8 JSON objects
    (RFC 7515 §7.1, RFC 7519 §7.2 steps 1–10, RFC 8725 §3.7), or a claim of the wrong JSON type."""

    reason = "malformed"


class AlgorithmNotAllowed(JwtRejected):
    """``alg`` is absent, ``none`` in any spelling, or not allowed for this kind of token
    (RFC 8725 §3.1, §3.2; RFC 7518 §3.6)."""

    reason = "algorithm_not_allowed"


class UnsupportedCritical(JwtRejected):
    """The header has ``crit`` (or ``b64``): we understand no JWS extensions (RFC 7515 §4.1.11,
    RFC 7797 §3, RFC 8725 §3.3)."""

    reason = "unsupported_critical"


class ForbiddenKeyReference(JwtRejected):
    """The header points at keys (``jku``, ``x5u``, ``jwk``, ``x5c``); keys come only from the
    issuer's configured JWK Set (RFC 7515 §4.1.2–§4.1.6, RFC 8725 §3.10)."""

    reason = "forbidden_key_reference"


class UnknownKeyId(JwtRejected):
    """The header has no ``kid`` or names a key that is not in the trusted set (RFC 7515 §4.1.4,
    RFC 8725 §3.10: ``kid`` is an opaque lookup key, never a path or query)."""

    reason = "unknown_key_id"


class AlgorithmKeyMismatch(JwtRejected):
    """The header ``alg`` is not the one algorithm the key is bound to (RFC 8725 §3.1)."""

    reason = "algorithm_key_mismatch"


class BadSignature(JwtRejected):
    """The JWS signature does not verify with the bound key and algorithm (RFC 7515 §5.2 step 8)."""

    reason = "bad_signature"


class WrongTokenType(JwtRejected):
    """The header ``typ`` is not the one this kind of token uses (RFC 8725 §3.11, RFC 9068 §4,
    RFC 8417 §2.3, OIDC Core §3.1.3.7)."""

    reason = "wrong_token_type"


class TokenExpired(JwtRejected):
    """``exp`` is not after now minus leeway (RFC 7519 §4.1.4); an absent ``exp`` is ``MissingClaim``."""

    reason = "token_expired"


class TokenNotYetValid(JwtRejected):
    """``nbf`` is after now (plus leeway) (RFC 7519 §4.1.5)."""

    reason = "token_not_yet_valid"


class IssuedInFuture(JwtRejected):
    """``iat`` is after now (plus leeway) (RFC 7519 §4.1.6)."""

    reason = "issued_in_future"


class WrongIssuer(JwtRejected):
    """``iss`` is not the expected issuer (RFC 7519 §4.1.1, RFC 8725 §3.8)."""

    reason = "wrong_issuer"


class WrongAudience(JwtRejected):
    """``aud`` does not name this recipient, or names several where one is required
    (RFC 7519 §4.1.3, RFC 8725 §3.9)."""

    reason = "wrong_audience"


class MissingClaim(JwtRejected):
    """A claim this kind of token requires is absent (RFC 9068 §2.2, RFC 7523 §3, OIDC Core §2)."""

    reason = "missing_claim"


class ForbiddenClaim(JwtRejected):
    """A claim that marks another kind of token is present (RFC 8725 §3.12 mutually exclusive rules)."""

    reason = "forbidden_claim"


class LifetimeTooLong(JwtRejected):
    """``exp`` − ``iat`` (or ``exp`` − now without ``iat``) exceeds this kind's cap, or ``iat`` is
    older than the accepted age (RFC 7519 §4.1.6, RFC 7523 §3 item 6)."""

    reason = "lifetime_too_long"


ALL_REJECTIONS: tuple[type[JwtRejected], ...] = (
    MalformedJwt, AlgorithmNotAllowed, UnsupportedCritical, ForbiddenKeyReference, UnknownKeyId,
    AlgorithmKeyMismatch, BadSignature, WrongTokenType, TokenExpired, TokenNotYetValid,
    IssuedInFuture, WrongIssuer, WrongAudience, MissingClaim, ForbiddenClaim, LifetimeTooLong,
)
"""Every rejection class, for callers building reason → protocol-error tables."""
