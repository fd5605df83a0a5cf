"""Phase 1 — Discovery & registration (SPEC.md, capabilities 8, 9, 11).

At 08:30, before Sarah's 09:00 sign-in, security runs a discovery scan. Discovery reads only the
CRM's own authentication and API logs: an integration user nobody registered has been pulling
accounts and contacts every five minutes with client-credentials tokens. It is flagged HIGH
(privileged access, no owner, no governance). Security records it in the agent registry as
discovered, registers it under the world's id with its owner and purpose, moves its CRM secret into
the vault with a rotation policy — replacing the static secret, which the CRM refuses from then
on — collects its entitlements into the registry and activates it. The agent keeps working: its
next polls use the vaulted secret.
"""

from __future__ import annotations

import trio

from actors.saas.crm import API as CRM_API
from protocols.http import HttpRequest
from protocols.oauth.errors import OAuthError
from scenarios.control_plane import ControlPlane
from scenarios.phase_result import PhaseResult
from scenarios.world import PhaseSpec

ROTATION = {"every_days": 90, "overlap_hours": 24, "lease_hours": 1}
"""The default; a world's ``[[credential_rotation]]`` for the agent replaces it."""


async def scan(plane: ControlPlane) -> list[dict]:
    response = await plane.runtime.network.send(HttpRequest(
        method="POST", url=plane.discovery.url("/scans"), headers={"authorization": f"Bearer {plane.discovery_token}"}))
    if response.status != 200:
        raise RuntimeError(f"discovery answered HTTP {response.status}")
    return response.json()["findings"]


async def register_discovered(plane: ControlPlane, *, finding: dict, agent_id: str, name: str, owner: str,
                              purpose: str, metadata: dict[str, str]) -> dict:
    """discovered → registered (owner, purpose) in the registry, from a discovery finding."""
    await plane.security.create({
        "id": agent_id, "displayName": name, "lifecycleState": "discovered",
        "externalId": f"{finding['system']}:{finding['account']}",
        "accounts": [{"system": finding["system"], "value": finding["account"]}],
        "metadata": {**metadata, "discovery_risk": finding["risk"], "discovery_score": str(finding["score"])}})
    return await plane.security.replace(agent_id, owner={"value": owner}, purpose=purpose,
                                        lifecycleState="registered")


async def vault_credential(plane: ControlPlane, *, credential_id: str, agent_id: str, system: str, account: str,
                           kind: str, secret: str, policy: dict) -> dict:
    response = await plane.runtime.network.send(HttpRequest.json_post(
        url=plane.pam.url("/credentials"), headers={"authorization": f"Bearer {plane.pam_token}"},
        payload={"id": credential_id, "agent": agent_id, "system": system, "account": account, "kind": kind,
                 "secret": secret, "replace_now": True, "policy": policy}))
    if response.status != 201:
        raise RuntimeError(f"the vault refused the credential: {response.json().get('error_description')}")
    return response.json()


async def collect_entitlements(plane: ControlPlane, agent_id: str) -> list[dict]:
    response = await plane.runtime.network.send(HttpRequest(
        method="POST", url=plane.governance.url(f"/agents/{agent_id}/entitlements"),
        headers={"authorization": f"Bearer {plane.governance_token}"}))
    if response.status != 200:
        raise RuntimeError(f"governance answered HTTP {response.status}")
    return response.json()["entitlements"]


async def phase_1_discovery_registration(cast, phase: PhaseSpec) -> PhaseResult:
    plane: ControlPlane = cast.control
    spec = cast.world.agent(phase.agent)
    rotation = cast.world.rotation_policy(spec.id, default=ROTATION)
    shadow = plane.jobs["shadow"]
    job = plane.jobs[spec.id]
    findings = await scan(plane)
    finding = next((f for f in findings if f["account"] == shadow.account), None)
    if finding is None:
        return PhaseResult(number=phase.number, name=phase.name, ok=False,
                           outcome="Discovery did not find the unregistered CRM integration.",
                           facts={"findings": len(findings)})
    calls_before = job.stats.calls
    await register_discovered(plane, finding=finding, agent_id=spec.id, name=spec.name, owner=spec.owner,
                              purpose=spec.purpose, metadata={"environment": "prod", "team": "sales",
                                                              "agent_type": spec.agent_type or "sales-assistant"})
    credential = await vault_credential(plane, credential_id=f"{spec.id}-crm", agent_id=spec.id,
                                        system=finding["system"], account=shadow.client_id, kind="api_key",
                                        secret=shadow.static_secret, policy=rotation)
    vaulted = plane.credentials_for(spec.id)
    job.client.secret = vaulted.source(credential["id"])
    job.client.invalidate()
    static_client = plane.crm_client(client_id=shadow.client_id, secret=shadow.static_secret, scope="crm.read")
    try:
        await static_client.access_token()
        old_key = "still accepted"
    except OAuthError as error:
        old_key = f"refused ({error.error})"
    entitlements = await collect_entitlements(plane, spec.id)
    record = await plane.security.replace(spec.id, lifecycleState="active")
    failed_before = job.stats.failed
    await trio.sleep(2 * 300)  # two more polls with the vaulted secret
    probe = await job.client.send(HttpRequest.get(plane.crm.url(CRM_API + "/me")))
    job.stop()  # the team's unattended polling loop is retired: the agent now reads the CRM on demand
    history = await plane.security.history(spec.id)
    ok = (finding["risk"] == "HIGH" and old_key.startswith("refused") and job.stats.failed == failed_before
          and probe.status == 200 and record["lifecycleState"] == "active")
    return PhaseResult(
        number=phase.number, name=phase.name, ok=ok,
        outcome=(f"Discovery flagged CRM integration user {finding['account']} as {finding['risk']} risk from the "
                 f"CRM's logs alone; security registered it as {spec.id} (owner {record['owner']['display']}), "
                 f"vaulted its CRM secret with a {rotation['every_days']}-day rotation and the old static key is "
                 f"{old_key}."),
        facts={
            "finding": f"{finding['system']}:{finding['account']}", "risk": finding["risk"], "score": finding["score"],
            "reasons": " | ".join(finding["reasons"]), "signals": ", ".join(s["code"] for s in finding["signals"]),
            "calls seen in the CRM log": finding["api_calls"], "polls before registration": calls_before,
            "registry id": record["id"], "owner": record["owner"]["display"], "purpose": record["purpose"],
            "lifecycle": " → ".join(c["after"] for h in history for c in h["changes"]
                                    if c["attribute"] == "lifecycleState"),
            "credential": f"{credential['id']} v{credential['version']} ({credential['fingerprint']})",
            "old static key": old_key, "entitlements": ", ".join(e["label"] for e in entitlements),
            "agent polls failed": job.stats.failed,
            "polling loop": "retired after registration (the agent reads the CRM on demand)",
        })
