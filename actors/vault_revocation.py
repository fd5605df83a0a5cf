"""The token vault's revocations (RFC 7009): a user disconnecting a provider account, and governance
withdrawing an agent's grant — every provider access token served to the agent is revoked at the
provider and dropped from the cache. A part of ``actors.vault.VaultActor``, kept apart by concern."""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.runtime.network import Unreachable
from actors.storage.vault_store import REVOKED, CachedToken
from protocols.oauth.client_auth import basic_authorization
from protocols.oauth.errors import OAuthError
from protocols.oauth.revocation import ACCESS_TOKEN_HINT, REFRESH_TOKEN_HINT, revocation_request
from protocols.vault import record_aad, unseal

if TYPE_CHECKING:
    from actors.vault import VaultActor
    from actors.vault_provider import ProviderClient


class VaultRevocation:
    """Revocation at the providers, mixed into ``VaultActor`` (it uses the actor's store, locks, KEK ring,
    provider clients and audit)."""

    async def revoke_connection(self: VaultActor, *, subject: str, provider: str, reason: str) -> bool:
        """Disconnect: revoke the grant at the provider (RFC 7009) and drop every stored token. The
        local revocation happens even when the provider cannot be reached; ``True`` when the
        provider confirmed it too."""
        connection = self._store.connection(subject=subject, provider=provider)
        if connection is None or connection.status == REVOKED:
            return False
        client = self.providers[provider]
        async with self._lock(connection.connection_id):
            refresh_token = unseal(connection.refresh, aad=record_aad("refresh", connection.connection_id),
                                   ring=self.ring)
            self._store.set_status(connection.connection_id, status=REVOKED, reason=reason,
                                   now=self.runtime.clock.now())
            upstream = await self._revoke_at_provider(client, token=refresh_token, hint=REFRESH_TOKEN_HINT)
        await self.audit("vault.connection_revoked", subject=subject, decision="allow", reason=reason,
                         provider=provider, connection_id=connection.connection_id, upstream_status=upstream)
        return upstream == 200

    async def revoke_served(self: VaultActor, agent: str, *, integration: str | None = None, reason: str) -> dict[str, int]:
        """Revoke at each provider (RFC 7009, ``token_type_hint=access_token``, the vault authenticated
        as the provider's client) every unexpired access token served to ``agent`` — for
        ``integration`` only, or all — and drop it from the cache so it is never served again (the
        next exchange, by any agent still allowed, gets a new one). One ``vault.tokens_revoked``
        audit entry per provider (how many, upstream statuses). Returns provider → tokens revoked."""
        now, held = self.runtime.clock.now(), self.served.get(agent, {})
        chosen = sorted((t for t in held.values() if integration is None or t.integration == integration),
                        key=lambda t: (t.integration, t.jti))
        by_provider: dict[str, list[CachedToken]] = {}
        for token in chosen:
            del held[token.jti]
            if token.expires_at > now:
                by_provider.setdefault(self.integrations[token.integration].provider, []).append(token)
        done: dict[str, int] = {}
        for provider, tokens in sorted(by_provider.items()):
            client, statuses = self.providers[provider], []
            for token in tokens:
                async with self._lock(token.connection_id):
                    current = self._store.cached(token.connection_id, token.slot)
                    if current is not None and current.jti == token.jti:
                        self._store.drop_cached(token.connection_id, token.slot)
                    envelope = current.token if current is not None and current.jti == token.jti else token.token
                    plain = unseal(envelope, aad=record_aad("access", f"{token.connection_id}/{token.slot}"),
                                   ring=self.ring)
                    statuses.append(await self._revoke_at_provider(client, token=plain, hint=ACCESS_TOKEN_HINT))
            done[provider] = sum(status == 200 for status in statuses)
            await self.audit("vault.tokens_revoked", agent=agent, decision="revoke", reason=reason, provider=provider,
                             integrations=sorted({t.integration for t in tokens}), tokens=len(tokens),
                             confirmed=done[provider], mechanism="RFC 7009 revocation at the provider",
                             revoked_jtis=[t.jti for t in tokens], upstream_status=sorted(set(statuses)))
        return done

    async def _revoke_at_provider(self: VaultActor, client: ProviderClient, *, token: str, hint: str) -> int:
        """RFC 7009 revocation of ``token`` at the provider, the vault authenticated as its client
        (``client_secret_basic``): the provider's status, 503 when it cannot be reached."""
        try:
            metadata = await self._provider_metadata(client)
            response = await self.runtime.network.send(revocation_request(
                endpoint=metadata.revocation_endpoint, token=token, token_type_hint=hint,
                headers={"authorization": basic_authorization(client.client_id, client.client_secret)}))
        except (Unreachable, OAuthError):
            return 503
        return response.status
