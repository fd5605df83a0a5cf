"""The marketing-agent scenario (SPEC "Other scenarios": marketing agent lifecycle; capabilities 8,
10, 11): quarterly review finds the customer database no longer needed → revoked; campaign over →
deprovisioned, audit kept.

1. Registration: the agent is registered (owner Emma, type ``marketing-assistant``); its
   customer-database password and CRM client secret are vaulted and replaced (the static ones
   are refused); governance collects its grants from every system — database, CRM, privileged
   vault, token vault, FGA (and its sign-in identity at the IdP) — into the registry.
2. JIT elevation: a one-off segment needs last year's purchases: 30 minutes of ``SELECT`` on
   ``purchases``, requested with a justification and checked against the role template; the
   database serves it, then refuses it once the 30 minutes are over — nobody acted. A privilege
   the template does not offer just in time is refused.
3. Quarterly access review: the campaign opened by itself at the quarter; Emma reads the
   e-mailed list, certifies what the campaign still needs and revokes the customer database
   (table grant and vaulted password: segments now come from the CRM) — revoked in the database
   itself; she leaves the calendar undecided.
4. Reminder and deadline: a reminder went out after a week; at the deadline the undecided
   calendar grant was revoked at the token vault.
5. Deprovisioning: the spring campaign is over: every grant in every system is removed and every
   token the agent already holds ends with it (its CRM integration's token, Emma's IdP access
   token, the Gmail token the vault served — revoked at Google by RFC 7009): each system refuses
   them with ``401 invalid_token``; the agent is decommissioned, each system confirms nothing is
   left, and the whole history is still in the registry and the audit log.
"""

from __future__ import annotations

import trio

from actors.saas.database import basic
from protocols.http import HttpRequest
from protocols.oauth.errors import OAuthError
from scenarios.marketing_cast import AGENT_TYPE, CRM_ACCOUNT, CRM_CLIENT, DATABASE, DB_ACCOUNT, MarketingCast
from scenarios.marketing_checks import grants_left, last_day_tokens
from scenarios.phase_result import PhaseResult
from scenarios.phases.discovery_registration import collect_entitlements, vault_credential
from scenarios.phases.governance import answers_to_tokens, review_email, submit
from scenarios.world import PhaseSpec

POLICY = {"every_days": 90, "overlap_hours": 24, "lease_hours": 1}
DB_CREDENTIAL, CRM_CREDENTIAL = "marketing-db-password", "marketing-crm-secret"
SEGMENT = {"op": "select", "table": "customers", "limit": 50}
PURCHASES = {"op": "select", "table": "purchases", "limit": 200}


async def query(cast: MarketingCast, password: str, statement: dict, *, user: str = DB_ACCOUNT) -> int:
    response = await cast.runtime.network.send(HttpRequest.json_post(
        url=cast.database.url("/query"), payload=statement, headers={"authorization": basic(user, password)}))
    return response.status


async def agent_query(cast: MarketingCast, statement: dict) -> int:
    """The agent's own database call, with the password leased from the vault (or the refusal)."""
    try:
        password, _version = await cast.credentials().secret(DB_CREDENTIAL)
    except OAuthError as error:
        return error.status
    return await query(cast, password, statement)


async def elevation(cast: MarketingCast, body: dict) -> tuple[int, dict]:
    plane = cast.control
    response = await cast.runtime.network.send(HttpRequest.json_post(
        url=plane.governance.url(f"/agents/{cast.agent_id}/elevations"), payload=body,
        headers={"authorization": f"Bearer {plane.governance_token}"}))
    return response.status, response.json()


async def phase_1_register(cast: MarketingCast, phase: PhaseSpec) -> PhaseResult:
    plane, spec = cast.control, cast.world.agent(phase.agent)
    policy = cast.world.rotation_policy(spec.id, default=POLICY)  # [[credential_rotation]], else the default
    agent_type = spec.agent_type or AGENT_TYPE  # the world's [[agents]] agent_type, else the scenario's
    record = await plane.security.create({
        "id": spec.id, "displayName": spec.name, "lifecycleState": "registered", "owner": {"value": spec.owner},
        "purpose": spec.purpose, "accounts": [{"system": DATABASE, "value": DB_ACCOUNT},
                                              {"system": plane.crm.name, "value": CRM_ACCOUNT}],
        "metadata": {"agent_type": agent_type, "team": "marketing", "campaign": "spring-2025"}})
    await vault_credential(plane, credential_id=DB_CREDENTIAL, agent_id=spec.id, system=DATABASE, account=DB_ACCOUNT,
                           kind="database_password", secret=cast.static_db_password, policy=policy)
    await vault_credential(plane, credential_id=CRM_CREDENTIAL, agent_id=spec.id, system=plane.crm.name,
                           account=CRM_CLIENT, kind="api_key", secret=cast.static_crm_secret, policy=policy)
    static_db = await query(cast, cast.static_db_password, SEGMENT)
    segment = await agent_query(cast, SEGMENT)
    crm = cast.crm_client(cast.credentials().source(CRM_CREDENTIAL))
    crm_status = (await crm.send(HttpRequest.get(plane.crm.url("/crm/v1/accounts?limit=5")))).status
    entitlements = await collect_entitlements(plane, spec.id)
    record = await plane.security.replace(spec.id, lifecycleState="active")
    systems = sorted({e["system"] for e in entitlements})
    ok = static_db == 401 and segment == 200 and crm_status == 200 and record["lifecycleState"] == "active" \
        and len(systems) >= 5
    return PhaseResult(
        number=phase.number, name=phase.name, ok=ok,
        outcome=(f"{spec.id} registered (owner {record['owner']['display']}, type {agent_type}); its database "
                 f"password and CRM secret are vaulted (static password refused, HTTP {static_db}); governance "
                 f"found {len(entitlements)} grants in {len(systems)} systems."),
        facts={"systems": ", ".join(systems), "entitlements": len(entitlements),
               "grants": " | ".join(f"{e['system']}: {e['label']}" for e in entitlements),
               "segment query (vaulted password)": segment, "CRM call (vaulted secret)": crm_status,
               "static database password": static_db})


async def phase_2_jit(cast: MarketingCast, phase: PhaseSpec) -> PhaseResult:
    before = await agent_query(cast, PURCHASES)
    refused, refusal = await elevation(cast, {"system": DATABASE, "scope": "insert:customers", "minutes": 30,
                                              "reason": "import a partner list", "requested_by": phase.user})
    status, granted = await elevation(cast, {
        "system": DATABASE, "scope": "select:purchases", "minutes": 30, "requested_by": phase.user,
        "reason": "Mother's Day segment: customers by last year's spring purchases"})
    during = await agent_query(cast, PURCHASES)
    await trio.sleep(31 * 60)
    after = await agent_query(cast, PURCHASES)
    expired = [e for e in cast.runtime.audit.store.entries() if e.event == "access.elevation_expired"]
    ok = (before == 403 and refused == 403 and status == 201 and during == 200 and after == 403
          and bool(expired) and expired[-1].details.get("still_granted") is False)
    return PhaseResult(
        number=phase.number, name=phase.name, ok=ok,
        outcome=(f"{phase.user} asked for 30 minutes of SELECT on purchases with a justification: granted "
                 f"({granted.get('id')}); the agent's segment query ran (HTTP {during}) and 31 minutes later the "
                 f"database refused it by itself (HTTP {after}). INSERT on customers was refused "
                 f"({refusal.get('error', '')})."),
        facts={"before": before, "during": during, "after expiry": after, "refused outside template": refused,
               "justification": granted.get("reason", ""), "expires_at": granted.get("expires_at", "")})


async def phase_3_review(cast: MarketingCast, phase: PhaseSpec) -> PhaseResult:
    plane, spec = cast.control, cast.world.agent(phase.agent)
    campaign = next((c for c in plane.governance.campaigns.values() if c.agent == spec.id), None)
    if campaign is None:
        return PhaseResult(number=phase.number, name=phase.name, ok=False, outcome="No campaign was opened.",
                           facts={})
    mail, token = await review_email(plane, spec.owner, campaign.id)
    last_password, _version = await cast.credentials().secret(DB_CREDENTIAL)  # what the agent holds now
    in_mail = sum(1 for i in campaign.items if f"{i.entitlement.label or i.entitlement.resource} "
                  f"[{i.entitlement.system}]" in mail["body"])
    decisions: dict[str, tuple[int, str]] = {}
    pending = []
    for item in campaign.items:
        e = item.entitlement
        if e.system == DATABASE or (e.kind == "credential" and e.resource.startswith(DATABASE + "/")):
            decision, comment = "revoke", "no longer needed: spring segments now come from the CRM"
        elif e.system == "token-vault" and e.grant == "google-calendar":
            pending.append(e.id)  # Emma does not get to it
            continue
        else:
            decision, comment = "certify", "still needed for the spring campaign"
        status, _body = await submit(plane, campaign_id=campaign.id, token=token, entitlement=e.id,
                                     decision=decision, comment=comment)
        decisions[e.id] = (status, decision)
    after = await agent_query(cast, SEGMENT)
    direct = await query(cast, last_password, SEGMENT)
    left = await grants_left(cast)
    revoked = [k for k, (_s, d) in decisions.items() if d == "revoke"]
    opened = next(e for e in cast.runtime.audit.store.entries() if e.event == "certification.campaign_opened"
                  and e.details.get("campaign") == campaign.id)
    ok = (all(s == 200 for s, _d in decisions.values()) and len(revoked) == 2 and after in (401, 403)
          and direct == 401
          and not left[DATABASE] and len(pending) == 1 and in_mail == len(campaign.items))
    return PhaseResult(
        number=phase.number, name=phase.name, ok=ok,
        outcome=(f"Campaign {campaign.id} (opened by the quarterly schedule) e-mailed {spec.owner} "
                 f"{len(campaign.items)} entitlements; she certified {len(decisions) - len(revoked)} and revoked "
                 f"the customer database ({len(revoked)} grants), which the database itself no longer has: it refuses "
                 f"the agent's query (HTTP {after}) and its last password (HTTP {direct}). One item is left "
                 "undecided."),
        facts={"campaign": campaign.id, "e-mail": mail["subject"], "items": len(campaign.items),
               "items listed in the e-mail": in_mail,
               "certified": len(decisions) - len(revoked), "revoked": ", ".join(revoked),
               "undecided": ", ".join(pending), "customer-db grants left": len(left[DATABASE]),
               "agent query after revocation": after, "database answer to the agent's last password": direct,
               "role template": opened.details.get("template") or "none",
               "outside the template": ", ".join(opened.details.get("outside_template") or []) or "nothing"})


async def phase_4_deadline(cast: MarketingCast, phase: PhaseSpec) -> PhaseResult:
    plane, spec = cast.control, cast.world.agent(phase.agent)
    campaign = next(c for c in plane.governance.campaigns.values() if c.agent == spec.id)
    entries = [e for e in cast.runtime.audit.store.entries() if e.details.get("campaign") == campaign.id]
    reminders = [e for e in entries if e.event == "certification.reminder_sent"]
    by_deadline = [i for i in campaign.items if i.decided_by == "deadline"]
    left = await grants_left(cast)
    calendar_left = [g for g in left["token-vault"] if "google-calendar" in g]
    ok = (campaign.closed_at is not None and len(reminders) == 1 and len(by_deadline) == 1
          and not calendar_left and bool(left["token-vault"]))
    return PhaseResult(
        number=phase.number, name=phase.name, ok=ok,
        outcome=(f"A reminder went to {spec.owner} a week in; at the deadline the campaign closed and "
                 f"{len(by_deadline)} undecided entitlement(s) were revoked "
                 f"({', '.join(i.entitlement.id for i in by_deadline)})."),
        facts={"reminders": len(reminders), "revoked at the deadline": ", ".join(i.entitlement.id for i in by_deadline),
               "token-vault grants left": ", ".join(left["token-vault"])})


async def phase_5_deprovision(cast: MarketingCast, phase: PhaseSpec) -> PhaseResult:
    plane, spec = cast.control, cast.world.agent(phase.agent)
    # the agent's last work: it holds live tokens at the CRM, the IdP and Google (via the token vault)
    tokens = await last_day_tokens(cast, user=phase.user, crm_credential=CRM_CREDENTIAL)
    before = await answers_to_tokens(cast, tokens)
    response = await cast.runtime.network.send(HttpRequest(
        method="POST", url=plane.governance.url(f"/agents/{spec.id}/deprovision"),
        headers={"authorization": f"Bearer {plane.governance_token}"}))
    result = response.json()
    left = await grants_left(cast)
    record = await plane.security.get(spec.id)
    history = await plane.security.history(spec.id)
    trail = [e for e in cast.runtime.audit.store.entries() if e.agent in (spec.id, DB_ACCOUNT, CRM_CLIENT)]
    try:  # the agent tries its CRM integration once more with what the vault gives it
        crm_status = (await cast.crm_client(cast.credentials().source(CRM_CREDENTIAL)).send(
            HttpRequest.get(plane.crm.url("/crm/v1/accounts?limit=5")))).status
    except OAuthError as error:
        crm_status = error.status
    db_status = await agent_query(cast, SEGMENT)
    after = await answers_to_tokens(cast, tokens)  # the very tokens it held a moment ago, at each system itself
    ended = [e for e in cast.runtime.audit.store.entries() if e.event == "governance.tokens_revoked"
             and e.agent == spec.id and e.reason.startswith("deprovisioned")]
    revoked = ", ".join(f"{e.details['system']}: {e.details['tokens']}" for e in ended)
    ok = (response.status == 200 and not result["remaining"] and not result["failures"]
          and not any(left.values()) and record["lifecycleState"] == "decommissioned" and len(trail) > 20
          and crm_status >= 400 and db_status >= 400 and set(before.values()) == {"200"}
          and set(after.values()) == {"401 invalid_token"})
    return PhaseResult(
        number=phase.number, name=phase.name, ok=ok,
        outcome=(f"Deprovisioning removed {len(result['removed'])} grants and ended the agent's live tokens "
                 f"({revoked}) — each system now "
                 f"refuses the tokens it held a moment before; asked directly, "
                 f"{', '.join(sorted(left))} report nothing left for {spec.id}, now decommissioned; its "
                 f"{len(history)} registry versions and {len(trail)} audit entries are kept."),
        facts={"removed": len(result["removed"]), "systems asked": ", ".join(sorted(left)),
               "grants left": sum(len(v) for v in left.values()), "lifecycle": record["lifecycleState"],
               "registry versions": len(history), "audit entries for the agent": len(trail),
               "first audit entry": trail[0].event if trail else "",
               "agent's CRM call afterwards": crm_status, "agent's database query afterwards": db_status,
               **{f"{name} token before": status for name, status in before.items()},
               **{f"{name} token after": status for name, status in after.items()},
               "tokens revoked": "; ".join(f"{e.details['system']}: {e.details['tokens']} ({e.details['mechanism']})"
                                           for e in ended)})


MARKETING_PHASES = {1: phase_1_register, 2: phase_2_jit, 3: phase_3_review, 4: phase_4_deadline,
                    5: phase_5_deprovision}
