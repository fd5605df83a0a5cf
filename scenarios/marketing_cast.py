"""The marketing scenario's cast: the enterprise IdP, the FGA service, the token vault with the
CRM, Google Workspace and Slack, a customer database, and the control plane (registry,
privileged-credential vault, governance, mail) with a grant connector for every one of them.

Before registration the marketing agent already holds: a CRM integration (connected app
``marketing-automation-app``, integration user ``svc-marketing-automation``) and a customer-database
account (``svc_marketing``), both with static secrets the marketing team set up; its registration
at the IdP (its sign-in identity) and at the token vault (Gmail, Calendar, Slack on a marketer's
behalf) from the world file; two FGA relation tuples on the team's collections.
"""

from __future__ import annotations

from typing import Any

import attrs
import trio

from actors.credential_client import VaultCredentialClient
from actors.identity_providers import federate
from actors.runtime.context import Runtime
from actors.saas.crm import CrmActor
from actors.saas.database import DatabaseActor
from actors.service_client import ClientCredentialsClient
from protocols.governance import QUARTER
from scenarios.control_plane import ControlPlane, govern_systems, start_control_plane
from scenarios.sales_agent import SalesCast, build_cast
from scenarios.world import World

DATABASE = "customer-db"
DB_ACCOUNT = "svc_marketing"
CRM_CLIENT, CRM_ACCOUNT = "marketing-automation-app", "svc-marketing-automation"
AGENT_TYPE = "marketing-assistant"
TABLES = {
    "customers": [{"id": n, "segment": ("retail", "smb", "enterprise")[n % 3], "opt_in": n % 4 != 0}
                  for n in range(1, 121)],
    "purchases": [{"customer": n % 120 + 1, "month": f"2024-{n % 12 + 1:02d}", "amount_eur": 40 + n}
                  for n in range(400)],
}


@attrs.define(eq=False)
class MarketingCast:
    world: World
    runtime: Runtime
    base: SalesCast
    """The identity, FGA and token-vault members (built like the sales cast's)."""
    control: ControlPlane
    static_db_password: str = attrs.field(repr=False)
    static_crm_secret: str = attrs.field(repr=False)
    extra: dict[str, Any] = attrs.field(factory=dict)

    @property
    def agent_id(self) -> str:
        return self.world.agents[0].id

    @property
    def database(self) -> DatabaseActor:
        return self.control.databases[DATABASE]

    def credentials(self) -> VaultCredentialClient:
        """The agent's one client of the privileged vault (leases are cached in it)."""
        if "credentials" not in self.extra:
            self.extra["credentials"] = self.control.credentials_for(self.agent_id)
        return self.extra["credentials"]

    def crm_client(self, secret: Any) -> ClientCredentialsClient:
        return self.control.crm_client(client_id=CRM_CLIENT, secret=secret, scope="crm.read")


async def start_marketing_cast(*, world: World, runtime: Runtime, nursery: trio.Nursery) -> MarketingCast:
    base = build_cast(world=world, runtime=runtime)
    actors = [base.google, base.idp, *base.agents.values(), base.fga, *base.vault.actors()]
    for actor in actors:
        runtime.network.register(actor)
    for actor in [*actors, *base.browsers.values()]:
        await nursery.start(actor.run)
    db = DatabaseActor(name=DATABASE, runtime=runtime, base_url=runtime.network.base_url_for(DATABASE),
                       tables={name: list(rows) for name, rows in TABLES.items()})
    people = {p.id: (p.name, p.email) for p in world.people}
    teams = {p.team: (p.team, f"{p.team}@{world.domain}") for p in world.people if p.team}
    crm = next(p for p in base.vault.providers.values() if isinstance(p, CrmActor))
    plane = await start_control_plane(runtime=runtime, nursery=nursery, people=people, teams=teams, crm=crm,
                                      databases={DATABASE: db}, role_templates=world.role_templates)
    plane.governance.first_campaign_at = int(world.epoch.timestamp()) + QUARTER
    agent = world.agents[0]
    plane.register_agent_key(agent.id, base.agents[agent.id].signing_key)
    plane.admin_tokens = govern_systems(plane, token_vault=base.vault.vault, idp=base.idp, fga=base.fga)
    seeds = runtime.entropy_for("marketing-team")
    static_db = seeds.child("db-static-password").token(18)
    db.create_user(DB_ACCOUNT, password=static_db, privileges={"customers": {"select"}})
    static_crm = seeds.child("crm-static-secret").token(32)
    plane.add_service_account(client_id=CRM_CLIENT, account=CRM_ACCOUNT, scopes=("crm.read",), secret=static_crm)
    await nursery.start(runtime.network.serve)
    await federate(idp=base.idp, google=base.google, domain=world.domain)
    assert world.fga is not None, "the marketing world declares the agent's FGA relations"
    await base.fga.bootstrap(store_name=world.fga.store_name, model=world.fga.model, tuples=world.fga.tuples)
    return MarketingCast(world=world, runtime=runtime, base=base, control=plane, static_db_password=static_db,
                         static_crm_secret=static_crm)
