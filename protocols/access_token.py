"""RFC 9068 JWT access tokens: minting at an authorization server, and what a resource server
does after validation (RFC 6750 §3, §3.1) — the one home of the scope checks and ``Bearer``
challenges every resource server here uses (pricing API, SaaS APIs, UserInfo, SSF receivers,
the action gate).

Validation itself is :func:`protocols.oidc.userinfo.validate_access_token` (RFC 9068 §4: ``typ``
``at+jwt``, issuer, audience, signature with the AS keys, expiry → else ``invalid_token``); this
module adds the pieces around it:

- :func:`access_token_claims` / :func:`mint_access_token` — the §2.2 claim set (``iss exp aud sub
  client_id iat jti``, optional ``scope``, ``auth_time``, ``act`` from RFC 8693 §4.1, ``may_act``
  §4.4), one audience per token (§3), signed with header ``typ: at+jwt`` (§2.1);
- :func:`require_scope` / :func:`require_any_scope` — ``403 insufficient_scope`` when a valid
  token lacks the scope, or every one of several that would do (RFC 6750 §3.1);
- :func:`challenge` — the ``WWW-Authenticate: Bearer`` challenge with ``realm``, ``error``,
  ``error_description`` and, for ``insufficient_scope``, the ``scope`` needed (RFC 6750 §3); no
  ``error`` when the request carried no credentials (§3.1);
- :func:`verify_own_access_token` — the issuer's check of a token presented back to it (RFC 7009
  §2.1 revocation, RFC 7662 §2.2 introspection).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from protocols.http import HttpResponse
from protocols.jose.errors import JwtRejected, TokenExpired, WrongAudience
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import sign_jwt, verify_jwt
from protocols.jose.keys import SigningKey
from protocols.jose.profiles import TYP_ACCESS_TOKEN, TokenProfile
from protocols.oauth.errors import InsufficientScope, OAuthError
from protocols.oidc.userinfo import AccessTokenClaims
from protocols.token_exchange import ActClaim, MayAct


def access_token_claims(*, issuer: str, subject: str, audience: str, client_id: str, scope: Iterable[str],
                        issued_at: int, expires_at: int, jti: str, auth_time: int | None = None,
                        act: ActClaim | None = None, may_act: MayAct | None = None,
                        extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The RFC 9068 §2.2 claim set; ``extra`` may add claims but not replace these."""
    if expires_at <= issued_at:
        raise ValueError("an access token must expire after it is issued")
    claims: dict[str, Any] = dict(extra or {})
    protocol = {"iss": issuer, "sub": subject, "aud": audience, "client_id": client_id, "iat": issued_at,
                "exp": expires_at, "jti": jti}
    clash = set(protocol) & set(claims)
    if clash:
        raise ValueError(f"extra claims may not override {sorted(clash)}")
    claims.update(protocol)
    scopes = " ".join(dict.fromkeys(scope))
    if scopes:
        claims["scope"] = scopes
    if auth_time is not None:
        claims["auth_time"] = auth_time
    if act is not None:
        claims["act"] = act.to_claim()
    if may_act is not None:
        claims["may_act"] = may_act.to_claim()
    return claims


def mint_access_token(*, claims: Mapping[str, Any], key: SigningKey) -> str:
    """Sign ``claims`` as an ``at+jwt`` (RFC 9068 §2.1)."""
    return sign_jwt(claims=dict(claims), key=key, typ=TYP_ACCESS_TOKEN)


def verify_own_access_token(token: str, *, issuer: str, keys: JwkSet, audiences: Iterable[str],
                            now: int) -> tuple[Mapping[str, Any] | None, str]:
    """The claims of an unexpired access token ``issuer`` signed (``keys``: its published keys) for
    one of ``audiences``, else ``None`` and why. No leeway: the issuer owns the clock that set ``exp``."""
    for audience in sorted(audiences):
        profile = TokenProfile.access_token(issuer=issuer, audience=audience, leeway=0)
        try:
            return verify_jwt(token, keys=keys, now=now, profile=profile).claims, ""
        except WrongAudience:
            continue
        except TokenExpired:
            return None, "expired"
        except JwtRejected:
            return None, "not an access token of this authorization server"
    return None, "issued for a resource the caller does not serve"


def require_any_scope(token: AccessTokenClaims, any_of: Iterable[str], *, description: str | None = None) -> str:
    """The first of ``any_of`` the token holds, else ``InsufficientScope`` (403, RFC 6750 §3.1)."""
    options = tuple(any_of)
    for scope in options:
        if scope in token.scope:
            return scope
    raise InsufficientScope(description or f"this call requires one of: {' '.join(options)}")


def require_scope(token: AccessTokenClaims, scope: str) -> None:
    """RFC 6750 §3.1: a valid token without ``scope`` is ``insufficient_scope`` (403)."""
    require_any_scope(token, (scope,), description=f"the access token lacks the {scope} scope")


def challenge(*, realm: str, error: OAuthError | None = None, scope: str | None = None) -> HttpResponse:
    """The RFC 6750 §3 error response: no ``error`` attribute when no credentials were sent."""
    parts = [f'realm="{realm}"']
    if error is not None:
        parts.append(f'error="{error.error}"')
        if error.description:
            parts.append(f'error_description="{error.description}"')
    if scope is not None:
        parts.append(f'scope="{scope}"')
    header = "Bearer " + ", ".join(parts)
    if error is None:
        return HttpResponse(status=401, headers={"www-authenticate": header, "cache-control": "no-store"})
    base = error.to_response()
    return HttpResponse(status=base.status, body=base.body, headers=base.headers + (("www-authenticate", header),))
