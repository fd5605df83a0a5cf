"""JIT elevation at the governance service (SPEC capability 10: "JIT elevation with automatic
expiry"): a time-bound entitlement requested with a justification, checked against the agent's
role template (``protocols.role_templates``), granted in the target system **with an expiry that
system enforces itself** (the database's ``valid_until`` on the grant), and audited.

Nobody has to act at the expiry: the system stops honouring the grant on its own. The governance
scheduler only looks afterwards — it asks the system whether the grant is gone and records
``access.elevation_expired`` with what it found, so the audit trail shows the whole life of the
elevation (requested, granted, used, lapsed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from actors.governance_connectors import ConnectorError
from protocols.governance import Elevation, ElevationRefused, elevate
from protocols.oauth.errors import InvalidRequest, TemporarilyUnavailable

if TYPE_CHECKING:
    from actors.governance import GovernanceActor

MAX_MINUTES = 24 * 60


@attrs.define(eq=False)
class ElevationDesk:
    governance: GovernanceActor
    elevations: dict[str, Elevation] = attrs.field(factory=dict)

    def next_due(self) -> float:
        pending = [e.expires_at for e in self.elevations.values() if not e.expired]
        return min(pending) if pending else float("inf")

    async def request(self, agent_id: str, body: Any) -> dict[str, Any]:
        gov = self.governance
        if not isinstance(body, dict):
            raise InvalidRequest("the body must be a JSON object")
        system, scope = body.get("system"), body.get("scope")
        reason, requested_by = body.get("reason", ""), body.get("requested_by", "")
        minutes = body.get("minutes")
        if not all(isinstance(v, str) for v in (system, scope, reason, requested_by)) or not system or not scope:
            raise InvalidRequest("system, scope, reason and requested_by are strings; system and scope are required")
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 < minutes <= MAX_MINUTES:
            raise InvalidRequest(f"minutes must be an integer from 1 to {MAX_MINUTES}")
        agent = await gov._agent(agent_id)
        template = gov.template_of(agent)
        now = gov.runtime.clock.now()
        try:
            if agent["lifecycleState"] != "active":
                raise ElevationRefused(f"agent {agent_id} is {agent['lifecycleState']}, not active")
            elevation = elevate(elevation_id=f"elev-{len(self.elevations) + 1:04d}-{agent_id}", agent=agent_id,
                                template=template, system=system, scope=scope, reason=reason, ttl=minutes * 60,
                                now=now, requested_by=requested_by)
            connector = gov._connector(system)
            if not hasattr(connector, "elevate"):
                raise ElevationRefused(f"{system} cannot grant for a limited time")
        except (ElevationRefused, InvalidRequest) as error:
            await gov.audit("access.elevation_refused", agent=agent_id, subject=requested_by or None, decision="deny",
                            reason=error.description, system=system, scope=scope,
                            template=template.name if template else None)
            raise
        try:
            account = await connector.elevate(gov._accounts(agent), scope=scope, expires_at=elevation.expires_at)
        except ConnectorError as error:
            raise TemporarilyUnavailable(str(error)) from None
        self.elevations[elevation.id] = elevation
        gov.changed()
        await gov.audit("access.elevation_granted", agent=agent_id, subject=requested_by or None, decision="grant",
                        reason=elevation.reason, elevation=elevation.id, system=system, scope=scope, account=account,
                        template=template.name if template else None, expires_at=elevation.expires_at,
                        minutes=minutes)
        return elevation.to_json()

    async def record_expiries(self, *, now: int) -> None:
        """Mark lapsed elevations and record whether their system still lists the grant."""
        gov = self.governance
        for elevation in [e for e in self.elevations.values() if not e.expired and e.expires_at <= now]:
            self.elevations[elevation.id] = attrs.evolve(elevation, expired=True)
            try:
                agent = await gov._agent(elevation.agent)
                held = await gov._connector(elevation.system).entitlements(gov._accounts(agent))
                still = any(elevation.scope in e.scopes for e in held)
            except (ConnectorError, InvalidRequest, TemporarilyUnavailable) as error:
                await gov.audit("access.elevation_expired", agent=elevation.agent, decision="expire",
                                reason=f"expired; the system could not be asked: {error}", elevation=elevation.id)
                continue
            await gov.audit("access.elevation_expired", agent=elevation.agent, decision="expire",
                            reason=("the system no longer grants it" if not still
                                    else "expired but the system still lists it"),
                            elevation=elevation.id, system=elevation.system, scope=elevation.scope,
                            still_granted=still)
