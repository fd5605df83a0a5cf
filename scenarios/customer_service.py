"""The cast of the customer-service scenario (SPEC "Other scenarios": "Customer-service agent: 500
records in 10 minutes → universal logout within minutes").

A support organisation's enterprise IdP, the control plane (agent registry, privileged-credential
vault, mail relay, a Salesforce-like CRM holding the customer base) and a support agent registered
at the IdP (``private_key_jwt``) that reads customer records through its own CRM integration
(``client_credentials``), whose secret security vaulted at onboarding (the static one is refused).
Security operations (``scenarios.security_cast``) protect the IdP, the CRM and the privileged
vault. Every day the agent looks up a few customers (the ``[routine]``); on the drill day a support
rep signs in to it and the agent's credentials are stolen.
"""

from __future__ import annotations

from typing import Any

import attrs
import trio

from actors.agent import AgentActor
from actors.browser import Browser
from actors.oidc_provider import OidcProviderActor
from actors.runtime.context import Runtime
from actors.saas.crm import API as CRM_API, Account, Contact, CrmData, CrmUser
from actors.service_client import ClientCredentialsClient
from scenarios.control_plane import ControlPlane, start_control_plane
from scenarios.idp_cast import build_world_idp, enrol_at_idp, register_agent, world_directory
from scenarios.phases.discovery_registration import vault_credential
from scenarios.security_cast import SecurityOps, connect_security
from scenarios.security_wiring import SecuredAgent, install_platform_security
from scenarios.world import World

CUSTOMER_ACCOUNTS = 130
CONTACTS_PER_ACCOUNT = 5
ROTATION = {"every_days": 30, "overlap_hours": 1, "lease_hours": 1}
_FIRST = ("Ada", "Bruno", "Clara", "Dmitri", "Elena", "Felix", "Gita", "Hannah", "Ivan", "Jade", "Kofi", "Lena")
_LAST = ("Adams", "Berg", "Costa", "Dahl", "Evans", "Fischer", "Garcia", "Horvat", "Ito", "Jensen", "Kaur")
_PLANS = ("Basic", "Business", "Enterprise")


def support_seed(world: World) -> CrmData:
    """The customer base: ``CUSTOMER_ACCOUNTS`` accounts with ``CONTACTS_PER_ACCOUNT`` contacts each."""
    users = tuple(CrmUser(id=f"005{n:012d}", email=p.email, name=p.name, territory=p.territory)
                  for n, p in enumerate(world.people, start=1))
    accounts, contacts = [], []
    for n in range(CUSTOMER_ACCOUNTS):
        account_ = Account(id=f"001{n + 1:012d}", slug=f"customer-{n + 1:03d}", name=f"Customer {n + 1:03d} Ltd",
                           industry=f"{_PLANS[n % 3]} plan", territory="GLOBAL", owner=users[n % len(users)].id)
        accounts.append(account_)
        for k in range(CONTACTS_PER_ACCOUNT):
            first, last = _FIRST[(n + k) % len(_FIRST)], _LAST[(n * 7 + k) % len(_LAST)]
            contacts.append(Contact(id=f"003{n * 10 + k + 1:012d}", account_id=account_.id, name=f"{first} {last}",
                                    title="Customer", email=f"{first.lower()}.{last.lower()}@{account_.slug}.example",
                                    phone=f"+44 20 7946 {n * 10 + k:04d}"))
    return CrmData(users=users, accounts=tuple(accounts), contacts=tuple(contacts))


@attrs.frozen(kw_only=True)
class Integration:
    """An agent's integration at the CRM: its client, integration user and vaulted credential."""

    client_id: str
    account: str
    credential_id: str


@attrs.define(eq=False)
class SupportCast:
    world: World
    runtime: Runtime
    idp: OidcProviderActor
    agents: dict[str, AgentActor]
    browsers: dict[str, Browser]
    control: ControlPlane
    security: SecurityOps | None = None
    integrations: dict[str, Integration] = attrs.field(factory=dict)
    crm_clients: dict[str, ClientCredentialsClient] = attrs.field(factory=dict)


def _build(world: World, runtime: Runtime) -> tuple[OidcProviderActor, dict[str, AgentActor], dict[str, Browser]]:
    directory = world_directory(world)
    idp = build_world_idp(world=world, runtime=runtime, directory=directory)
    browsers = enrol_at_idp(runtime=runtime, idp=idp, people=world.people, directory=directory)
    agents = {spec.id: register_agent(runtime=runtime, idp=idp, spec=spec) for spec in world.agents}
    return idp, agents, browsers


async def _onboard(cast: SupportCast, spec: Any) -> None:
    """What security did when the agent went live: register it (active, with its CRM account),
    give it a CRM integration and vault the integration's secret (the static one stops working)."""
    plane, runtime = cast.control, cast.runtime
    integration = Integration(client_id=f"{spec.id}-crm", account=f"svc-{spec.id}", credential_id=f"{spec.id}-crm")
    static = runtime.entropy_for("support-team").child(f"crm-static:{spec.id}").token(32)
    plane.add_service_account(client_id=integration.client_id, account=integration.account, scopes=("crm.read",),
                              secret=static)
    await plane.security.create({
        "id": spec.id, "displayName": spec.name, "lifecycleState": "registered", "owner": {"value": spec.owner},
        "purpose": spec.purpose, "accounts": [{"system": plane.crm.name, "value": integration.account}],
        "metadata": {"environment": "prod", "team": "support"}})
    await plane.security.replace(spec.id, lifecycleState="active")
    plane.register_agent_key(spec.id, cast.agents[spec.id].signing_key)
    await vault_credential(plane, credential_id=integration.credential_id, agent_id=spec.id, system=plane.crm.name,
                           account=integration.client_id, kind="api_key", secret=static,
                           policy=cast.world.rotation_policy(spec.id, default=ROTATION))
    cast.integrations[spec.id] = integration
    cast.crm_clients[spec.id] = plane.crm_client(
        client_id=integration.client_id, secret=plane.credentials_for(spec.id).source(integration.credential_id),
        scope="crm.read")


async def start_support_cast(*, world: World, runtime: Runtime, nursery: trio.Nursery) -> SupportCast:
    """Build and start the cast, onboard the agents, connect security operations."""
    idp, agents, browsers = _build(world, runtime)
    network = runtime.network
    for actor in (idp, *agents.values()):
        network.register(actor)
    for actor in (idp, *agents.values(), *browsers.values()):
        await nursery.start(actor.run)
    people = {p.id: (p.name, p.email) for p in world.people}
    teams = {p.team: (p.team, f"{p.team}@{world.domain}") for p in world.people if p.team}
    plane = await start_control_plane(runtime=runtime, nursery=nursery, people=people, teams=teams,
                                      crm_data=support_seed(world), role_templates=world.role_templates)
    cast = SupportCast(world=world, runtime=runtime, idp=idp, agents=agents, browsers=browsers, control=plane)
    secured = {spec.id: SecuredAgent(agent=agents[spec.id], crm_client_id=f"{spec.id}-crm",
                                     crm_account=f"svc-{spec.id}", credential_id=f"{spec.id}-crm",
                                     client=lambda agent_id=spec.id: cast.crm_clients.get(agent_id))
               for spec in world.agents}
    if world.security is not None:
        cast.security = await install_platform_security(
            world=world, runtime=runtime, nursery=nursery, idp=idp, plane=plane, agents=secured,
            crm_urls=[plane.crm.url(f"{CRM_API}/accounts/{a}") for a in sorted(plane.crm.accounts)])
    await nursery.start(network.serve)
    for spec in world.agents:
        await _onboard(cast, spec)
    if cast.security is not None:
        await connect_security(cast.security, nursery)
    return cast
