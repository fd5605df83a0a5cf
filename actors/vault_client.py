"""The agent's side of the token vault: RFC 8693 requests with its own ``private_key_jwt`` client
authentication (RFC 7523 §2.2) and the user's ID token as subject.

``access_token`` returns a short-lived provider access token for one integration and scope (no
refresh token ever comes back — the vault keeps those); ``connect_link`` asks for the one-time
URL the user opens to link a provider account. Errors from the vault raise their ``OAuthError``
counterpart (``invalid_target``, ``invalid_scope``, ``interaction_required``...).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

import attrs

from actors.agent import AgentActor, Delegation
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, MalformedBody
from protocols.oauth.client_auth import client_assertion_params
from protocols.oauth.errors import OAuthError, TemporarilyUnavailable
from protocols.token_exchange import (
    TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_ID_TOKEN, TokenExchangeRequest, TokenExchangeResponse,
    TokenExchangeResponseRejected,
)
from protocols.vault import CONNECTION_TOKEN_TYPE

TOKEN_PATH, CONNECT_PATH = "/token", "/connect"
SUBJECT_TOKEN_MARGIN = 60
"""An ID token with less than this left is not presented: the user's sign-in must be renewed first."""


class DelegationExpired(Exception):
    """The agent holds no valid ID token for this user any more; the user must sign in again."""


@attrs.frozen(kw_only=True)
class VaultToken:
    """A provider access token served by the vault."""

    token: str = attrs.field(repr=False)
    integration: str
    scope: tuple[str, ...]
    expires_at: int

    @property
    def authorization(self) -> str:
        return f"Bearer {self.token}"


@attrs.define(eq=False)
class VaultClient:
    """``integrations`` maps an integration name to its API resource identifier (RFC 8707)."""

    agent: AgentActor
    vault_url: str
    integrations: Mapping[str, str]
    _entropy: SeededEntropy = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._entropy = self.agent.runtime.entropy_for(self.agent.name).child("vault-client")

    def _client_auth(self) -> dict[str, str]:
        assert self.agent.signing_key is not None
        params = client_assertion_params(client_id=self.agent.client_id, audience=self.vault_url.rstrip("/"),
                                         key=self.agent.signing_key, now=self.agent.runtime.clock.now(),
                                         entropy=self._entropy)
        self.agent.runtime.secrets.add(params["client_assertion"])
        return params

    def delegation(self, user: str) -> Delegation:
        """The agent's delegation for ``user`` (subject), if its ID token is still valid."""
        delegation = self.agent.delegations.get(user)
        if delegation is None or delegation.claims.expires_at - self.agent.runtime.clock.now() < SUBJECT_TOKEN_MARGIN:
            raise DelegationExpired(f"no valid sign-in of {user} at the agent")
        return delegation

    async def access_token(self, *, user: str, integration: str, scope: tuple[str, ...]) -> VaultToken:
        """Exchange the user's ID token for a provider token on ``integration`` with ``scope``."""
        resource = self.integrations.get(integration)
        request = TokenExchangeRequest(
            subject_token=self.delegation(user).id_token, subject_token_type=TOKEN_TYPE_ID_TOKEN,
            requested_token_type=CONNECTION_TOKEN_TYPE, scope=scope,
            **({"resource": (resource,)} if resource else {"audience": (integration,)}))
        body = urlencode(request.to_form() + list(self._client_auth().items())).encode()
        response = await self.agent.runtime.network.send(HttpRequest(
            method="POST", url=self.vault_url.rstrip("/") + TOKEN_PATH, body=body,
            headers={"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}))
        try:
            served = TokenExchangeResponse.from_response(response, expected_type=TOKEN_TYPE_ACCESS_TOKEN)
        except TokenExchangeResponseRejected as exc:
            raise TemporarilyUnavailable(f"the vault sent an unusable response: {exc}") from None
        if served.refresh_token is not None:
            raise TemporarilyUnavailable("the vault sent a refresh token; the agent refuses to hold one")
        self.agent.runtime.secrets.add(served.access_token)
        return VaultToken(token=served.access_token, integration=integration, scope=served.scope or scope,
                          expires_at=self.agent.runtime.clock.now() + (served.expires_in or 0))

    async def connect_link(self, *, user: str, provider: str) -> str:
        """The one-time URL ``user`` opens to connect ``provider`` to the vault."""
        params = {"subject_token": self.delegation(user).id_token, "subject_token_type": TOKEN_TYPE_ID_TOKEN,
                  "connection": provider, **self._client_auth()}
        response = await self.agent.runtime.network.send(HttpRequest.form_post(
            url=self.vault_url.rstrip("/") + CONNECT_PATH, params=params, headers={"accept": "application/json"}))
        if response.status != 200:
            raise OAuthError.from_response(response)
        try:
            link = response.json().get("connect_uri")
        except (MalformedBody, AttributeError):
            link = None
        if not isinstance(link, str):
            raise TemporarilyUnavailable("the vault sent no connect_uri")
        self.agent.runtime.secrets.add(link.rsplit("=", 1)[-1])
        return link
