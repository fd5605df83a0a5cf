"""Token introspection at an authorization server (RFC 7662 §2): the one endpoint handler that the
resource AS (``protocols.resource_authorization_server``) and the OpenID Provider
(``protocols.oidc.provider_tokens``) both serve. The request and answer types are
``protocols.oauth.introspection``.

- Who may ask (§2.1, §4): only the protected resources registered at the server
  (:class:`ProtectedResources`), each authenticating as a client with the server's client
  authentication (RFC 6749 §2.3; ``private_key_jwt`` RFC 7523 §2.2 with single-use assertions shared
  with its other endpoints). No, bad or unknown credentials — an agent client is not a protected
  resource — are ``401 invalid_client`` (RFC 6749 §5.2); a request without ``token`` is
  ``400 invalid_request``; both are audited as ``token.introspection_refused``.
- What it learns (§2.2, §4): a token is described only if it is an access token (RFC 9068) this
  server signed, unexpired (no leeway), addressed to a resource the caller serves, and still active
  by the server's record (``inactive_reason``: not revoked, on record, ...). Anything else is
  ``{"active": false}`` and nothing more. Every answer is audited as ``token.introspected``: allow
  (active) or deny with the reason the token is inactive — a reason for the audit, never the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from protocols.access_token import verify_own_access_token
from protocols.http import HttpRequest
from protocols.jose.jwks import JwkSet
from protocols.oauth.client_auth import ClientRegistration
from protocols.oauth.errors import OAuthError
from protocols.oauth.introspection import IntrospectionRequest, IntrospectionResponse
from protocols.oauth.outcome import Decision, Handled, Outcome, refused_explained
from protocols.oauth.token_endpoint import ClientAuthenticator, read_token_form

InactiveReason = Callable[[Mapping[str, Any]], "str | None"]
"""Why a verified token is no longer active by the server's record (``None``: it is active)."""


@attrs.define
class ProtectedResources:
    """The protected resources allowed to introspect (§2.1): client id → registration, and the
    resources (RFC 8707 identifiers, the tokens' ``aud``) each serves (§4: it learns nothing about
    tokens for other resources). A registration here gives no grant at the token endpoint."""

    _registrations: dict[str, ClientRegistration] = attrs.field(factory=dict)
    _served: dict[str, frozenset[str]] = attrs.field(factory=dict)

    def register(self, registration: ClientRegistration, *, resources: frozenset[str]) -> None:
        self._registrations[registration.client_id] = attrs.evolve(registration, grant_types=frozenset())
        self._served[registration.client_id] = frozenset(resources)

    def lookup(self, client_id: str) -> ClientRegistration | None:
        return self._registrations.get(client_id)

    def served(self, client_id: str | None) -> frozenset[str]:
        return self._served.get(client_id or "", frozenset())


def serve_introspection(request: HttpRequest, *, now: int, issuer: str, keys: JwkSet,
                        authenticator: ClientAuthenticator, resources: ProtectedResources,
                        inactive_reason: InactiveReason) -> Handled:
    """Answer one introspection request (module docstring). ``authenticator``: the server's client
    authentication (issuer, audiences, replay cache) — only ``resources`` can pass it here;
    ``keys``: the server's published keys."""
    caller: str | None = None
    try:
        form = read_token_form(request)
        caller = attrs.evolve(authenticator, lookup=resources.lookup)(request, form, now=now).client_id
        asked = IntrospectionRequest.from_form(form)
    except OAuthError as exc:
        return refused_explained(exc, event="token.introspection_refused",
                                 details={"client": caller} if caller else None)
    claims, why = verify_own_access_token(asked.token, issuer=issuer, keys=keys, audiences=resources.served(caller),
                                          now=now)
    if claims is not None:
        why = inactive_reason(claims) or ""
    known = {} if claims is None else {"jti": claims["jti"], "kind": "access_token"}
    subject = None if claims is None else str(claims["sub"])
    client_id = None if claims is None else str(claims["client_id"])
    if why:
        return Handled(response=IntrospectionResponse.inactive().to_response(), outcome=Outcome(
            event="token.introspected", decision=Decision.DENY, reason=f"inactive: {why}", subject=subject,
            client_id=client_id, details={"client": caller, "active": False, **known}, secrets=(asked.token,)))
    assert claims is not None
    return Handled(response=IntrospectionResponse.for_claims(claims).to_response(), outcome=Outcome(
        event="token.introspected", decision=Decision.ALLOW, reason="active", subject=subject,
        client_id=client_id, details={"client": caller, "active": True, **known}, secrets=(asked.token,)))
