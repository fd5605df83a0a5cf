"""The token vault as an actor: it keeps users' third-party OAuth tokens encrypted at rest and
hands agents short-lived, least-scoped provider access tokens by RFC 8693 token exchange.

Endpoints:
- ``POST /connect`` — an agent (``private_key_jwt``) asks, for the user of its ID token, a
  one-time link to connect a provider account; ``GET /connect/start`` sends the user's browser
  to the provider (authorization code + PKCE S256, RFC 6749 §4.1, RFC 7636) and
  ``GET /connect/callback`` redeems the code (``client_secret_basic``), checks ``state`` and
  ``iss`` (RFC 6749 §10.12, RFC 9207) and stores the grant;
- ``POST /token`` — the exchange (``protocols.vault``): client authentication (RFC 7523 §2.2),
  the user's ID token validated against the IdP's JWKS with ``aud`` = the calling agent, the
  integration and scopes checked against the agent's registration, then a cached provider token
  that is not about to expire, or a new one obtained with the connection's refresh token (RFC 6749
  §6; the provider rotates it, RFC 9700 §4.14.2) with the scope narrowed to the request.

One refresh at a time per connection (a ``trio.Lock`` each), so concurrent requests never present
the same refresh token twice (which the provider would treat as theft). A child task refreshes
tokens in use before they expire; another rotates the key-encryption key on schedule, re-wrapping
every record while requests continue. Requests are served in their own tasks so a slow provider
never blocks the vault. Every serve, refresh, refusal, link and rotation is audited; the agent
never receives a refresh token, and no plaintext token is ever written to the store. Revocation at
the providers (RFC 7009: disconnecting, withdrawn grants) is in ``actors.vault_revocation``.
"""

from __future__ import annotations

import base64
import html
import itertools
from collections.abc import Mapping
from typing import Any

import attrs
import trio

from actors.runtime.actor import HttpActor
from actors.runtime.network import Unreachable
from actors.storage.vault_store import ACTIVE, RECONNECT, CachedToken, Connection, VaultStore
from actors.vault_revocation import VaultRevocation
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.jose.errors import JwtRejected, UnknownKeyId
from protocols.jose.jwks import JwkSet
from protocols.jose.jwt import verify_jwt
from protocols.jose.profiles import TokenProfile
from protocols.oauth.authorization_code import add_query
from protocols.oauth.client_auth import AssertionReplayCache, ClientRegistration, authenticate_client, basic_authorization
from protocols.oauth.errors import (
    InteractionRequired, InvalidGrant, InvalidRequest, InvalidTarget, OAuthError, TemporarilyUnavailable,
)
from protocols.oauth.metadata import AuthorizationServerMetadata, MetadataRejected, metadata_url
from protocols.oauth.pkce import PkcePair
from protocols.oauth.refresh import REFRESH_TOKEN
from protocols.oauth.token_response import TokenResponse, TokenResponseRejected
from protocols.oidc.discovery import discovery_url
from protocols.token_exchange import (
    TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_BEARER, TOKEN_TYPE_ID_TOKEN, TokenExchangeRequest, TokenExchangeResponse,
    token_request_form,
)
from protocols.vault import (
    Envelope, Integration, KekRing, authorize, check_request_shape, needs_refresh, record_aad, resolve_integration,
    rewrap, seal, slot_key, token_id, unseal,
)

TOKEN_PATH, CONNECT_PATH = "/token", "/connect"
CONNECT_START_PATH, CONNECT_CALLBACK_PATH = "/connect/start", "/connect/callback"
REWRAP_BATCH = 50
VAULT_KIND = "vault_token"


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
class ProviderClient:
    """The vault's client registration at one provider's authorization server."""

    name: str
    issuer: str
    client_id: str
    client_secret: str = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class _Ticket:
    subject: str
    provider: str
    agent: str
    expires_at: int


@attrs.frozen(kw_only=True)
class _PendingLink:
    subject: str
    provider: str
    agent: str
    verifier: str = attrs.field(repr=False)
    expires_at: int


@attrs.frozen(kw_only=True)
class ServedToken:
    token: str = attrs.field(repr=False)
    cached: CachedToken
    refreshed: bool


def _page(title: str, text: str, *, status: int = 200) -> HttpResponse:
    return HttpResponse.html(f"<!doctype html><html><head><title>{html.escape(title)}</title></head><body>"
                             f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>", status=status)


@attrs.define(eq=False)
class VaultActor(HttpActor, VaultRevocation):
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
    _tickets: dict[str, _Ticket] = attrs.field(factory=dict, init=False, repr=False)
    _pending: dict[str, _PendingLink] = attrs.field(factory=dict, init=False, repr=False)
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

    def _new_kek(self, generation: int) -> bytes:
        key = self.runtime.entropy_for(self.name).child(f"kek-{generation}").bytes(32)
        self.runtime.secrets.add(base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode(), key.hex())
        return key

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

    async def _provider_metadata(self, provider: ProviderClient) -> AuthorizationServerMetadata:
        if provider.name not in self._metadata:
            try:
                document = await self._get_json(metadata_url(provider.issuer))
                self._metadata[provider.name] = AuthorizationServerMetadata.from_json(
                    document, expected_issuer=provider.issuer)
            except (MetadataRejected, MalformedBody) as exc:
                raise TemporarilyUnavailable(f"{provider.name} metadata unusable: {exc}") from None
        return self._metadata[provider.name]

    async def _token_request(self, provider: ProviderClient, params: dict[str, str]) -> TokenResponse:
        metadata = await self._provider_metadata(provider)
        request = HttpRequest.form_post(url=metadata.token_endpoint, params=params, headers={
            "authorization": basic_authorization(provider.client_id, provider.client_secret),
            "accept": "application/json"})
        try:
            response = await self.runtime.network.send(request)
        except Unreachable as exc:
            raise TemporarilyUnavailable(str(exc)) from None
        try:
            return TokenResponse.from_response(response)
        except TokenResponseRejected as exc:
            raise TemporarilyUnavailable(f"{provider.name} sent an unusable token response: {exc}") from None

    async def _refresh(self, connection: Connection, integration: Integration, scope: tuple[str, ...], *,
                       previous: CachedToken | None, agent: str | None) -> tuple[CachedToken, str]:
        """Redeem the connection's refresh token for a token narrowed to ``scope`` and
        ``integration.resource``; store the rotated refresh token and the new access token together.
        ``agent`` is the agent whose request needs it (``None``: a proactive refresh)."""
        proactive = agent is None
        provider = self.providers[connection.provider]
        cid = connection.connection_id
        refresh_token = unseal(connection.refresh, aad=record_aad("refresh", cid), ring=self.ring)
        details = {"connection": integration.name, "provider": provider.name, "scope": " ".join(scope),
                   "connection_id": cid, "proactive": proactive}
        try:
            tokens = await self._token_request(provider, {
                "grant_type": REFRESH_TOKEN, "refresh_token": refresh_token, "scope": " ".join(scope),
                "resource": integration.resource})
        except InvalidGrant as exc:
            now = self.runtime.clock.now()
            self._store.set_status(cid, status=RECONNECT, reason=f"provider refused the grant: {exc.description}",
                                   now=now)
            await self.audit("vault.refresh_failed", agent=agent, subject=connection.subject, decision="deny",
                             reason="upstream_grant_invalid", error=exc.error, description=exc.description,
                             **details)
            raise InteractionRequired(f"{provider.name} no longer honours the stored grant; the user must "
                                      f"reconnect {provider.name}") from None
        except OAuthError as exc:
            await self.audit("vault.refresh_failed", agent=agent, subject=connection.subject, decision="deny",
                             reason="upstream_error", error=exc.error, description=exc.description, **details)
            raise TemporarilyUnavailable(f"{provider.name} could not refresh the token") from None
        now = self.runtime.clock.now()
        rotated = tokens.refresh_token or refresh_token
        self.runtime.secrets.add(tokens.access_token, rotated)
        slot = slot_key(integration.name, scope)
        cached = CachedToken(connection_id=cid, slot=slot, integration=integration.name, scope=tokens.scope or scope,
                             jti=token_id(tokens.access_token), issued_at=now, expires_at=now + tokens.expires_in,
                             last_served_at=previous.last_served_at if previous else now,
                             token=seal(tokens.access_token, aad=record_aad("access", f"{cid}/{slot}"), ring=self.ring,
                                        entropy=self._entropy))
        updated = attrs.evolve(connection, updated_at=now, refresh=seal(
            rotated, aad=record_aad("refresh", cid), ring=self.ring, entropy=self._entropy))
        self._store.record_refresh(updated, cached)
        await self.audit("vault.token_refreshed", agent=agent, subject=connection.subject, decision="allow",
                         reason="proactive refresh before expiry" if proactive else "no fresh token for this request",
                         kind=VAULT_KIND, jti=cached.jti, parent_jti=previous.jti if previous else None,
                         rotated=tokens.refresh_token is not None, expires_in=tokens.expires_in, **details)
        return cached, tokens.access_token

    # ------------------------------------------------------------------ proactive refresh

    def _due(self, token: CachedToken) -> int | None:
        """When ``token`` should be replaced ahead of expiry, or ``None`` if it is not kept warm."""
        refresh_at = token.expires_at - self.config.refresh_margin
        if refresh_at <= token.issued_at or refresh_at > token.last_served_at + self.config.keep_warm:
            return None
        return refresh_at

    async def _keep_warm(self) -> None:
        while True:
            self._wake = trio.Event()
            due = [(at, t) for t in self._store.cached_tokens() if (at := self._due(t)) is not None]
            if not due:
                await self._wake.wait()
                continue
            first = min(at for at, _ in due)
            # A microsecond past the due second, so the float clock reads that whole second.
            with trio.move_on_after(max(0.0, first - self.runtime.clock.now_float()) + 1e-6) as waited:
                await self._wake.wait()
            if not waited.cancelled_caught:
                continue
            now = self.runtime.clock.now_float()
            for at, token in due:
                if at <= now:
                    await self._refresh_ahead(token)

    async def _refresh_ahead(self, token: CachedToken) -> None:
        integration = self.integrations[token.integration]
        async with self._lock(token.connection_id):
            current = self._store.cached(token.connection_id, token.slot)
            if current is None or current.jti != token.jti:
                return  # replaced meanwhile
            connection = next((c for c in self._store.connections() if c.connection_id == token.connection_id), None)
            if connection is None or connection.status != ACTIVE:
                return
            try:
                await self._refresh(connection, integration, current.scope, previous=current, agent=None)
            except OAuthError:
                self._store.drop_cached(token.connection_id, token.slot)  # audited in _refresh; retried on demand

    # ------------------------------------------------------------------ key rotation

    async def _rotate_on_schedule(self) -> None:
        while True:
            await trio.sleep(self.config.kek_rotation_period)
            await self.rotate_kek()

    async def rotate_kek(self) -> dict[str, Any]:
        """New KEK; every record's data key is re-wrapped in small transactions while requests go
        on; the old KEK is dropped once nothing uses it."""
        assert self.ring is not None
        old = self.ring.active_id
        self._kek_generation += 1
        self.ring = self.ring.rotate(kek_id=f"kek-{self._kek_generation}", key=self._new_kek(self._kek_generation))
        rewrapped = 0
        while True:
            connections = {c.connection_id: rewrap(c.refresh, ring=self.ring) for c in self._store.connections()
                           if c.refresh.kek_id != self.ring.active_id}
            tokens = {(t.connection_id, t.slot): rewrap(t.token, ring=self.ring) for t in self._store.cached_tokens()
                      if t.token.kek_id != self.ring.active_id}
            batch_c = dict(itertools.islice(connections.items(), REWRAP_BATCH))
            batch_t = dict(itertools.islice(tokens.items(), REWRAP_BATCH - len(batch_c)))
            if not batch_c and not batch_t:
                break
            self._store.rewrap(connections=batch_c, tokens=batch_t)
            rewrapped += len(batch_c) + len(batch_t)
            await trio.sleep(0)  # let requests in between batches: no downtime
        usage = self._store.kek_usage()
        retired = [k for k in self.ring.keys if k != self.ring.active_id and not usage.get(k)]
        for kek_id in retired:
            self.ring = self.ring.retire(kek_id)
        report = {"old_kek": old, "new_kek": self.ring.active_id, "rewrapped": rewrapped, "retired": retired}
        await self.audit("vault.key_rotated", decision="allow", reason="key-encryption key rotated", **report)
        return report

    # ------------------------------------------------------------------ connected accounts

    def connection_scope(self, provider: str) -> tuple[str, ...]:
        """What the vault asks a provider for: the scopes registered agents may use there."""
        wanted = {scope for grants in self.agent_grants.values() for name, scopes in grants.items()
                  if name in self.integrations and self.integrations[name].provider == provider for scope in scopes}
        return tuple(sorted(wanted))

    async def start_connection(self, request: HttpRequest) -> HttpResponse:
        agent = subject = None
        provider = ""
        try:
            try:
                form = request.form()
            except MalformedBody as exc:
                raise InvalidRequest(str(exc)) from None
            agent = self._authenticate(request, form)
            claims = await self._subject(form.get("subject_token_type", ""), form.get("subject_token", ""), agent)
            subject = claims["sub"]
            provider = form.get("connection", "")
            if provider not in self.providers:
                raise InvalidTarget("no such provider connection")
            if not self.connection_scope(provider) or not any(
                    self.integrations[n].provider == provider for n in self.agent_grants.get(agent, {})):
                raise InvalidTarget(f"this agent uses no integration of {provider}")
        except OAuthError as exc:
            return await self._refuse(exc, agent=agent, subject=subject, reason="connect_refused", provider=provider)
        ticket = self._entropy.token(24)
        self.runtime.secrets.add(ticket)
        now = self.runtime.clock.now()
        self._tickets[ticket] = _Ticket(subject=subject, provider=provider, agent=agent,
                                        expires_at=now + self.config.ticket_lifetime)
        await self.audit("vault.connect_started", agent=agent, subject=subject, decision="allow",
                         reason="connect link issued to the user", provider=provider,
                         scope=" ".join(self.connection_scope(provider)))
        return HttpResponse.json_body({"connect_uri": add_query(self.url(CONNECT_START_PATH), {"ticket": ticket}),
                                       "expires_in": self.config.ticket_lifetime}, no_store=True)

    async def connect_start(self, request: HttpRequest) -> HttpResponse:
        now = self.runtime.clock.now()
        ticket = self._tickets.pop(request.query_params().get("ticket", ""), None)
        if ticket is None or ticket.expires_at <= now:
            await self.audit("vault.connect_failed", agent=ticket.agent if ticket else None,
                             subject=ticket.subject if ticket else None, decision="deny",
                             reason="expired_ticket" if ticket else "unknown_or_used_ticket")
            return _page("Link expired", "This connection link is unknown, used or expired.", status=400)
        provider = self.providers[ticket.provider]
        metadata = await self._provider_metadata(provider)
        state, pair = self._entropy.token(16), PkcePair.generate(self._entropy)
        self.runtime.secrets.add(state, pair.verifier)
        self._pending[state] = _PendingLink(subject=ticket.subject, provider=provider.name, agent=ticket.agent,
                                            verifier=pair.verifier, expires_at=now + self.config.ticket_lifetime)
        return HttpResponse.redirect(add_query(metadata.authorization_endpoint, {
            "response_type": "code", "client_id": provider.client_id, "redirect_uri": self.url(CONNECT_CALLBACK_PATH),
            "scope": " ".join(self.connection_scope(provider.name)), "state": state,
            "code_challenge": pair.challenge, "code_challenge_method": pair.method}))

    async def connect_callback(self, request: HttpRequest) -> HttpResponse:
        params = request.query_params()
        pending = self._pending.pop(params.get("state", ""), None)
        now = self.runtime.clock.now()
        if pending is None or pending.expires_at <= now:
            await self.audit("vault.connect_failed", decision="deny", reason="unknown_or_expired_state")
            return _page("Connection failed", "This sign-in is unknown or expired. Start again.", status=400)
        provider = self.providers[pending.provider]
        who = {"agent": pending.agent, "subject": pending.subject}
        if params.get("iss") != provider.issuer:
            await self.audit("vault.connect_failed", decision="deny", reason="issuer_mismatch",
                             provider=provider.name, **who)
            return _page("Connection failed", "The answer did not come from the expected provider.", status=400)
        if "error" in params or "code" not in params:
            reason = params.get("error", "missing_code")
            await self.audit("vault.connect_failed", decision="deny", reason=reason, provider=provider.name,
                             description=params.get("error_description", ""), **who)
            return _page("Not connected", f"{provider.name} was not connected ({reason}).", status=403)
        code = params["code"]
        self.runtime.secrets.add(code)
        try:
            tokens = await self._token_request(provider, {
                "grant_type": "authorization_code", "code": code, "redirect_uri": self.url(CONNECT_CALLBACK_PATH),
                "code_verifier": pending.verifier})
            if not tokens.refresh_token:
                raise TemporarilyUnavailable(f"{provider.name} issued no refresh token")
        except OAuthError as exc:
            await self.audit("vault.connect_failed", decision="deny", reason=exc.error, provider=provider.name,
                             description=exc.description, **who)
            return _page("Connection failed", f"{provider.name} did not complete the connection.", status=502)
        self.runtime.secrets.add(tokens.access_token, tokens.refresh_token)
        cid = "con_" + self._entropy.hex(8)
        self._store.upsert_connection(Connection(
            connection_id=cid, subject=pending.subject, provider=provider.name, scope=tokens.scope, status=ACTIVE,
            status_reason="", created_at=now, updated_at=now,
            refresh=seal(tokens.refresh_token, aad=record_aad("refresh", cid), ring=self.ring, entropy=self._entropy)))
        await self.audit("vault.connected", decision="allow", reason="the user linked the account",
                         provider=provider.name, connection_id=cid, scope=" ".join(tokens.scope), **who)
        return _page("Account connected", f"Your {provider.name} account is now connected. You can close this page.")

    def envelopes(self) -> list[Envelope]:
        """Every stored envelope (for inspection: which KEK wraps what)."""
        return ([c.refresh for c in self._store.connections()] + [t.token for t in self._store.cached_tokens()])


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
