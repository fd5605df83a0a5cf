"""The control plane in the sales-agent world: before anyone governs it, the sales team's agent
already runs as a CRM integration ("sales-automation-app", integration user
``svc-sales-automation``) with a static client secret, polling accounts and contacts every five
minutes — the shadow AI phase 1 discovers from the CRM's logs."""

from __future__ import annotations

import attrs
import trio

from actors.agent_jobs import ApiPollingJob
from actors.saas.crm import API as CRM_API
from scenarios.control_plane import ControlPlane, govern_systems, start_control_plane
from scenarios.saas_seed import crm_seed

SHADOW_CLIENT = "sales-automation-app"
SHADOW_ACCOUNT = "svc-sales-automation"
SHADOW_SCOPES = ("crm.read", "crm.write")
POLL_EVERY = 300


@attrs.frozen(kw_only=True)
class ShadowIntegration:
    agent: str
    client_id: str
    account: str
    static_secret: str = attrs.field(repr=False)


async def attach_control_plane(cast, nursery: trio.Nursery) -> ControlPlane:
    """Build the control plane for ``cast`` (before the network starts serving) and start the
    shadow agent's CRM polling."""
    world, runtime = cast.world, cast.runtime
    people = {p.id: (p.name, p.email) for p in world.people}
    teams = {p.team: (p.team, f"{p.team}@{world.domain}") for p in world.people if p.team}
    from actors.saas.crm import CrmActor

    providers = getattr(getattr(cast, "vault", None), "providers", {})
    crm = next((p for p in providers.values() if isinstance(p, CrmActor)), None)
    plane = await start_control_plane(runtime=runtime, nursery=nursery, people=people, teams=teams, crm=crm,
                                      crm_data=None if crm is not None else crm_seed(world),
                                      role_templates=world.role_templates)
    for spec in world.agents:
        plane.register_agent_key(spec.id, cast.agents[spec.id].signing_key)
    # every system holding the agent's grants, so phase 7 reviews all of them (token vault: Drive,
    # Gmail, Calendar, CRM on a user's behalf; the pricing AS) and deprovisioning reaches them all
    cross_domain = getattr(cast, "cross_domain", None)
    pricing_as = getattr(cross_domain, "pricing_as", None)
    plane.admin_tokens = govern_systems(
        plane, token_vault=getattr(getattr(cast, "vault", None), "vault", None), idp=getattr(cast, "idp", None),
        fga=getattr(cast, "fga", None) if world.fga is not None else None,
        authorization_servers=[(pricing_as, "pricing DB (pricing AS, ID-JAG)")] if pricing_as is not None else [])
    agent = world.agents[0].id
    static = runtime.entropy_for("sales-team").child("crm-static-key").token(32)
    plane.add_service_account(client_id=SHADOW_CLIENT, account=SHADOW_ACCOUNT, scopes=SHADOW_SCOPES, secret=static)
    client = plane.crm_client(client_id=SHADOW_CLIENT, secret=static, scope="crm.read")
    job = ApiPollingJob(runtime=runtime, agent=agent, client=client, every=POLL_EVERY, first_delay=60,
                        urls=[plane.crm.url(CRM_API + "/accounts?limit=20"), plane.crm.url(CRM_API + "/contacts?limit=20")])
    plane.jobs[agent] = job
    plane.jobs["shadow"] = ShadowIntegration(agent=agent, client_id=SHADOW_CLIENT, account=SHADOW_ACCOUNT,
                                             static_secret=static)
    nursery.start_soon(job.run)
    return plane
