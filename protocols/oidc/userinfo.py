"""The UserInfo endpoint (OIDC Core §5.3) as an RFC 6750 bearer-protected resource.

- The access token is accepted from the ``Authorization: Bearer`` header only (RFC 6750 §2.1). The
  ``access_token`` query parameter (§2.3) and form body parameter (§2.2) are refused with
  ``400 invalid_request``: MCP forbids them and they leak into logs (RFC 6750 §5.3).
- No credentials at all → ``401`` with ``WWW-Authenticate: Bearer realm="..."`` and no ``error``
  (§3.1). A bad, expired, revoked, wrong-audience or wrong-type token (an ID token, say) →
  ``401 invalid_token``. A valid token without the ``openid`` scope → ``403 insufficient_scope``.
- Tokens are RFC 9068 ``at+jwt`` access tokens validated per §4 for the UserInfo audience.
- Claims released per scope (OIDC Core §5.4); the client checks ``sub`` equals the ID token's (§5.3.2).
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from typing import Any

import attrs

from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.jose.errors import JwtRejected
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import verify_jwt
from protocols.jose.profiles import TokenProfile
from protocols.oauth.errors import InsufficientScope, InvalidRequest, InvalidToken, OAuthError

_B64TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")
"""RFC 6750 §2.1 ``b64token`` syntax."""


class MissingBearerToken(Exception):
    """The request carries no bearer credentials (RFC 6750 §3.1: challenge without ``error``)."""


def extract_bearer_token(request: HttpRequest) -> str:
    """The bearer token from the ``Authorization`` header; other placements are refused."""
    try:
        query = request.query_params()
    except MalformedBody as exc:
        raise InvalidRequest(str(exc)) from None
    if "access_token" in query:
        raise InvalidRequest("access tokens are not accepted in the query string")
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if request.body and content_type == "application/x-www-form-urlencoded":
        try:
            form = request.form()
        except MalformedBody as exc:
            raise InvalidRequest(str(exc)) from None
        if "access_token" in form:
            raise InvalidRequest("access tokens are not accepted in the request body")
    headers = request.header_values("authorization")
    if len(headers) > 1:
        raise InvalidRequest("more than one Authorization header")
    if not headers:
        raise MissingBearerToken()
    scheme, _, token = headers[0].partition(" ")
    if scheme.lower() != "bearer":
        raise MissingBearerToken()
    token = token.strip()
    if not token or not _B64TOKEN.match(token):
        raise InvalidToken("malformed bearer token")
    return token


@attrs.frozen(kw_only=True)
class AccessTokenClaims:
    """The claims of an accepted RFC 9068 access token."""

    subject: str
    client_id: str
    jti: str
    scope: tuple[str, ...]
    expires_at: int
    claims: Mapping[str, Any] = attrs.field(repr=False)


def validate_access_token(token: str, *, issuer: str, audience: str, keys: JwkSet, now: int,
                          revoked: Container[str] = frozenset()) -> AccessTokenClaims:
    """RFC 9068 §4 validation; every failure is ``InvalidToken`` (RFC 6750 §3.1)."""
    try:
        verified = verify_jwt(token, keys=keys, now=now,
                              profile=TokenProfile.access_token(issuer=issuer, audience=audience))
    except JwtRejected as exc:
        raise InvalidToken(f"access token rejected: {exc.reason}") from None
    claims = verified.claims
    if claims["jti"] in revoked:
        raise InvalidToken("access token revoked")
    scope = claims.get("scope", "")
    if not isinstance(scope, str) or not isinstance(claims["sub"], str) or not isinstance(claims["client_id"], str):
        raise InvalidToken("access token claims are malformed")
    return AccessTokenClaims(subject=claims["sub"], client_id=claims["client_id"], jti=claims["jti"],
                             scope=tuple(scope.split()), expires_at=claims["exp"], claims=claims)


def userinfo_claims(token: AccessTokenClaims, *, released: Mapping[str, Any]) -> dict[str, Any]:
    """The UserInfo response body: ``sub`` plus ``released`` claims (OIDC Core §5.3.2).

    Raises ``InsufficientScope`` when the token was not issued for OpenID Connect.
    """
    if "openid" not in token.scope:
        raise InsufficientScope("the access token lacks the openid scope")
    return {**released, "sub": token.subject}


# ------------------------------------------------------------------------ client side


def userinfo_request(*, url: str, access_token: str) -> HttpRequest:
    """``GET`` with the token in the ``Authorization`` header (RFC 6750 §2.1)."""
    return HttpRequest.get(url, headers={"authorization": f"Bearer {access_token}", "accept": "application/json"})


class UserInfoRejected(ValueError):
    """A UserInfo response the client must not use (OIDC Core §5.3.2, §5.3.4)."""


def parse_userinfo_response(response: HttpResponse, *, expected_subject: str) -> dict[str, Any]:
    """The claims, after checking ``sub`` equals the ID token's; errors raise their ``OAuthError``."""
    if response.status != 200:
        raise OAuthError.from_response(response)
    try:
        body = response.json()
    except MalformedBody as exc:
        raise UserInfoRejected(str(exc)) from None
    if not isinstance(body, dict):
        raise UserInfoRejected("the UserInfo response is not a JSON object")
    if body.get("sub") != expected_subject:
        raise UserInfoRejected("UserInfo sub differs from the ID token sub")
    return body
