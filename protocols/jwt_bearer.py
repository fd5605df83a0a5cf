"""The JWT bearer authorization grant, RFC 7523 §2.1 (request) and §3 (processing), with the
assertion framework rules of RFC 7521 §4.1 and §5.2.

- Request: ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``, exactly one ``assertion``
  (a single JWT), optional ``scope``. Client authentication is separate (RFC 7523 §2.1 makes it
  optional; the ID-JAG profile and this platform require it).
- Processing: the assertion's issuer must be one we trust (§3 item 1), the key comes from that
  issuer's published JWK Set — never from the token (RFC 8725 §3.10); then ``sub``, ``aud`` (our
  issuer identifier; single-valued per rfc7523bis), ``exp``, ``nbf``, ``iat`` and the signature
  (§3 items 2–9) through a :class:`~protocols.jose.profiles.TokenProfile`.
- Every failure is ``invalid_grant`` (§3.1); ``jti`` replay protection (§3 item 7) is a MAY that
  profiles decide (the ID-JAG profile allows re-presentation, see ``protocols.id_jag``).

Keys are looked up before verification: :func:`assertion_key_need` tells the caller when a trusted
issuer's key set lacks the assertion's ``kid`` so it can refresh the JWKS (key rotation) once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from protocols.http import MalformedBody, parse_json
from protocols.jose.encoding import Base64UrlError, b64url_decode
from protocols.jose.errors import JwtRejected
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import VerifiedJwt, verify_jwt
from protocols.jose.profiles import TokenProfile
from protocols.oauth.errors import InvalidGrant, InvalidRequest
from protocols.token_exchange import GRANT_TYPE_JWT_BEARER

MAX_ASSERTION_CHARS = 16 * 1024


@attrs.frozen(kw_only=True)
class JwtBearerRequest:
    """RFC 7523 §2.1 parameters (client authentication parameters are read elsewhere)."""

    assertion: str = attrs.field(repr=False)
    scope: tuple[str, ...] = ()

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> JwtBearerRequest:
        if form.get("grant_type") != GRANT_TYPE_JWT_BEARER:
            raise InvalidRequest(f"grant_type must be {GRANT_TYPE_JWT_BEARER}")
        assertion = form.get("assertion")
        if not isinstance(assertion, str) or not assertion:
            raise InvalidRequest("assertion is required (RFC 7523 sec. 2.1)")
        if assertion.count(".") != 2:
            raise InvalidGrant("assertion must be a single signed JWT (RFC 7521 sec. 4.1)")
        scope = form.get("scope")
        if scope is not None and not isinstance(scope, str):
            raise InvalidRequest("scope must appear once")
        scopes = tuple(dict.fromkeys(scope.split(" "))) if scope else ()
        if any(not s for s in scopes):
            raise InvalidRequest("scope is not a space-separated list of scope tokens")
        return cls(assertion=assertion, scope=scopes)


@attrs.frozen(kw_only=True)
class Unverified:
    """The header and claims of a JWT, decoded but **not** verified: only for choosing the issuer's
    keys. Nothing here may drive a decision before :func:`verify_assertion`."""

    header: Mapping[str, Any]
    claims: Mapping[str, Any]

    @property
    def issuer(self) -> str | None:
        iss = self.claims.get("iss")
        return iss if isinstance(iss, str) else None

    @property
    def kid(self) -> str | None:
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else None


def peek(assertion: str) -> Unverified:
    """Decode a compact JWS's header and payload without trusting them; malformed → ``invalid_grant``."""
    if not isinstance(assertion, str) or len(assertion) > MAX_ASSERTION_CHARS or not assertion.isascii():
        raise InvalidGrant("assertion is not a compact JWS of acceptable size")
    parts = assertion.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise InvalidGrant("assertion is not a compact JWS")
    try:
        header, claims = parse_json(b64url_decode(parts[0])), parse_json(b64url_decode(parts[1]))
    except (Base64UrlError, MalformedBody):
        raise InvalidGrant("assertion is malformed") from None
    if not isinstance(header, Mapping) or not isinstance(claims, Mapping):
        raise InvalidGrant("assertion is malformed")
    return Unverified(header=header, claims=claims)


def assertion_key_need(unverified: Unverified, *, trusted: Mapping[str, JwkSet]) -> str | None:
    """The trusted issuer whose key set should be refreshed before verifying (its ``kid`` is
    unknown), or ``None``. An untrusted issuer never causes a fetch (no SSRF, RFC 8725 §3.10)."""
    issuer = unverified.issuer
    if issuer is None or issuer not in trusted:
        return None
    kid = unverified.kid
    return issuer if kid is not None and trusted[issuer].lookup(kid) is None else None


def verify_assertion(assertion: str, *, trusted: Mapping[str, JwkSet],
                     profile_for: Callable[[str], TokenProfile], now: int) -> VerifiedJwt:
    """RFC 7523 §3 items 1–9: pick the keys of the (trusted) issuer, verify with its profile.

    ``profile_for(issuer)`` builds the profile (typ, audience = our issuer, lifetime caps, required
    claims including ``sub``). Every failure raises ``InvalidGrant`` naming the rule, never the token.
    """
    unverified = peek(assertion)
    issuer = unverified.issuer
    if issuer is None:
        raise InvalidGrant("assertion has no issuer (RFC 7523 sec. 3 item 1)")
    keys = trusted.get(issuer)
    if keys is None:
        raise InvalidGrant("assertion issuer is not trusted here (RFC 7523 sec. 3 item 1)")
    try:
        verified = verify_jwt(assertion, keys=keys, profile=profile_for(issuer), now=now)
    except JwtRejected as exc:
        raise InvalidGrant(f"assertion rejected: {exc.reason}") from None
    sub = verified.claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise InvalidGrant("assertion sub must be a non-empty string (RFC 7523 sec. 3 item 2)")
    return verified
