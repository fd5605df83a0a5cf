"""Token introspection (RFC 7662): the request, the answer, and the protected resource's side.

- C→ (a protected resource) ``POST`` form ``token`` (REQUIRED) and ``token_type_hint`` (OPTIONAL)
  with its own client authentication: the endpoint MUST require it (§2.1).
- S← ``200 application/json`` (§2.2): ``active`` (REQUIRED); for an active token the members the
  caller may see (``scope``, ``client_id``, ``sub``, ``aud``, ``iss``, ``exp``, ``iat``, ``jti``,
  ``token_type``, ``act`` — RFC 8693 §4.1 — and a RAR token's ``authorization_details`` — RFC 9396
  §9.2). An inactive token — expired, revoked, unknown, or one the caller is not allowed to see
  (§4) — is ``{"active": false}`` and nothing else (§2.2).
- ERR (§2.3): bad caller credentials → ``401 invalid_client`` (RFC 6749 §5.2); a request without
  ``token`` → ``400 invalid_request``. An unknown hint is ignored (the server searches every type).
- The answer is not cached by intermediaries (``Cache-Control: no-store``, §2.2 via RFC 6749 §5.1).

The server's handler is ``protocols.oauth.introspection_endpoint``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from protocols.http import HttpRequest, HttpResponse, MalformedBody, parse_json
from protocols.oauth.errors import InvalidRequest, OAuthError
from protocols.oauth.revocation import token_params

INTROSPECTION_PATH = "/introspect"
"""Where every authorization server here serves introspection, below its issuer."""

ANSWERED_CLAIMS = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "nbf", "jti", "act",
                   "authorization_details")
"""The members of an active answer taken from the token's claims (§2.2; ``act``: RFC 8693 §4.1;
``authorization_details``: RFC 9396 §9.2)."""


class IntrospectionFailed(ValueError):
    """An introspection answer the protected resource cannot use (not ``200`` JSON with a boolean
    ``active``); the resource must not accept the token on it."""


@attrs.frozen(kw_only=True)
class IntrospectionRequest:
    """A parsed introspection request (§2.1)."""

    token: str = attrs.field(repr=False)
    token_type_hint: str | None = None

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> IntrospectionRequest:
        token = form.get("token")
        if not token:
            raise InvalidRequest("token is required")
        return cls(token=token, token_type_hint=form.get("token_type_hint") or None)


@attrs.frozen(kw_only=True)
class IntrospectionResponse:
    """The answer (§2.2): ``active`` and, only when active, the token's members."""

    active: bool
    claims: Mapping[str, Any] = attrs.field(factory=dict)

    @classmethod
    def inactive(cls) -> IntrospectionResponse:
        return cls(active=False)

    @classmethod
    def for_claims(cls, claims: Mapping[str, Any]) -> IntrospectionResponse:
        """An active answer carrying :data:`ANSWERED_CLAIMS` present in ``claims`` (``token_type``
        ``Bearer``: RFC 6749 §7.1)."""
        members = {name: claims[name] for name in ANSWERED_CLAIMS if name in claims}
        return cls(active=True, claims={**members, "token_type": "Bearer"})

    def to_json(self) -> dict[str, Any]:
        if not self.active:
            return {"active": False}  # and nothing else (§2.2)
        return {"active": True, **self.claims}

    def to_response(self) -> HttpResponse:
        return HttpResponse.json_body(self.to_json(), no_store=True)

    @property
    def scope(self) -> tuple[str, ...]:
        value = self.claims.get("scope", "")
        return tuple(value.split()) if isinstance(value, str) else ()

    @classmethod
    def from_response(cls, response: HttpResponse) -> IntrospectionResponse:
        """The protected resource's reading: an error response raises its ``OAuthError``; anything
        but a JSON object with a boolean ``active`` is :class:`IntrospectionFailed`."""
        if response.status != 200:
            raise OAuthError.from_response(response)
        try:
            body = parse_json(response.body)
        except MalformedBody as exc:
            raise IntrospectionFailed(f"the answer is not JSON: {exc}") from None
        if not isinstance(body, dict) or not isinstance(body.get("active"), bool):
            raise IntrospectionFailed("the answer lacks a boolean active member")
        if not body["active"]:
            return cls.inactive()
        return cls(active=True, claims={k: v for k, v in body.items() if k != "active"})


def introspection_request(*, endpoint: str, token: str, token_type_hint: str | None = "access_token",
                          client_params: Mapping[str, str] | None = None,
                          headers: Mapping[str, str] | None = None) -> HttpRequest:
    """The protected resource's request; its client authentication goes in ``client_params``
    (``private_key_jwt``) or ``headers`` (``client_secret_basic``) (§2.1)."""
    params = token_params(token=token, token_type_hint=token_type_hint, client_params=client_params)
    return HttpRequest.form_post(url=endpoint, params=params,
                                 headers={"accept": "application/json", **dict(headers or {})})
