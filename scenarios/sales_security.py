"""Security operations in the sales-agent world (phase 8): what universal logout reaches there and
what the agent holds on the morning its credentials are stolen.

Beyond the control plane's systems (``scenarios.security_wiring``: IdP, CRM, privileged vault),
logout reaches the other SaaS providers (GTR + receiver), the token vault (receiver: the agent's
integrations withdrawn, the connections it drew from disconnected), the MCP servers and the pricing
API (receivers: their bearer guard refuses the agent's tokens) and the pricing authorization server
(GTR: the agent's client there loses its keys). The agent's accounts sent as SET/GTR aliases: its
CRM integration (client and integration user of phase 1) and its client id at the pricing AS.

``morning_tokens`` is the agent's work for the phase's user just before the theft — an MCP token
for one server and a pricing token through ID-JAG — and ``sales_probes`` the attacker's replays of
each, and of the signing key with the user's ID token at the token vault.
"""

from __future__ import annotations

from typing import Any

import attrs
import trio

from actors.agent import Delegation
from actors.attacker import Probe, ProbeResult
from actors.governance_signals import CaepRevocationSignals
from actors.mcp_client import McpAgentClient, discover
from actors.saas.crm import API as CRM_API, CrmActor
from actors.universal_logout import oauth_server_revocation, resource_as_revocation, vault_suspension
from protocols.http import HttpRequest
from protocols.oauth.errors import OAuthError
from scenarios.security_cast import ProtectedSystem, SecurityOps
from scenarios.security_wiring import SecuredAgent, install_platform_security

MCP_PROBE_SERVER = "mcp-crm"
VAULT_INTEGRATION, VAULT_SCOPE = "google-drive", ("drive.file",)
PRICING_TIER = "enterprise-tier"


async def attach_sales_security(cast: Any, nursery: trio.Nursery) -> SecurityOps | None:
    """Install security operations on the sales cast (after the control plane, before serving)."""
    world, plane = cast.world, cast.control
    if world.security is None or plane is None:
        return None
    shadow = plane.jobs.get("shadow")
    cross = cast.cross_domain
    pricing_clients: dict[str, list[str]] = {}
    if cross is not None and cross.pricing_as is not None:
        for client_id, agent_id in cross.pricing_as.agent_names.items():
            pricing_clients.setdefault(agent_id, []).append(client_id)
    secured = {}
    for spec in world.agents:
        own_integration = shadow is not None and shadow.agent == spec.id
        phase_one = any(p.number == 1 and p.agent == spec.id for p in world.phases)
        secured[spec.id] = SecuredAgent(
            agent=cast.agents[spec.id], crm_client_id=shadow.client_id if own_integration else f"{spec.id}-crm",
            crm_account=shadow.account if own_integration else f"svc-{spec.id}",
            credential_id=f"{spec.id}-crm" if own_integration and phase_one else None,
            client=lambda agent_id=spec.id: getattr(plane.jobs.get(agent_id), "client", None),
            extra_accounts=tuple(pricing_clients.get(spec.id, ())))
    extra = [ProtectedSystem(host=provider, revoke=oauth_server_revocation(provider))
             for provider in cast.vault.providers.values() if provider is not plane.crm]
    if cast.vault.vault is not None:
        extra.append(ProtectedSystem(host=cast.vault.vault, action=vault_suspension(cast.vault.vault)))
    extra += [ProtectedSystem(host=server) for server in cast.mcp_servers.values()]
    if cross is not None and cross.pricing_as is not None:
        extra.append(ProtectedSystem(host=cross.pricing_as, revoke=resource_as_revocation(cross.pricing_as),
                                     receiver=False))
    if cross is not None and cross.pricing_api is not None:
        extra.append(ProtectedSystem(host=cross.pricing_api))
    crm: CrmActor = plane.crm
    ops = await install_platform_security(
        world=world, runtime=cast.runtime, nursery=nursery, idp=cast.idp, plane=plane, agents=secured,
        crm_urls=[crm.url(f"{CRM_API}/accounts/{account}") for account in sorted(crm.accounts)], extra=extra)
    # governance's revocations reach the resource servers that validate tokens alone (CAEP over SSF)
    plane.governance.signals = CaepRevocationSignals(runtime=cast.runtime, transmitter=ops.transmitter,
                                                     identity_issuer=cast.idp.base_url)
    return ops


@attrs.frozen(kw_only=True)
class MorningTokens:
    """Tokens the agent obtained for the user just before the theft (repr hides them)."""

    mcp: tuple[str, str] | None = attrs.field(default=None, repr=False)
    """(server URL, token)."""
    pricing: str = attrs.field(default="", repr=False)


async def morning_tokens(cast: Any, agent_id: str, delegation: Delegation) -> MorningTokens:
    """The agent's usual work for the user: one MCP server, prices via ID-JAG, a CRM token from the vault."""
    agent, network = cast.agents[agent_id], cast.runtime.network
    mcp = None
    server = cast.mcp_servers.get(MCP_PROBE_SERVER) or next(iter(cast.mcp_servers.values()), None)
    if server is not None:
        found = await discover(network, server.resource)
        mcp = (server.resource, await McpAgentClient(agent=agent).token_for(
            delegation, resource=found.metadata.resource, scope=found.scope))
    pricing = ""
    world_pricing, cross = cast.world.pricing, cast.cross_domain
    if (world_pricing is not None and cross is not None
            and (agent_id, world_pricing.authorization_server) in cross.clients):
        client = cross.client(agent=agent_id, target=world_pricing.authorization_server)
        grant = await client.obtain_id_jag(delegation, resource=(world_pricing.resource,), scope=("pricing:read",))
        pricing = (await client.redeem(grant, user=delegation.subject)).access_token
    return MorningTokens(mcp=mcp, pricing=pricing)


def sales_probes(cast: Any, tokens: MorningTokens, *, agent_id: str, user: str) -> list[Probe]:
    """The attacker's replays of the morning's tokens, each at the system that accepts it."""
    network = cast.runtime.network
    probes = []

    def bearer(url: str, token: str, *, method: str = "GET", body: bytes = b"", **headers: str):
        async def attempt(i: int) -> ProbeResult:
            response = await network.send(HttpRequest(method=method, url=url, body=body,
                                                      headers={"authorization": f"Bearer {token}", **headers}))
            return ProbeResult(status=response.status)
        return attempt

    if tokens.mcp is not None:
        url, token = tokens.mcp
        initialize = (b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",'
                      b'"capabilities":{},"clientInfo":{"name":"x","version":"1"}}}')
        probes.append(Probe(credential="MCP token", receiver=cast.mcp_servers[MCP_PROBE_SERVER].name
                            if MCP_PROBE_SERVER in cast.mcp_servers else "mcp",
                            attempt=bearer(url, token, method="POST", body=initialize,
                                           **{"content-type": "application/json",
                                              "accept": "application/json, text/event-stream"})))
    if tokens.pricing and cast.cross_domain is not None and cast.cross_domain.pricing_api is not None:
        api = cast.cross_domain.pricing_api
        probes.append(Probe(credential="pricing token", receiver=api.name,
                            attempt=bearer(api.url(f"/prices/{PRICING_TIER}"), tokens.pricing)))
    tools = cast.vault.tools.get(agent_id)
    if tools is not None and cast.vault.vault is not None and VAULT_INTEGRATION in tools.vault.integrations:
        async def exchange(i: int) -> ProbeResult:
            try:  # the stolen signing key and the user's ID token, replayed at the token vault
                await tools.vault.access_token(user=user, integration=VAULT_INTEGRATION, scope=VAULT_SCOPE)
            except OAuthError as error:
                return ProbeResult(status=error.status)
            return ProbeResult(status=200)
        # Tried once the stolen CRM token stops working: the user's connections have been idle for
        # weeks, so a first try would only make the vault mark them for reconnection.
        probes.append(Probe(credential="agent signing key + user's ID token", receiver=cast.vault.vault.name,
                            attempt=exchange, reconnoitre=False))
    return probes
