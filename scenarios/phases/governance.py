"""Phase 7 — Governance (SPEC.md, capability 10): the certification campaign.

Governance opens the agent's access review — the first of its quarterly schedule — collecting
every entitlement the systems report for the agent, and e-mails the owner the list with a signed
review link. John reads the e-mail in his mailbox, certifies each entitlement; every decision and
the campaign's closing are in the audit log. Someone else trying to decide is refused.
"""

from __future__ import annotations

import re

from actors.mail_relay import read_mailbox
from protocols.http import HttpRequest
from scenarios.control_plane import ControlPlane
from scenarios.phase_result import PhaseResult
from scenarios.world import PhaseSpec


async def open_campaign(plane: ControlPlane, agent_id: str) -> dict:
    response = await plane.runtime.network.send(HttpRequest.json_post(
        url=plane.governance.url("/campaigns"), payload={"agent": agent_id},
        headers={"authorization": f"Bearer {plane.governance_token}"}))
    if response.status != 201:
        raise RuntimeError(f"governance refused the campaign: {response.json().get('error_description')}")
    return response.json()


async def review_email(plane: ControlPlane, reviewer: str, campaign_id: str) -> tuple[dict, str]:
    """The reviewer's mail client: the review e-mail for ``campaign_id`` and its review token."""
    box = plane.mailboxes[reviewer]
    messages = await read_mailbox(plane.runtime.network, relay_url=plane.mail.base_url, address=box.address,
                                  password=box.password)
    mail = next(m for m in reversed(messages) if f"/campaigns/{campaign_id}" in m["body"])
    token = re.search(r"Review token: (\S+)", mail["body"]).group(1)  # type: ignore[union-attr]
    return mail, token


async def submit(plane: ControlPlane, *, campaign_id: str, token: str, entitlement: str, decision: str,
                 comment: str = "") -> tuple[int, dict]:
    response = await plane.runtime.network.send(HttpRequest.json_post(
        url=plane.governance.url(f"/campaigns/{campaign_id}/decisions"),
        payload={"entitlement": entitlement, "decision": decision, "comment": comment},
        headers={"authorization": f"Bearer {token}"}))
    return response.status, response.json()


async def phase_7_governance(cast, phase: PhaseSpec) -> PhaseResult:
    plane: ControlPlane = cast.control
    spec = cast.world.agent(phase.agent)
    owner = cast.world.person(spec.owner)
    campaign = await open_campaign(plane, spec.id)
    mail, token = await review_email(plane, spec.owner, campaign["id"])
    results = []
    for item in campaign["items"]:
        status, body = await submit(plane, campaign_id=campaign["id"], token=token, entitlement=item["id"],
                                    decision="certify", comment="still needed for proposal generation")
        results.append(status)
    final = plane.governance.campaigns[campaign["id"]]
    certified = [i for i in final.items if i.decision.value == "certified"]
    logged = [e for e in plane.runtime.audit.store.entries() if e.event == "certification.certified"
              and e.details.get("campaign") == campaign["id"]]
    opened = next(e for e in plane.runtime.audit.store.entries() if e.event == "certification.campaign_opened"
                  and e.details.get("campaign") == campaign["id"])
    ok = (all(s == 200 for s in results) and len(certified) == len(final.items) and final.closed_at is not None
          and len(logged) == len(final.items))
    return PhaseResult(
        number=phase.number, name=phase.name, ok=ok,
        outcome=(f"Campaign {campaign['id']} e-mailed {owner.name} the {len(final.items)} entitlements of "
                 f"{spec.id}; he certified {len(certified)}, each decision logged; next review in one quarter."),
        facts={"campaign": campaign["id"], "reviewer": owner.name, "e-mail": mail["subject"],
               "entitlements": " | ".join(f"{i.entitlement.label} [{' '.join(i.entitlement.scopes)}]"
                                          for i in final.items),
               "certified": len(certified), "audit entries": len(logged),
               "role template": opened.details.get("template") or "none",
               "outside the template": ", ".join(opened.details.get("outside_template") or []) or "nothing"})
