"""The token vault as a client of the providers' authorization servers (RFC 6749 §2.3.1
``client_secret_basic``): their metadata (RFC 8414 §3), token requests, and the refresh that turns
a connection's refresh token into an access token narrowed to one request's scope and resource
(RFC 6749 §6, RFC 8707 §2; the provider rotates the refresh token, RFC 9700 §4.14.2). A child task
refreshes tokens in use before they expire (``protocols.vault.refresh_due``). A part of
``actors.vault.VaultActor``, kept apart by concern."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import trio

from actors.runtime.network import Unreachable
from actors.storage.vault_store import ACTIVE, RECONNECT, CachedToken, Connection
from protocols.http import HttpRequest, MalformedBody
from protocols.oauth.client_auth import basic_authorization
from protocols.oauth.errors import InteractionRequired, InvalidGrant, OAuthError, TemporarilyUnavailable
from protocols.oauth.metadata import AuthorizationServerMetadata, MetadataRejected, metadata_url
from protocols.oauth.refresh import REFRESH_TOKEN
from protocols.oauth.token_response import TokenResponse, TokenResponseRejected
from protocols.vault import Integration, record_aad, refresh_due, seal, slot_key, token_id, unseal

if TYPE_CHECKING:
    from actors.vault import VaultActor

VAULT_KIND = "vault_token"


@attrs.frozen(kw_only=True)
class ProviderClient:
    """The vault's client registration at one provider's authorization server."""

    name: str
    issuer: str
    client_id: str
    client_secret: str = attrs.field(repr=False)


class VaultProviderTokens:
    """Provider tokens obtained and kept fresh, mixed into ``VaultActor`` (it uses the actor's store,
    locks, KEK ring, provider clients, configuration and audit)."""

    async def _provider_metadata(self: VaultActor, provider: ProviderClient) -> AuthorizationServerMetadata:
        if provider.name not in self._metadata:
            try:
                document = await self._get_json(metadata_url(provider.issuer))
                self._metadata[provider.name] = AuthorizationServerMetadata.from_json(
                    document, expected_issuer=provider.issuer)
            except (MetadataRejected, MalformedBody) as exc:
                raise TemporarilyUnavailable(f"{provider.name} metadata unusable: {exc}") from None
        return self._metadata[provider.name]

    async def _token_request(self: VaultActor, provider: ProviderClient, params: dict[str, str]) -> TokenResponse:
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

    async def _refresh(self: VaultActor, connection: Connection, integration: Integration, scope: tuple[str, ...],
                       *, previous: CachedToken | None, agent: str | None) -> tuple[CachedToken, str]:
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

    def _due(self: VaultActor, token: CachedToken) -> int | None:
        """When ``token`` should be replaced ahead of expiry, or ``None`` if it is not kept warm."""
        return refresh_due(issued_at=token.issued_at, expires_at=token.expires_at,
                           last_served_at=token.last_served_at, margin=self.config.refresh_margin,
                           keep_warm=self.config.keep_warm)

    async def _keep_warm(self: VaultActor) -> None:
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

    async def _refresh_ahead(self: VaultActor, token: CachedToken) -> None:
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
