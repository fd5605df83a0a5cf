"""What each kind of system does when told to log an agent out (GTR requests and CAEP events).

These adapters are the host-specific halves of ``actors.gtr_endpoint`` and ``actors.ssf_receiver``:
each returns a callback that runs in the host actor's own task (the components are mounted on it)
and changes only that host's state.

- OpenID Provider (``oidc_provider_revocation``): every unexpired token issued to the client is
  revoked (``OpenIdProvider.revoke_client``) and its registered keys are removed, so a stolen
  ``private_key_jwt`` key authenticates nothing until the owner registers a new one; a user
  principal loses every session and token (``revoke_subject``).
- OAuth authorization server of a SaaS provider (``oauth_server_revocation``): every refresh-token
  family and access token of the client — or of the clients whose integration user the principal
  is — is revoked (``AuthorizationServer.revoke_client``) and the client's secret digest replaced
  by one nobody knows (a stolen secret is refused; the administrator sets a new one to reinstate).
- Resource authorization server (``resource_as_revocation``): the client's keys are removed; its
  outstanding access tokens die at the resource servers, which receive the SETs.
- Token vault (``vault_suspension``): the agent's integrations are withdrawn (no more tokens served)
  and every connection it may still hold a live token from is disconnected at the provider (RFC
  7009 on the refresh token, which revokes the access tokens of that grant).
- Privileged-credential vault (``privileged_vault_suspension``): the agent can no longer
  authenticate to lease secrets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import attrs

from protocols.jose.jwks import JwkSet
from protocols.oauth.client_auth import ClientAuthMethod, ClientRegistration, hash_client_secret
from protocols.security_event import SecurityEvent

Revoke = Callable[[str], Awaitable["Mapping[str, Any] | None"]]
NO_KEYS = JwkSet.from_json({"keys": []})


def _without_credentials(registration: ClientRegistration, *, unknown_secret: str) -> ClientRegistration:
    if registration.auth_method is ClientAuthMethod.CLIENT_SECRET_BASIC:
        return attrs.evolve(registration, client_secret_sha256=hash_client_secret(unknown_secret))
    return attrs.evolve(registration, jwks=NO_KEYS)


def oidc_provider_revocation(idp: Any) -> Revoke:
    """``idp``: an ``OidcProviderActor``."""
    async def revoke(principal: str) -> Mapping[str, Any] | None:
        provider, now = idp.provider, idp.runtime.clock.now()
        registration = provider.clients.get(principal)
        if registration is not None:
            outcome = provider.revoke_client(principal, now=now)
            provider.register_client(attrs.evolve(registration, jwks=NO_KEYS))
            await idp.record(outcome)
            return {"tokens_revoked": len(outcome.details["revoked"]), "client_keys_removed": True}
        if provider.user(principal) is not None:
            outcome = provider.revoke_subject(principal, now=now)
            await idp.record(outcome)
            return {"tokens_revoked": len(outcome.details["revoked"]), "sessions_ended": outcome.details["sessions"]}
        return None
    return revoke


def oauth_server_revocation(provider: Any) -> Revoke:
    """``provider``: a ``SaasProvider`` (its ``server`` is a ``protocols.oauth.authorization_server``)."""
    async def revoke(principal: str) -> Mapping[str, Any] | None:
        server, now = provider.server, provider.runtime.clock.now()
        clients = sorted(c.client_id for c in server.clients.values()
                         if principal in (c.client_id, c.service_account))
        if not clients and server.user(principal) is None:
            return None
        revoked: list[str] = []
        entropy = provider.runtime.entropy_for(provider.name).child(f"gtr:{principal}")
        for client_id in clients:
            outcome = server.revoke_client(client_id, now=now)
            revoked += outcome.details["revoked"]
            await provider.record(outcome)
            client = server.clients[client_id]
            server.register_client(attrs.evolve(client, registration=_without_credentials(
                client.registration, unknown_secret=entropy.token(32))))
        if server.user(principal) is not None:
            outcome = server.revoke_grants(subject=principal, now=now)
            revoked += outcome.details["revoked"]
            await provider.record(outcome)
        return {"clients_disabled": clients, "tokens_revoked": len(revoked)}
    return revoke


def resource_as_revocation(actor: Any) -> Revoke:
    """``actor``: a ``ResourceAuthorizationServerActor`` (``agent_names``: client id → agent id)."""
    async def revoke(principal: str) -> Mapping[str, Any] | None:
        server = actor.server
        clients = sorted(cid for cid in server.clients if principal in (cid, actor.agent_names.get(cid)))
        if not clients:
            return None
        revoked = []
        for client_id in clients:
            server.register_client(attrs.evolve(server.clients[client_id], jwks=NO_KEYS))
            revoked += actor.revoke_client_tokens(client_id)  # introspection answers inactive from now on
        return {"clients_disabled": clients, "tokens_revoked": len(revoked)}
    return revoke


async def _apply(revoke: Revoke, principals: tuple[str, ...]) -> dict[str, Any]:
    done = {}
    for principal in principals:
        result = await revoke(principal)
        if result is not None:
            done[principal] = dict(result)
    return done


def on_session_revoked(revoke: Revoke) -> Callable[[SecurityEvent, tuple[str, ...]], Awaitable[Mapping[str, Any]]]:
    """A receiver action that applies ``revoke`` to every local principal the SET names."""
    async def act(event: SecurityEvent, principals: tuple[str, ...]) -> Mapping[str, Any]:
        return await _apply(revoke, principals)
    return act


def vault_suspension(vault: Any) -> Callable[[SecurityEvent, tuple[str, ...]], Awaitable[Mapping[str, Any]]]:
    """``vault``: a ``VaultActor``. Which connections the agent may still hold live tokens from
    (served less than their lifetime ago) is read from the vault's own ``vault.token_served``
    audit records; those grants are revoked at the provider, which revokes every access token
    issued under them. Connections whose tokens have all expired are left alone."""
    async def act(event: SecurityEvent, principals: tuple[str, ...]) -> Mapping[str, Any]:
        done: dict[str, Any] = {}
        now = vault.runtime.clock.now_float()
        for agent in principals:
            if agent not in vault.agent_grants:
                continue
            vault.agent_grants[agent] = {}
            used = sorted({(e.subject, str(e.details.get("provider"))) for e in vault.runtime.audit.store.entries()
                           if e.actor == vault.name and e.event == "vault.token_served" and e.agent == agent
                           and e.subject and _served_until(e) > now})
            disconnected = []
            for subject, provider in used:
                if provider in vault.providers and await vault.revoke_connection(
                        subject=subject, provider=provider, reason=f"agent {agent} logged out by the security team"):
                    disconnected.append(provider)
            done[agent] = {"integrations_withdrawn": True, "connections_revoked": disconnected}
        return done
    return act


def _served_until(entry: Any) -> float:
    served = datetime.fromisoformat(entry.time.replace("Z", "+00:00")).timestamp()
    lifetime = entry.details.get("expires_in")
    return served + (lifetime if isinstance(lifetime, (int, float)) else 0)


def privileged_vault_suspension(pam: Any) -> Callable[[SecurityEvent, tuple[str, ...]], Awaitable[Mapping[str, Any]]]:
    """``pam``: a ``PrivilegedVaultActor`` (``clients``: agents allowed to lease secrets)."""
    async def act(event: SecurityEvent, principals: tuple[str, ...]) -> Mapping[str, Any]:
        done = {}
        for agent in principals:
            registration = pam.clients.get(agent)
            if registration is not None:
                pam.clients[agent] = attrs.evolve(registration, jwks=NO_KEYS)
                done[agent] = {"leases_blocked": True}
        return done
    return act
