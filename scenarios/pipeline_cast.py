"""The data-pipeline scenario's cast: a warehouse database, the control plane (registry,
privileged-credential vault, governance, discovery) and the pipeline agent's twice-daily batch,
which authenticates to the database with a password leased from the vault."""

from __future__ import annotations

from typing import Any

import attrs
import trio

from actors.runtime.context import Runtime
from actors.saas.database import DatabaseActor
from scenarios.control_plane import ControlPlane, start_control_plane
from scenarios.world import World

DATABASE = "warehouse-db"
ACCOUNT = "svc_pipeline"
QUERIES = ({"op": "select", "table": "orders", "limit": 100}, {"op": "insert", "table": "daily_totals",
                                                                "rows": [{"source": "orders"}]})


@attrs.define(eq=False)
class PipelineCast:
    world: World
    runtime: Runtime
    control: ControlPlane
    static_password: str = attrs.field(repr=False)
    extra: dict[str, Any] = attrs.field(factory=dict)


async def start_pipeline_cast(*, world: World, runtime: Runtime, nursery: trio.Nursery) -> PipelineCast:
    db = DatabaseActor(name=DATABASE, runtime=runtime, base_url=runtime.network.base_url_for(DATABASE),
                       tables={"orders": [{"id": n, "amount_eur": 100 + n} for n in range(300)], "daily_totals": [],
                               "staging_orders": []})
    people = {p.id: (p.name, p.email) for p in world.people}
    teams = {p.team: (p.team, f"{p.team}@{world.domain}") for p in world.people if p.team}
    plane = await start_control_plane(runtime=runtime, nursery=nursery, people=people, teams=teams, crm_data=None,
                                      databases={DATABASE: db}, role_templates=world.role_templates)
    static = runtime.entropy_for("data-team").child("db-static-password").token(18)
    db.create_user(ACCOUNT, password=static, privileges={"orders": {"select"}, "daily_totals": {"insert"}})
    for spec in world.agents:
        plane.register_agent_key(spec.id, runtime.new_signing_key(owner=spec.id, purpose="keys", alg=spec.signing_alg))
        plane.pam.jit_allowed = {spec.id: frozenset({f"{DATABASE}:insert:staging_orders"})}
    await nursery.start(runtime.network.serve)
    return PipelineCast(world=world, runtime=runtime, control=plane, static_password=static)
