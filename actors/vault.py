"""The token vault as an actor: it keeps users' third-party OAuth tokens encrypted at rest and
hands agents short-lived, least-scoped provider access tokens by RFC 8693 token exchange.

This module is the actor and its ``POST /token`` endpoint — the exchange (``protocols.vault``):
client authentication (RFC 7523 §2.2), the user's ID token validated against the IdP's JWKS with
``aud`` = the calling agent, the integration and scopes checked against the agent's registration,
then a cached provider token that is not about to expire, or a new one obtained with the
connection's refresh token (RFC 6749 §6) with the scope narrowed to the request. Its parts, kept
apart by concern and mixed into :class:`VaultActor`:

- ``actors.vault_connect`` — connecting a provider account (``/connect``, RFC 6749 §4.1, RFC 7636,
  RFC 9207);
- ``actors.vault_provider`` — the vault as the providers' client: token requests, refresh (the
  provider rotates the refresh token, RFC 9700 §4.14.2) and keeping tokens in use warm;
- ``actors.vault_keys`` — key-encryption-key rotation, re-wrapping every record while requests
  continue;
- ``actors.vault_revocation`` — revocation at the providers (RFC 7009: disconnecting, withdrawn
  grants).

One refresh at a time per connection (a ``trio.Lock`` each), so concurrent requests never present
the same refresh token twice (which the provider would treat as theft). Requests are served in
their own tasks so a slow provider never blocks the vault. Every serve, refresh, refusal, link and
rotation is audited; the agent never receives a refresh token, and no plaintext token is ever
written to the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import trio

from actors.runtime.actor import HttpActor
from actors.runtime.network import Unreachable
from actors.storage.vault_store import ACTIVE, CachedToken, Connection, VaultStore
from actors.vault_connect import (
    CONNECT_CALLBACK_PATH, CONNECT_PATH, CONNECT_START_PATH, PendingLink, Ticket, VaultConnections,
)
from actors.vault_keys import VaultKeys
from actors.vault_provider import VAULT_KIND, ProviderClient, VaultProviderTokens
from actors.vault_revocation import VaultRevocation
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.jose.errors import JwtRejected, UnknownKeyId
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import verify_jwt
from protocols.jose.profiles import TokenProfile
from protocols.oauth.client_auth import AssertionReplayCache, ClientRegistration, authenticate_client
from protocols.oauth.errors import (
    InteractionRequired, InvalidRequest, InvalidTarget, OAuthError, TemporarilyUnavailable,
)
from protocols.oauth.metadata import AuthorizationServerMetadata
from protocols.oidc.discovery import discovery_url
from protocols.token_exchange import (
    TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_BEARER, TOKEN_TYPE_ID_TOKEN, TokenExchangeRequest, TokenExchangeResponse,
    token_request_form,
)
from protocols.vault import (
    Integration, KekRing, authorize, check_request_shape, needs_refresh, record_aad, resolve_integration, slot_key,
    unseal,
)

TOKEN_PATH = "/token"


@attrs.frozen(kw_only=True)
class VaultConfig:
    """``refresh_margin``: never serve (and proactively replace) a token with less than this many
    seconds left; ``keep_warm``: tokens served within this many seconds are refreshed ahead of
    expiry; ``kek_rotation_period``: seconds between key-encryption-key rotations (0 = never)."""

    refresh_margin: int = 300
    keep_warm: int = 900
    kek_rotation_period: int = 0
    ticket_lifetime: int = 600


@attrs.frozen(kw_only=True)
class ServedToken:
    token: str = attrs.field(repr=False)
    cached: CachedToken
    refreshed: bool


@attrs.define(eq=False)
class VaultActor(HttpActor, VaultConnections, VaultProviderTokens, VaultKeys, VaultRevocation):
    config: VaultConfig = attrs.field(factory=VaultConfig)
    store: VaultStore | None = None
    idp_issuer: str = ""
    integrations: dict[str, Integration] = attrs.field(factory=dict)
    providers: dict[str, ProviderClient] = attrs.field(factory=dict)
    agent_grants: dict[str, Mapping[str, frozenset[str]]] = attrs.field(factory=dict)
    """agent id → integration name → scopes it may obtain (the agent's registration)."""
    clients: dict[str, ClientRegistration] = attrs.field(factory=dict)
    resource_servers: dict[str, str] = attrs.field(factory=dict)
    """client id → resource identifier: a resource server (an MCP server reading a provider for the
    user of the token it received) presents that token, audience = its identifier, as subject."""
    ring: KekRing | None = attrs.field(default=None, repr=False)
    _entropy: SeededEntropy = attrs.field(init=False, repr=False)
    _kek_generation: int = attrs.field(default=0, init=False)
    _locks: dict[str, trio.Lock] = attrs.field(factory=dict, init=False)
    _tickets: dict[str, Ticket] = attrs.field(factory=dict, init=False, repr=False)
    _pending: dict[str, PendingLink] = attrs.field(factory=dict, init=False, repr=False)
    _replay: AssertionReplayCache = attrs.field(factory=AssertionReplayCache, init=False)
    _idp_keys: JwkSet | None = attrs.field(default=None, init=False, repr=False)
    _metadata: dict[str, AuthorizationServerMetadata] = attrs.field(factory=dict, init=False)
    _wake: trio.Event = attrs.field(factory=trio.Event, init=False)
    served: dict[str, dict[str, CachedToken]] = attrs.field(factory=dict, init=False, repr=False)
    """agent id → jti → the (sealed) provider token served to it, until it expires: what
    ``revoke_served`` revokes at the provider when the agent's grant is withdrawn."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._entropy = self.runtime.entropy_for(self.name).child("vault")
        if self.ring is None:
            self.ring = KekRing.start(kek_id="kek-1", key=self._new_kek(1))
            self._kek_generation = 1
        self.route("POST", TOKEN_PATH, self.exchange)
        self.route("POST", CONNECT_PATH, self.start_connection)
        self.route("GET", CONNECT_START_PATH, self.connect_start)
        self.route("GET", CONNECT_CALLBACK_PATH, self.connect_callback)

    # ------------------------------------------------------------------ actor life

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve each request in its own task; keep tokens warm; rotate KEKs on schedule."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._keep_warm)
            if self.config.kek_rotation_period:
                nursery.start_soon(self._rotate_on_schedule)
            task_status.started()
            async with self._mailbox:
                async for message, reply in self._mailbox:
                    nursery.start_soon(self._answer, message, reply)

    async def _answer(self, message: HttpRequest, reply: trio.MemorySendChannel) -> None:
        await reply.send(await self.on_message(message))

    def _lock(self, connection_id: str) -> trio.Lock:
        return self._locks.setdefault(connection_id, trio.Lock())

    @property
    def _store(self) -> VaultStore:
        assert self.store is not None
        return self.store

    # ------------------------------------------------------------------ shared checks

    def _authenticate(self, request: HttpRequest, form: Mapping[str, Any]) -> str:
        return authenticate_client(form=form, authorization=request.header("authorization"),
                                   lookup_client=self.clients.get, issuer=self.base_url,
                                   token_endpoint=self.url(TOKEN_PATH), replay_cache=self._replay,
                                   now=self.runtime.clock.now()).client_id

    async def _get_json(self, url: str) -> Any:
        try:
            response = await self.runtime.network.send(HttpRequest.get(url, headers={"accept": "application/json"}))
        except Unreachable as exc:
            raise TemporarilyUnavailable(str(exc)) from None
        if response.status != 200:
            raise TemporarilyUnavailable(f"{url} answered {response.status}")
        return response.json()

    async def _idp_jwks(self, *, refresh: bool = False) -> JwkSet:
        """The IdP's keys, from its discovery document (re-read when an unknown ``kid`` shows up)."""
        if self._idp_keys is None or refresh:
            document = await self._get_json(discovery_url(self.idp_issuer))
            if document.get("issuer") != self.idp_issuer or not isinstance(document.get("jwks_uri"), str):
                raise TemporarilyUnavailable("the identity provider's metadata is not usable")
            self._idp_keys = JwkSet.from_json(await self._get_json(document["jwks_uri"]))
        return self._idp_keys

    async def _subject(self, exchange_type: str, token: str, client_id: str) -> dict[str, Any]:
        """Validate the user's ID token: issued by our IdP to this very agent, unexpired (RFC 8693 §2.2.2:
        an unacceptable subject token is ``invalid_request``). A client in ``resource_servers``
        presents instead our IdP's RFC 9068 access token whose one audience is its identifier."""
        resource = self.resource_servers.get(client_id)
        if resource is not None and exchange_type == TOKEN_TYPE_ACCESS_TOKEN:
            profile = attrs.evolve(TokenProfile.access_token(issuer=self.idp_issuer, audience=resource),
                                   single_audience=True)
        elif exchange_type != TOKEN_TYPE_ID_TOKEN:
            raise InvalidRequest("subject_token_type must be " + TOKEN_TYPE_ID_TOKEN)
        else:
            profile = TokenProfile.id_token(issuer=self.idp_issuer, client_id=client_id)
        now = self.runtime.clock.now()
        try:
            try:
                return verify_jwt(token, keys=await self._idp_jwks(), profile=profile, now=now).claims
            except UnknownKeyId:
                return verify_jwt(token, keys=await self._idp_jwks(refresh=True), profile=profile, now=now).claims
        except JwtRejected as exc:
            raise InvalidRequest(f"subject_token rejected: {exc.reason}") from None

    async def _refuse(self, error: OAuthError, *, agent: str | None, subject: str | None, reason: str,
                      **details: Any) -> HttpResponse:
        await self.audit("vault.refused", agent=agent, subject=subject, decision="deny", reason=reason,
                         error=error.error, description=error.description, **details)
        return error.to_response()

    # ------------------------------------------------------------------ RFC 8693 exchange

    async def exchange(self, request: HttpRequest) -> HttpResponse:
        agent = subject = None
        details: dict[str, Any] = {}
        try:
            try:
                form = token_request_form(request)
            except MalformedBody as exc:
                raise InvalidRequest(str(exc)) from None
            agent = self._authenticate(request, form)
            exchange = TokenExchangeRequest.from_form(form)
            check_request_shape(exchange)
            claims = await self._subject(exchange.subject_token_type, exchange.subject_token, agent)
            subject = claims["sub"]
            integration = resolve_integration(exchange, self.integrations)
            details = {"connection": integration.name, "provider": integration.provider,
                       "scope": " ".join(exchange.scope)}
            if isinstance(claims.get("act"), dict):  # a resource server's subject token: who delegated
                details["delegated_to"] = claims["act"].get("sub")
            decision = authorize(integration=integration, requested_scope=exchange.scope,
                                 allowed=self.agent_grants.get(agent, {}))
            if agent in self.resource_servers:  # and the acting agent itself may have this (no confused deputy)
                acting = str(details.get("delegated_to") or claims.get("client_id"))
                decision = authorize(integration=integration, requested_scope=decision.scope,
                                     allowed=self.agent_grants.get(acting, {}))
            details["scope"] = " ".join(decision.scope)
            served = await self.serve(subject=subject, integration=integration, scope=decision.scope, agent=agent)
        except OAuthError as exc:
            return await self._refuse(exc, agent=agent, subject=subject, reason=_refusal_reason(exc), **details)
        now = self.runtime.clock.now()
        for holder in {agent, details.get("delegated_to")} - {None}:  # the caller, and the agent it acts for
            held = self.served.setdefault(str(holder), {})
            for jti in [j for j, t in held.items() if t.expires_at <= now]:
                del held[jti]
            held[served.cached.jti] = served.cached
        await self.audit("vault.token_served", agent=agent, subject=subject, decision="allow",
                         reason="refreshed for this request" if served.refreshed else "cached token still fresh",
                         kind=VAULT_KIND, jti=served.cached.jti, parent_jti=claims.get("jti"),
                         expires_in=served.cached.expires_at - now, **details)
        return TokenExchangeResponse(access_token=served.token, issued_token_type=TOKEN_TYPE_ACCESS_TOKEN,
                                     token_type=TOKEN_TYPE_BEARER, expires_in=served.cached.expires_at - now,
                                     scope=decision.scope).to_response()

    async def serve(self, *, subject: str, integration: Integration, scope: tuple[str, ...],
                    agent: str | None = None) -> ServedToken:
        """A provider token for ``subject`` on ``integration`` with exactly ``scope``: the cached one
        when it has more than ``refresh_margin`` left, else a refreshed one — one refresh at a time."""
        connection = self._usable_connection(subject, integration.provider)
        slot = slot_key(integration.name, scope)
        async with self._lock(connection.connection_id):
            connection = self._usable_connection(subject, integration.provider)
            cached = self._store.cached(connection.connection_id, slot)
            if cached is not None and not needs_refresh(expires_at=cached.expires_at, now=self.runtime.clock.now(),
                                                        margin=self.config.refresh_margin):
                token = unseal(cached.token, aad=record_aad("access", f"{connection.connection_id}/{slot}"),
                               ring=self.ring)
                refreshed = False
            else:
                cached, token = await self._refresh(connection, integration, scope, previous=cached, agent=agent)
                refreshed = True
            now = self.runtime.clock.now()
            self._store.touch(connection.connection_id, slot, now=now)
            cached = attrs.evolve(cached, last_served_at=now)
        self._wake.set()
        return ServedToken(token=token, cached=cached, refreshed=refreshed)

    def _usable_connection(self, subject: str, provider: str) -> Connection:
        connection = self._store.connection(subject=subject, provider=provider)
        if connection is None:
            raise InteractionRequired(f"the user has not connected {provider}: connect the account first")
        if connection.status != ACTIVE:
            raise InteractionRequired(f"the user must reconnect {provider} ({connection.status_reason})")
        return connection


def _refusal_reason(error: OAuthError) -> str:
    """A stable audit reason for a refused exchange."""
    text = error.description
    if isinstance(error, InvalidTarget) and "not allowed" in text:
        return "integration_not_allowed"
    if error.error == "invalid_scope":
        return "scope_not_allowed"
    if isinstance(error, InteractionRequired):
        return "not_connected" if "has not connected" in text else "reconnect_required"
    if error.error == "invalid_request" and "subject_token" in text:
        return "subject_token_invalid"
    return error.error
