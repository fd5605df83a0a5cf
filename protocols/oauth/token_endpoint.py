"""The token endpoint's common steps (RFC 6749 §3.2), shared by every authorization server here:
the plain OAuth server of the SaaS providers, the OpenID Provider and the ID-JAG resource AS.

1. read the ``application/x-www-form-urlencoded`` body (§3.2); a malformed one is
   ``invalid_request`` (§5.2). With ``repeatable`` (RFC 8693 §2.1) a token-exchange request may
   repeat ``audience`` and ``resource``;
2. authenticate the client (§2.3, §3.2.1; RFC 7523 §3 ``private_key_jwt``) —
   :class:`ClientAuthenticator`, which the servers also use at their other endpoints that need it
   (revocation RFC 7009 §2.1, CIBA §7.1);
3. ``grant_type`` is required (``invalid_request``); a grant the server does not serve is
   ``unsupported_grant_type``; one the client is not registered for is ``unauthorized_client``
   (§5.2) — :func:`select_grant`;
4. the grant's handler answers; any ``OAuthError`` raised on the way is the server's to render
   (:func:`serve_token_request` hands it to ``refuse`` with the client id, once known).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import attrs

from protocols.http import HttpRequest, MalformedBody
from protocols.oauth.client_auth import (
    AssertionReplayCache, AuthenticatedClient, ClientRegistration, authenticate_client,
)
from protocols.oauth.errors import InvalidRequest, OAuthError, UnauthorizedClient, UnsupportedGrantType
from protocols.oauth.outcome import Handled
from protocols.token_exchange import token_request_form

GrantHandler = Callable[..., Handled]
"""A token-endpoint grant: ``handler(client=AuthenticatedClient, form=Mapping[str, str], now=int) -> Handled``,
called after client authentication and the client's grant-type check; raising an ``OAuthError``
refuses the request."""

UNSUPPORTED_GRANT = "grant_type is not supported here"
UNAUTHORIZED_GRANT = "client may not use this grant type"


class Refusal(Protocol):
    def __call__(self, error: OAuthError, client_id: str | None) -> Handled: ...


def read_token_form(request: HttpRequest, *, repeatable: bool = False) -> Mapping[str, Any]:
    """The token request's parameters (RFC 6749 §3.2); a malformed body is ``invalid_request``.
    ``repeatable``: ``audience``/``resource`` of a token exchange may repeat (RFC 8693 §2.1)."""
    try:
        return token_request_form(request) if repeatable else request.form()
    except MalformedBody as exc:
        raise InvalidRequest(str(exc)) from None


@attrs.frozen(kw_only=True)
class ClientAuthenticator:
    """Client authentication at one authorization server (RFC 6749 §2.3, RFC 7523 §3): its issuer
    and token endpoint (the audiences a client assertion may name), its client registrations and
    the replay cache of single-use assertions (shared by every endpoint of the server)."""

    issuer: str
    token_endpoint: str
    lookup: Callable[[str], ClientRegistration | None]
    replay_cache: AssertionReplayCache = attrs.field(repr=False)
    accept_token_endpoint_audience: bool = False

    def __call__(self, request: HttpRequest, form: Mapping[str, str], *, now: int) -> AuthenticatedClient:
        return authenticate_client(
            form=form, authorization=request.header("authorization"), lookup_client=self.lookup, issuer=self.issuer,
            token_endpoint=self.token_endpoint, replay_cache=self.replay_cache, now=now,
            accept_token_endpoint_audience=self.accept_token_endpoint_audience)


def select_grant(form: Mapping[str, Any], *, client: AuthenticatedClient, grants: Mapping[str, GrantHandler],
                 unsupported: str = UNSUPPORTED_GRANT, unauthorized: str = UNAUTHORIZED_GRANT) -> GrantHandler:
    """The handler of the request's ``grant_type`` (RFC 6749 §4, §5.2 errors)."""
    grant_type = form.get("grant_type")
    if not grant_type:
        raise InvalidRequest("grant_type is required")
    handler = grants.get(grant_type)
    if handler is None:
        raise UnsupportedGrantType(unsupported)
    if grant_type not in client.registration.grant_types:
        raise UnauthorizedClient(unauthorized)
    return handler


def serve_token_request(request: HttpRequest, *, now: int, authenticate: ClientAuthenticator,
                        grants: Mapping[str, GrantHandler], refuse: Refusal, repeatable: bool = False,
                        unsupported: str = UNSUPPORTED_GRANT, unauthorized: str = UNAUTHORIZED_GRANT) -> Handled:
    """Steps 1–4 of the module docstring; ``refuse(error, client_id)`` renders every refusal."""
    client_id: str | None = None
    try:
        form = read_token_form(request, repeatable=repeatable)
        client = authenticate(request, form, now=now)
        client_id = client.client_id
        handler = select_grant(form, client=client, grants=grants, unsupported=unsupported, unauthorized=unauthorized)
        return handler(client=client, form=form, now=now)
    except OAuthError as exc:
        return refuse(exc, client_id)
