"""Client registrations and client authentication at the token endpoint.

- ``client_secret_basic`` (RFC 6749 §2.3.1): ``Authorization: Basic`` over the form-urlencoded
  ``client_id`` and secret; compared in constant time against a stored SHA-256 of the secret.
- ``private_key_jwt`` (OIDC Core §9, RFC 7523 §2.2 and §3, RFC 7521 §4.2): a JWT signed with a key
  from the client's registered JWK Set; ``iss`` = ``sub`` = ``client_id``; ``aud`` = the AS issuer,
  single-valued (draft-ietf-oauth-rfc7523bis), the token endpoint URL only behind a compatibility
  flag; ``exp`` and ``jti`` required, ``jti`` refused again until ``exp`` (replay cache).
- More than one method in a request is ``invalid_request`` (RFC 6749 §2.3); every other failure
  is ``401 invalid_client`` (RFC 6749 §5.2, RFC 7523 §3.2).
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import attrs

from protocols.entropy import SeededEntropy
from protocols.http import MalformedBody, parse_json
from protocols.jose.encoding import Base64UrlError, b64url_decode
from protocols.jose.errors import JwtRejected, WrongAudience
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import TokenProfile, sign_jwt, verify_jwt
from protocols.oauth.errors import InvalidClient, InvalidRequest

JWT_BEARER_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLIENT_ASSERTION_TYP = "client-authentication+jwt"
"""Explicit JWT type registered by draft-ietf-oauth-rfc7523bis."""

MAX_ASSERTION_LIFETIME = 300
"""Assertions valid for longer are refused, which also bounds the replay cache (RFC 7523 §3 item 4)."""


class ClientAuthMethod(enum.Enum):
    """Token endpoint authentication methods we implement (IANA registry names)."""

    PRIVATE_KEY_JWT = "private_key_jwt"
    CLIENT_SECRET_BASIC = "client_secret_basic"


def hash_client_secret(secret: str) -> bytes:
    """The digest stored in a registration; secrets are high-entropy, so SHA-256 suffices."""
    return hashlib.sha256(secret.encode("utf-8")).digest()


def _frozenset(value: Any) -> frozenset[str]:
    return frozenset(value)


@attrs.frozen(kw_only=True)
class ClientRegistration:
    """A registered client (RFC 7591 §2 metadata names, OIDC Registration §2)."""

    client_id: str
    name: str
    redirect_uris: tuple[str, ...] = attrs.field(converter=tuple)
    auth_method: ClientAuthMethod = ClientAuthMethod.PRIVATE_KEY_JWT
    jwks: JwkSet | None = None
    client_secret_sha256: bytes | None = attrs.field(default=None, repr=False)
    grant_types: frozenset[str] = attrs.field(default=frozenset({"authorization_code"}), converter=_frozenset)
    scopes: frozenset[str] = attrs.field(default=frozenset({"openid", "profile", "email"}), converter=_frozenset)
    require_mfa: bool = False

    def __attrs_post_init__(self) -> None:
        if self.auth_method is ClientAuthMethod.PRIVATE_KEY_JWT and self.jwks is None:
            raise ValueError("a private_key_jwt client needs a registered JWK Set")
        if self.auth_method is ClientAuthMethod.CLIENT_SECRET_BASIC and self.client_secret_sha256 is None:
            raise ValueError("a client_secret_basic client needs a secret digest")


@attrs.frozen(kw_only=True)
class AuthenticatedClient:
    """The outcome of successful client authentication."""

    registration: ClientRegistration
    method: ClientAuthMethod
    assertion_jti: str | None = None

    @property
    def client_id(self) -> str:
        return self.registration.client_id


# ------------------------------------------------------------------------ client side


def basic_authorization(client_id: str, secret: str) -> str:
    """``Authorization`` header value for ``client_secret_basic`` (RFC 6749 §2.3.1, Appendix B)."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode("utf-8")
    return "Basic " + base64.b64encode(raw).decode("ascii")


def build_client_assertion(*, client_id: str, audience: str, key: Any, now: int, entropy: SeededEntropy,
                           lifetime: int = 60) -> str:
    """A ``private_key_jwt`` assertion (RFC 7523 §3, OIDC Core §9); ``audience`` is the AS issuer."""
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "iat": now, "exp": now + lifetime,
              "jti": entropy.token(16)}
    return sign_jwt(claims=claims, key=key, typ=CLIENT_ASSERTION_TYP)


def client_assertion_params(*, client_id: str, audience: str, key: Any, now: int,
                            entropy: SeededEntropy) -> dict[str, str]:
    """The form parameters that carry a client assertion (RFC 7521 §4.2)."""
    return {"client_id": client_id, "client_assertion_type": JWT_BEARER_ASSERTION_TYPE,
            "client_assertion": build_client_assertion(client_id=client_id, audience=audience, key=key,
                                                       now=now, entropy=entropy)}


# ------------------------------------------------------------------------ replay cache


@attrs.define
class AssertionReplayCache:
    """``jti`` values seen per issuer, remembered until the assertion's ``exp`` (RFC 7523 §3 item 7)."""

    _seen: dict[tuple[str, str], int] = attrs.field(factory=dict)

    def remember(self, *, issuer: str, jti: str, expires_at: int, now: int) -> bool:
        """Record the jti; ``False`` when it was already seen and has not expired."""
        self.purge(now=now)
        key = (issuer, jti)
        if key in self._seen:
            return False
        self._seen[key] = expires_at
        return True

    def purge(self, *, now: int) -> None:
        for key in [k for k, exp in self._seen.items() if exp < now]:
            del self._seen[key]

    @property
    def size(self) -> int:
        """Entries held (not ``__len__``: an empty cache must not be falsy)."""
        return len(self._seen)


# ------------------------------------------------------------------------ server side


def _unverified_claims(token: str) -> Mapping[str, Any]:
    """The payload, read only to find which client's keys to verify with."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidClient("client_assertion is not a compact JWS")
    try:
        claims = parse_json(b64url_decode(parts[1]))
    except (Base64UrlError, MalformedBody):
        raise InvalidClient("client_assertion is malformed") from None
    if not isinstance(claims, Mapping):
        raise InvalidClient("client_assertion is malformed")
    return claims


def _parse_basic(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise InvalidClient("unsupported Authorization scheme at the token endpoint")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient("malformed Basic credentials") from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise InvalidClient("malformed Basic credentials")
    return unquote_plus(user), unquote_plus(password)


def authenticate_client(*, form: Mapping[str, str], authorization: str | None,
                        lookup_client: Callable[[str], ClientRegistration | None], issuer: str,
                        token_endpoint: str, replay_cache: AssertionReplayCache, now: int,
                        accept_token_endpoint_audience: bool = False, leeway: int = 30) -> AuthenticatedClient:
    """Authenticate the client of a token-endpoint request (RFC 6749 §2.3, RFC 7523 §3)."""
    has_assertion = "client_assertion" in form or "client_assertion_type" in form
    used = [name for name, present in (("basic", authorization is not None), ("private_key_jwt", has_assertion),
                                       ("client_secret_post", "client_secret" in form)) if present]
    if len(used) > 1:
        raise InvalidRequest("more than one client authentication method used")
    if not used:
        raise InvalidClient("client authentication required")
    if used[0] == "client_secret_post":
        raise InvalidClient("client_secret_post is not supported")
    if used[0] == "basic":
        assert authorization is not None
        return _authenticate_basic(authorization, form=form, lookup_client=lookup_client)
    return _authenticate_assertion(form, lookup_client=lookup_client, issuer=issuer, token_endpoint=token_endpoint,
                                   replay_cache=replay_cache, now=now, leeway=leeway,
                                   accept_token_endpoint_audience=accept_token_endpoint_audience)


def claimed_client_id(*, form: Mapping[str, str], authorization: str | None) -> str | None:
    """The client a request *claims* to be — ``client_id`` in the body, else the Basic user, else
    the client assertion's ``iss`` — unverified, for the audit line of a refused request only
    (never a basis for trust); at most 128 characters, ``None`` when the request names none."""
    claimed: Any = form.get("client_id")
    if not claimed and authorization:
        try:
            claimed = _parse_basic(authorization)[0]
        except InvalidClient:
            claimed = None
    if not claimed and form.get("client_assertion"):
        try:
            claimed = _unverified_claims(form["client_assertion"]).get("iss")
        except InvalidClient:
            claimed = None
    return claimed[:128] if isinstance(claimed, str) and claimed else None


def _authenticate_basic(header: str, *, form: Mapping[str, str],
                        lookup_client: Callable[[str], ClientRegistration | None]) -> AuthenticatedClient:
    client_id, secret = _parse_basic(header)
    if "client_id" in form and form["client_id"] != client_id:
        raise InvalidClient("client_id in the body differs from the Basic credentials")
    client = lookup_client(client_id)
    expected = client.client_secret_sha256 if client is not None else None
    # Compare against a digest even for unknown clients so timing does not reveal registrations.
    matches = hmac.compare_digest(hash_client_secret(secret), expected or hash_client_secret("\x00unknown"))
    if client is None or expected is None or not matches:
        raise InvalidClient("client authentication failed")
    if client.auth_method is not ClientAuthMethod.CLIENT_SECRET_BASIC:
        raise InvalidClient("client is not registered for client_secret_basic")
    return AuthenticatedClient(registration=client, method=ClientAuthMethod.CLIENT_SECRET_BASIC)


def _authenticate_assertion(form: Mapping[str, str], *, lookup_client: Callable[[str], ClientRegistration | None],
                            issuer: str, token_endpoint: str, replay_cache: AssertionReplayCache, now: int,
                            leeway: int, accept_token_endpoint_audience: bool) -> AuthenticatedClient:
    if form.get("client_assertion_type") != JWT_BEARER_ASSERTION_TYPE:
        raise InvalidRequest("client_assertion_type must be " + JWT_BEARER_ASSERTION_TYPE)
    assertion = form.get("client_assertion")
    if not assertion:
        raise InvalidRequest("client_assertion is required")
    unverified = _unverified_claims(assertion)
    client_id = form.get("client_id") or unverified.get("iss")
    if not isinstance(client_id, str):
        raise InvalidClient("client_assertion has no issuer")
    client = lookup_client(client_id)
    if client is None or client.auth_method is not ClientAuthMethod.PRIVATE_KEY_JWT or client.jwks is None:
        raise InvalidClient("client authentication failed")
    try:
        verified = verify_jwt(assertion, keys=client.jwks, now=now,
                              profile=TokenProfile.client_assertion(audience=issuer))
    except WrongAudience:
        if not accept_token_endpoint_audience:
            raise InvalidClient("client_assertion aud must be the issuer identifier") from None
        try:
            verified = verify_jwt(assertion, keys=client.jwks, now=now,
                                  profile=TokenProfile.client_assertion(audience=token_endpoint))
        except JwtRejected as exc:
            raise InvalidClient(f"client_assertion rejected: {exc.reason}") from None
    except JwtRejected as exc:
        raise InvalidClient(f"client_assertion rejected: {exc.reason}") from None
    claims = verified.claims
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise InvalidClient("client_assertion iss and sub must both equal client_id")
    aud = claims.get("aud")
    if isinstance(aud, list) and len(aud) != 1:
        raise InvalidClient("client_assertion aud must be single-valued")
    jti, exp = claims.get("jti"), claims.get("exp")
    if not isinstance(jti, str) or not jti:
        raise InvalidClient("client_assertion jti is required")
    if not isinstance(exp, int) or exp + leeway <= now:
        raise InvalidClient("client_assertion expired")
    if exp - now > MAX_ASSERTION_LIFETIME:
        raise InvalidClient("client_assertion lifetime is too long")
    if not replay_cache.remember(issuer=client_id, jti=jti, expires_at=exp + leeway, now=now):
        raise InvalidClient("client_assertion jti was already used")
    return AuthenticatedClient(registration=client, method=ClientAuthMethod.PRIVATE_KEY_JWT, assertion_jti=jti)
