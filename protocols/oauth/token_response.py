"""The token endpoint's successful response (RFC 6749 §5.1, OIDC Core §3.1.3.3) and its client-side check.

The server renders JSON with ``Cache-Control: no-store`` and ``Pragma: no-cache``; the client
raises the remote error counterpart for an error response (RFC 6749 §5.2) and refuses a success
response without ``access_token``/``token_type``, with a non-Bearer type, or without ``no-store``.
"""

from __future__ import annotations

from typing import Any

import attrs

from protocols.http import HttpResponse, MalformedBody
from protocols.oauth.errors import OAuthError


class TokenResponseRejected(ValueError):
    """A success response the client must not use."""


def token_response_body(response: HttpResponse, *, rejected: type[ValueError]) -> dict[str, Any]:
    """A token endpoint's answer as a client reads it (RFC 6749 §5.1, §5.2): an error status raises
    the remote ``OAuthError``; a success must say ``Cache-Control: no-store`` and be a JSON object,
    else ``rejected``. Shared by the plain token response and RFC 8693's (``token_exchange``)."""
    if response.status != 200:
        raise OAuthError.from_response(response)
    if "no-store" not in (response.header("cache-control") or ""):
        raise rejected("token response lacks Cache-Control: no-store")
    try:
        body = response.json()
    except MalformedBody as exc:
        raise rejected(str(exc)) from None
    if not isinstance(body, dict):
        raise rejected("token response is not a JSON object")
    return body


@attrs.frozen(kw_only=True)
class TokenResponse:
    """``access_token``, ``token_type``, ``expires_in``, ``scope``, ``refresh_token`` (RFC 6749 §5.1)
    and, for OIDC, ``id_token``."""

    access_token: str = attrs.field(repr=False)
    token_type: str = "Bearer"
    expires_in: int
    scope: tuple[str, ...] = ()
    id_token: str | None = attrs.field(default=None, repr=False)
    refresh_token: str | None = attrs.field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"access_token": self.access_token, "token_type": self.token_type,
                                "expires_in": self.expires_in}
        if self.scope:
            body["scope"] = " ".join(self.scope)
        if self.id_token is not None:
            body["id_token"] = self.id_token
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        return body

    def to_response(self) -> HttpResponse:
        return HttpResponse.json_body(self.to_json(), no_store=True)

    @classmethod
    def from_response(cls, response: HttpResponse, *, require_id_token: bool = False) -> TokenResponse:
        """Parse as a client; an error status raises the matching ``OAuthError``."""
        body = token_response_body(response, rejected=TokenResponseRejected)
        access_token, token_type = body.get("access_token"), body.get("token_type")
        if not isinstance(access_token, str) or not access_token:
            raise TokenResponseRejected("token response lacks access_token")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise TokenResponseRejected("token_type must be Bearer")
        expires_in = body.get("expires_in", 0)
        if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in < 0:
            raise TokenResponseRejected("expires_in must be a non-negative integer")
        scope = body.get("scope", "")
        id_token, refresh_token = body.get("id_token"), body.get("refresh_token")
        if not isinstance(scope, str) or any(v is not None and not isinstance(v, str) for v in (id_token, refresh_token)):
            raise TokenResponseRejected("scope, id_token and refresh_token must be strings")
        if require_id_token and not id_token:
            raise TokenResponseRejected("token response lacks id_token (OIDC Core §3.1.3.3)")
        return cls(access_token=access_token, token_type=token_type, expires_in=expires_in,
                   scope=tuple(scope.split()), id_token=id_token, refresh_token=refresh_token)
