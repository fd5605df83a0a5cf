"""Token revocation (RFC 7009): the request, the server's decision rules and the client's request.

- C→ ``POST`` form ``token`` (REQUIRED) and ``token_type_hint`` (``access_token`` |
  ``refresh_token``, OPTIONAL) plus client authentication (§2.1).
- S✓ the token must have been issued to the authenticated client, else the request is refused
  (§2.1: "the authorization server [...] verifies whether the token was issued to the client");
  revoking a refresh token also revokes the access tokens of the same grant (§2.1, "SHOULD").
- S← ``200`` with an empty body both when the token was revoked and when it was unknown or
  already invalid (§2.2) — the answer reveals nothing about the token; a hint naming a type the
  server does not revoke is ``unsupported_token_type`` (§2.2.1); a hint that turns out wrong is
  ignored and every type is searched (§2.1).
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import Any

import attrs

from protocols.http import HttpRequest, HttpResponse
from protocols.oauth.errors import InvalidRequest, UnsupportedTokenType

ACCESS_TOKEN_HINT = "access_token"
REFRESH_TOKEN_HINT = "refresh_token"
KNOWN_HINTS = (ACCESS_TOKEN_HINT, REFRESH_TOKEN_HINT)


@attrs.frozen(kw_only=True)
class RevocationRequest:
    """A parsed revocation request (RFC 7009 §2.1)."""

    token: str = attrs.field(repr=False)
    token_type_hint: str | None = None

    @classmethod
    def from_form(cls, form: Mapping[str, str], *, revocable: tuple[str, ...] = KNOWN_HINTS) -> RevocationRequest:
        """Validate the form; ``revocable`` lists the token types this server can revoke."""
        token = form.get("token")
        if not token:
            raise InvalidRequest("token is required")
        hint = form.get("token_type_hint")
        if hint is not None and hint in KNOWN_HINTS and hint not in revocable:
            raise UnsupportedTokenType(f"{hint} cannot be revoked here")
        if hint is not None and hint not in KNOWN_HINTS:
            hint = None  # an unknown hint is not an error; search every type (§2.1)
        return cls(token=token, token_type_hint=hint)

    def search_order(self) -> tuple[str, ...]:
        """Token types to look up, the hinted one first (§2.1)."""
        if self.token_type_hint == REFRESH_TOKEN_HINT:
            return (REFRESH_TOKEN_HINT, ACCESS_TOKEN_HINT)
        return (ACCESS_TOKEN_HINT, REFRESH_TOKEN_HINT)


def revocation_response() -> HttpResponse:
    """``200`` and no content, whatever happened to the token (§2.2)."""
    return HttpResponse(status=200, headers={"cache-control": "no-store"})


def revocation_request(*, endpoint: str, token: str, token_type_hint: str | None = None,
                       client_params: Mapping[str, str] | None = None,
                       headers: Mapping[str, str] | None = None) -> HttpRequest:
    """The client's revocation request; client authentication goes in ``client_params``
    (``private_key_jwt``) or ``headers`` (``client_secret_basic``) (§2.1)."""
    return HttpRequest.form_post(url=endpoint, params=token_params(token=token, token_type_hint=token_type_hint,
                                                                   client_params=client_params), headers=headers)


def token_params(*, token: str, token_type_hint: str | None,
                 client_params: Mapping[str, str] | None) -> dict[str, str]:
    """The form a revocation (§2.1) and an introspection request (RFC 7662 §2.1) both send: ``token``,
    the optional ``token_type_hint``, the client's authentication parameters."""
    params = {"token": token}
    if token_type_hint is not None:
        params["token_type_hint"] = token_type_hint
    params.update(client_params or {})
    return params


REVOCATION_LEEWAY = 60
"""Seconds a revocation is kept past the token's expiry: verifiers allow that much clock leeway."""


def purge_revocations(issued: dict[str, Any], revoked: dict[str, int], *, now: int) -> None:
    """Forget issued tokens (values with ``expires_at``) and revocations (jti → expiry) that expired
    more than :data:`REVOCATION_LEEWAY` ago — no verifier would accept those tokens any more."""
    for jti in [k for k, v in issued.items() if v.expires_at <= now - REVOCATION_LEEWAY]:
        del issued[jti]
    for jti in [k for k, exp in revoked.items() if exp <= now - REVOCATION_LEEWAY]:
        del revoked[jti]


def record_inactive_reason(claims: Mapping[str, Any], *, issued: Container[str],
                           revoked: Container[str]) -> str | None:
    """Why a token its issuer verified (signature, expiry) is no longer active by the issuer's record
    of the token ids it minted and revoked (``None``: it is): no ``jti``, revoked (§2.2), or never
    recorded as issued here (RFC 7662 §2.2: every such token is inactive)."""
    jti = claims.get("jti")
    if not isinstance(jti, str):
        return "the token has no jti"
    if jti in revoked:
        return "revoked"
    if jti not in issued:
        return "unknown to this authorization server"
    return None
