"""The cast of the eight-phase sales-agent scenario (SPEC.md): every actor, built from the world
file, put on the network and started. The phases themselves live in ``scenarios/phases/``."""

from __future__ import annotations

from typing import Any

import attrs
import trio

from actors.agent import AgentActor
from actors.browser import Browser
from actors.fga_service import FgaServiceActor
from actors.mcp_server import McpServerActor
from actors.identity_providers import build_google, federate, google_subject
from actors.oidc_provider import OidcProviderActor
from actors.runtime.context import Runtime
from protocols.oidc.discovery import discovery_url
from protocols.token_exchange import GRANT_TYPE_TOKEN_EXCHANGE
from scenarios.mcp_cast import build_mcp_servers, connect_mcp_servers
from scenarios.idp_cast import build_world_idp, enrol, register_agent, world_directory
from scenarios.cross_domain_cast import CrossDomainCast, build_cross_domain
from scenarios.vault_cast import VaultCast, build_vault_cast
from scenarios.approvals_cast import ApprovalCast, build_approvals
from scenarios.sales_governance import attach_control_plane
from scenarios.sales_security import attach_sales_security
from scenarios.security_cast import connect_security
from protocols.ssf import configuration_url
from scenarios.world import World

@attrs.define(eq=False)
class SalesCast:
    """Every actor of the run, by role."""

    world: World
    runtime: Runtime
    idp: OidcProviderActor
    google: OidcProviderActor
    agents: dict[str, AgentActor]
    browsers: dict[str, Browser]
    fga: FgaServiceActor
    mcp_servers: dict[str, McpServerActor] = attrs.field(factory=dict)
    cross_domain: CrossDomainCast | None = None
    vault: VaultCast = attrs.field(factory=VaultCast)
    """The token vault, the SaaS providers and each agent's vault tools (``scenarios.vault_cast``)."""
    approvals: ApprovalCast | None = None
    """CIBA at the IdP, approvers' apps and mailboxes, action gates (``scenarios.approvals_cast``)."""
    control: Any = None
    """Registry, discovery, privileged vault, governance (``scenarios.control_plane.ControlPlane``)."""
    security: Any = None
    """Threat detection and universal logout (``scenarios.security_cast.SecurityOps``), if the world has them."""

    def services(self) -> list[tuple[str, str, str]]:
        """(name, base URL, discovery URL or '') of every actor reachable over the network."""
        rows = [(self.idp.name, self.idp.base_url, discovery_url(self.idp.base_url)),
                (self.google.name, self.google.base_url, discovery_url(self.google.base_url))]
        rows += [(a.name, a.base_url, "") for a in self.agents.values()]
        rows.append((self.fga.name, self.fga.base_url, ""))
        rows += [(s.name, s.resource, s.protection.metadata.url) for s in self.mcp_servers.values()]
        rows += self.cross_domain.services() if self.cross_domain is not None else []
        rows += self.vault.services()
        rows += self.approvals.services() if self.approvals is not None else []
        if self.security is not None:  # the SSF transmitter (its configuration document as "discovery")
            ssf = self.security.transmitter
            rows.append((ssf.name, ssf.base_url, configuration_url(ssf.issuer)))
        return rows


def build_cast(*, world: World, runtime: Runtime) -> SalesCast:
    directory = world_directory(world)
    google = build_google(runtime=runtime, name=world.google.name, alg=world.google.signing_alg)
    idp = build_world_idp(world=world, runtime=runtime, directory=directory)
    browsers: dict[str, Browser] = {}
    for person in world.people:
        entry = directory[person.email]
        if person.login == "google":
            browsers[person.id] = enrol(runtime=runtime, provider=google, person=person, entry=entry,
                                        subject=google_subject(runtime, person.id), federation=google.name)
        else:
            browsers[person.id] = enrol(runtime=runtime, provider=idp, person=person, entry=entry,
                                        subject=f"auth0|{person.id}")
    agents = {spec.id: register_agent(runtime=runtime, idp=idp, spec=spec,
                                      grant_types=frozenset({"authorization_code", GRANT_TYPE_TOKEN_EXCHANGE}))
              for spec in world.agents}
    fga = FgaServiceActor.build(runtime=runtime, name="fga")
    return SalesCast(world=world, runtime=runtime, idp=idp, google=google, agents=agents, browsers=browsers,
                     approvals=build_approvals(world=world, runtime=runtime, idp=idp, agents=agents),
                     fga=fga, mcp_servers=build_mcp_servers(world=world, runtime=runtime, idp_issuer=idp.base_url),
                     cross_domain=build_cross_domain(world=world, runtime=runtime, idp=idp, agents=agents),
                     vault=build_vault_cast(world=world, runtime=runtime, agents=agents, browsers=browsers,
                                            idp_issuer=idp.base_url))


async def start_cast(*, world: World, runtime: Runtime, nursery: trio.Nursery) -> SalesCast:
    """Build the cast, put every actor on the network, start them and wire the federation."""
    cast = build_cast(world=world, runtime=runtime)
    http_actors = [cast.google, cast.idp, *cast.agents.values(), cast.fga, *cast.mcp_servers.values()]
    http_actors += cast.cross_domain.actors() if cast.cross_domain is not None else []
    http_actors += cast.vault.actors()
    http_actors += cast.approvals.actors() if cast.approvals is not None else []
    for actor in http_actors:
        runtime.network.register(actor)
    for actor in [*http_actors, *cast.browsers.values()]:
        await nursery.start(actor.run)
    cast.control = await attach_control_plane(cast, nursery)  # registers its actors before serving
    cast.security = await attach_sales_security(cast, nursery)  # registers the SSF transmitter too
    await nursery.start(runtime.network.serve)
    await federate(idp=cast.idp, google=cast.google, domain=world.domain)
    if world.fga is not None:  # the scenario's authorization model and tuples, loaded through the API
        await cast.fga.bootstrap(store_name=world.fga.store_name, model=world.fga.model, tuples=world.fga.tuples)
        connect_mcp_servers(cast.mcp_servers.values(), fga=cast.fga, idp=cast.idp, vault=cast.vault)
    if cast.security is not None:  # receivers create and verify their SSF streams; the routine starts
        await connect_security(cast.security, nursery)
    return cast
