"""Global Token Revocation (draft-parecki-oauth-global-token-revocation-05), as Okta's "Universal
Logout" ships it.

- C→ ``POST <global_token_revocation_endpoint>`` with ``Content-Type: application/json`` and the
  body ``{"sub_id": <RFC 9493 subject identifier>}`` (§3). The caller authenticates with a signed
  JWT in ``Authorization: Bearer`` (what Okta does, RFC 7523 style): ``typ``
  ``client-authentication+jwt``, ``iss`` = ``sub`` = the caller, ``aud`` = this endpoint's URL
  (single-valued), ``exp`` at most five minutes after ``iat``, a ``jti`` used once.
- S✓ (§3.1) authorise the caller narrowly (only configured callers, keys bound to them), resolve the
  subject, then revoke every refresh token (MUST), invalidate access tokens and sessions (SHOULD)
  and require a new authentication before issuing tokens again.
- S← (§3.2) ``204`` revocation done; ``400`` malformed request or unsupported subject format;
  ``401`` caller not authenticated; ``403`` caller not allowed; ``404`` subject unknown;
  ``422`` the subject cannot be logged out. Error bodies use the RFC 6749 §5.2 shape.
- Metadata (§4): ``global_token_revocation_endpoint`` and
  ``global_token_revocation_endpoint_auth_methods_supported``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse, MalformedBody, parse_json
from protocols.jose.encoding import Base64UrlError, b64url_decode
from protocols.jose.errors import JwtRejected
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import sign_jwt, verify_jwt
from protocols.jose.keys import SigningKey
from protocols.jose.profiles import TYP_CLIENT_ASSERTION, TokenProfile
from protocols.oauth.client_auth import AssertionReplayCache
from protocols.subject_identifiers import InvalidSubject, SubjectId

GTR_PATH = "/oauth/global-token-revocation"
AUTH_METHOD = "private_key_jwt"
MAX_CALLER_ASSERTION_LIFETIME = 300


class GtrError(Exception):
    """A refused revocation request: ``status`` and an RFC 6749 §5.2-style ``error`` code."""

    status: ClassVar[int] = 400
    error: ClassVar[str] = "invalid_request"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def to_response(self) -> HttpResponse:
        headers = {"www-authenticate": 'Bearer error="invalid_token"'} if self.status == 401 else None
        return HttpResponse.json_body({"error": self.error, "error_description": self.description},
                                      status=self.status, headers=headers)


class MalformedRevocation(GtrError):
    status, error = 400, "invalid_request"


class CallerNotAuthenticated(GtrError):
    status, error = 401, "invalid_client"


class CallerNotAllowed(GtrError):
    status, error = 403, "access_denied"


class SubjectNotFound(GtrError):
    status, error = 404, "unknown_subject"


class CannotLogOut(GtrError):
    status, error = 422, "unable_to_log_out"


def metadata(endpoint: str) -> dict[str, Any]:
    """The AS metadata members that advertise GTR (§4)."""
    return {"global_token_revocation_endpoint": endpoint,
            "global_token_revocation_endpoint_auth_methods_supported": [AUTH_METHOD]}


def caller_assertion(*, caller: str, endpoint: str, key: SigningKey, now: int, entropy: SeededEntropy,
                     lifetime: int = 60) -> str:
    """The signed JWT that authenticates the caller to one GTR endpoint."""
    claims = {"iss": caller, "sub": caller, "aud": endpoint, "iat": now, "exp": now + lifetime,
              "jti": entropy.token(16)}
    return sign_jwt(claims=claims, key=key, typ=TYP_CLIENT_ASSERTION)


def revocation_request(*, endpoint: str, subject: SubjectId, assertion: str) -> HttpRequest:
    """§3: the JSON request."""
    return HttpRequest.json_post(url=endpoint, payload={"sub_id": subject.to_json()},
                                 headers={"authorization": f"Bearer {assertion}", "accept": "application/json"})


@attrs.frozen(kw_only=True)
class AuthorizedRevocation:
    """A request that passed authentication and parsing: who asks, about whom."""

    caller: str
    subject: SubjectId


def parse_revocation_request(request: HttpRequest, *, endpoint: str, callers: Mapping[str, JwkSet], now: int,
                             replay: AssertionReplayCache) -> AuthorizedRevocation:
    """Authenticate the caller (401/403), then parse ``sub_id`` (400). ``callers`` maps each allowed
    caller to its keys: a caller not listed is refused even with a valid signature."""
    header = request.header("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise CallerNotAuthenticated("a signed caller assertion is required (Authorization: Bearer)")
    token = token.strip()
    caller = _claimed_caller(token)
    keys = callers.get(caller) if caller else None
    if keys is None:
        raise CallerNotAllowed("this caller may not request global token revocation")
    profile = TokenProfile.client_assertion(audience=endpoint, client_id=caller,
                                            max_lifetime=MAX_CALLER_ASSERTION_LIFETIME)
    try:
        claims = verify_jwt(token, keys=keys, profile=profile, now=now).claims
    except JwtRejected as error:
        raise CallerNotAuthenticated(f"caller assertion refused: {error.message}") from None
    if claims.get("sub") != caller or not isinstance(claims.get("jti"), str):
        raise CallerNotAuthenticated("caller assertion refused: sub must equal iss and jti is required")
    if not replay.remember(issuer=caller, jti=claims["jti"], expires_at=int(claims["exp"]), now=now):
        raise CallerNotAuthenticated("caller assertion refused: it was already used")
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise MalformedRevocation("the body must be application/json")
    try:
        body = request.json()
    except MalformedBody as error:
        raise MalformedRevocation(str(error)) from None
    if not isinstance(body, Mapping) or "sub_id" not in body:
        raise MalformedRevocation("the body must be a JSON object with sub_id")
    try:
        subject = SubjectId.from_json(body["sub_id"])
    except InvalidSubject as error:
        raise MalformedRevocation(f"sub_id: {error}") from None
    return AuthorizedRevocation(caller=caller, subject=subject)


def _claimed_caller(token: str) -> str | None:
    """The ``iss`` the assertion claims, read only to pick the keys it must verify with."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 8192:
        return None
    try:
        claims = parse_json(b64url_decode(parts[1]))
    except (Base64UrlError, MalformedBody, ValueError):
        return None
    iss = claims.get("iss") if isinstance(claims, dict) else None
    return iss if isinstance(iss, str) else None
