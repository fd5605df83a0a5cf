"""How security operations attach to a cast built on the control plane (both the sales-agent and
the customer-service scenarios): which systems are protected, what an agent's accounts are, how it
is suspended, which credential is revoked, who is told, and what its routine reads.

- Authorization servers with a GTR endpoint: the enterprise IdP and the CRM (plus ``extra``).
- SSF receivers: the CRM (same revocation on ``session-revoked``), the privileged-credential vault
  (the agent can no longer lease secrets) and every ``extra`` system.
- Suspension: the registry (lifecycle ``active`` → ``suspended``) through the security team's
  SCIM client. Credential: the agent's vaulted CRM secret is revoked at the privileged vault
  (which disables the integration at the CRM) — CAEP ``credential-change``, ``api-secret``,
  ``revoke``. People told: the agent's owner and whoever the world's phases have it work for.
- Routine: the ``[routine]`` agent's daily CRM lookups through its vaulted-secret client; a
  polling job the agent ran before it was governed stops when the routine starts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import trio

from actors.agent import AgentActor
from actors.agent_routine import DailyRoutine
from actors.incident_response import CredentialRotation
from actors.runtime.context import Runtime
from actors.service_client import ClientCredentialsClient
from actors.universal_logout import oauth_server_revocation, oidc_provider_revocation, privileged_vault_suspension
from protocols.http import HttpRequest
from scenarios.control_plane import ControlPlane
from scenarios.security_cast import ProtectedSystem, SecurityOps, install_security
from scenarios.world import World


@attrs.frozen(kw_only=True)
class SecuredAgent:
    """An agent as security operations see it: its accounts at the CRM, its vaulted credential and
    (once onboarded) its CRM client."""

    agent: AgentActor
    crm_client_id: str
    crm_account: str
    credential_id: str | None = None
    client: Callable[[], ClientCredentialsClient | None] = attrs.field(default=lambda: None, eq=False)
    extra_accounts: tuple[str, ...] = ()


def _people(world: World, agent_id: str) -> list[str]:
    spec = world.agent(agent_id)
    users = [world.person(spec.owner).email] + [world.person(p.user).email for p in world.phases if p.agent == agent_id]
    return list(dict.fromkeys(users))


async def install_platform_security(*, world: World, runtime: Runtime, nursery: trio.Nursery, idp: Any,
                                    plane: ControlPlane, agents: Mapping[str, SecuredAgent], crm_urls: Sequence[str],
                                    extra: Sequence[ProtectedSystem] = ()) -> SecurityOps:
    assert world.security is not None
    settings = world.security

    async def suspend(agent: str, reason: str) -> Mapping[str, Any]:
        record = await plane.security.replace(agent, lifecycleState="suspended")
        return {"lifecycle": record["lifecycleState"], "registry_version": record.get("meta", {}).get("version")}

    def revoke_credential(credential_id: str):
        async def rotate(agent: str) -> Mapping[str, Any]:
            response = await runtime.network.send(HttpRequest(
                method="POST", url=plane.pam.url(f"/credentials/{credential_id}/revoke"),
                headers={"authorization": f"Bearer {plane.pam_token}"}))
            if response.status != 200:
                raise RuntimeError(f"the privileged vault answered HTTP {response.status}")
            body = response.json()
            return {"credential_id": credential_id, "revoked": body["revoked"], "system": body["system"]}
        return rotate

    rotations = {agent_id: [CredentialRotation(name=secured.credential_id, credential_type="api-secret",
                                               change_type="revoke", rotate=revoke_credential(secured.credential_id))]
                 for agent_id, secured in agents.items() if secured.credential_id}

    async def routine() -> DailyRoutine | None:
        spec = settings.routine
        secured = agents.get(spec.agent) if spec is not None else None
        client = secured.client() if secured is not None else None
        if spec is None or client is None:
            return None
        polling = plane.jobs.get(spec.agent)
        if polling is not None and hasattr(polling, "stop"):
            polling.stop()  # the governed agent reads what its tasks need instead of polling every record
        return DailyRoutine(runtime=runtime, agent=spec.agent, send=client.send, urls=list(crm_urls),
                            start=runtime.clock.now(), reads_per_day=spec.reads_per_day, hours=spec.hours)

    systems = [ProtectedSystem(host=idp, revoke=oidc_provider_revocation(idp), receiver=False),
               ProtectedSystem(host=plane.crm, revoke=oauth_server_revocation(plane.crm)),
               ProtectedSystem(host=plane.pam, action=privileged_vault_suspension(plane.pam)), *extra]
    return await install_security(
        runtime=runtime, nursery=nursery, settings=settings, identity_issuer=idp.base_url, systems=systems,
        agents={a: (s.crm_client_id, s.crm_account, *s.extra_accounts) for a, s in agents.items()},
        agent_names={spec.id: spec.name for spec in world.agents},
        people={a: _people(world, a) for a in agents}, mail=plane.mail, suspend=suspend, rotations=rotations,
        routine=routine if settings.routine is not None else None)
