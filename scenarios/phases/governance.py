"""Phase 7 — Governance (SPEC.md, capability 10): the certification campaign.

Governance opens the agent's access review — the first of its quarterly schedule — collecting
every entitlement the systems report for the agent, and e-mails the owner the list with a signed
review link. John reads the e-mail in his mailbox and certifies each entitlement but one: the
calendar, which the agent no longer needs (the follow-up meeting is booked). Revoking it removes
the integration at the token vault *and* ends the calendar token the agent already holds — the
vault revokes it at Google (RFC 7009), which refuses it from that instant (``401 invalid_token``)
— while the agent's Drive token keeps working. Every decision, the revocation and the campaign's
closing are in the audit log. Someone else trying to decide is refused.
"""

from __future__ import annotations

import json
import re

from actors.mail_relay import read_mailbox
from protocols.http import HttpRequest
from protocols.oauth.errors import OAuthError
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


NO_LONGER_NEEDED = "google-calendar"
"""The token-vault integration the owner revokes in review (when the agent holds a live token for it)."""
PROBES = {NO_LONGER_NEEDED: (("calendar.freebusy",), "POST", "/calendar/v3/freeBusy"),
          "google-drive": (("drive.file",), "GET", "/drive/v3/files")}


async def held_tokens(cast, agent_id: str) -> dict[str, tuple[str, str, bytes]]:
    """The live Google tokens the token vault serves the agent for the user it worked for this
    morning (phase 6), each with a read-only call Google serves: integration → (method URL, token, body)."""
    from scenarios.phases.multi_system_execution import ensure_signed_in

    user = next((p.user for p in cast.world.phases if p.agent == agent_id and p.number == 6), None)
    tools = getattr(getattr(cast, "vault", None), "tools", {}).get(agent_id)
    google = getattr(cast.vault, "providers", {}).get("google-workspace") if tools is not None else None
    if user is None or google is None:
        return {}
    delegation = await ensure_signed_in(cast, user=user, agent=agent_id)
    window = json.dumps({"timeMin": "2025-01-13T00:00:00Z", "timeMax": "2025-01-18T00:00:00Z",
                         "items": [{"id": delegation.email}]}).encode()
    held = {}
    for integration, (scope, method, path) in PROBES.items():
        try:
            token = (await tools.vault.access_token(user=delegation.subject, integration=integration, scope=scope)).token
        except OAuthError:
            continue
        held[integration] = (f"{method} {google.url(path)}", token, window if method == "POST" else b"")
    return held


async def answers_to_tokens(cast, held: dict[str, tuple[str, str, bytes]]) -> dict[str, str]:
    """What each system itself answers to each held token (``name → ("METHOD url", token, body)``):
    ``200``, or the status and RFC 6750 ``error`` of the refusal."""
    seen = {}
    for name, (target, token, body) in held.items():
        method, url = target.split(" ", 1)
        headers = {"authorization": f"Bearer {token}", **({"content-type": "application/json"} if body else {})}
        response = await cast.runtime.network.send(HttpRequest(method=method, url=url, headers=headers, body=body))
        error = re.search(r'error="([^"]*)"', response.header("www-authenticate") or "")
        seen[name] = str(response.status) + (f" {error.group(1)}" if error else "")
    return seen


async def phase_7_governance(cast, phase: PhaseSpec) -> PhaseResult:
    plane: ControlPlane = cast.control
    spec = cast.world.agent(phase.agent)
    owner = cast.world.person(spec.owner)
    held = await held_tokens(cast, spec.id)
    before = await answers_to_tokens(cast, held)
    campaign = await open_campaign(plane, spec.id)
    mail, token = await review_email(plane, spec.owner, campaign["id"])
    results, revoked = [], []
    for item in campaign["items"]:
        if NO_LONGER_NEEDED in held and item["kind"] == "vault_integration" and item["grant"] == NO_LONGER_NEEDED:
            decision, comment = "revoke", "no longer needed: the follow-up meeting is booked"
            revoked.append(item["id"])
        else:
            decision, comment = "certify", "still needed for proposal generation"
        status, body = await submit(plane, campaign_id=campaign["id"], token=token, entitlement=item["id"],
                                    decision=decision, comment=comment)
        results.append(status)
    after = await answers_to_tokens(cast, held)
    final = plane.governance.campaigns[campaign["id"]]
    certified = [i for i in final.items if i.decision.value == "certified"]
    ended = [e for e in plane.runtime.audit.store.entries() if e.event == "governance.tokens_revoked"
             and e.details.get("entitlement") in revoked]
    logged = [e for e in plane.runtime.audit.store.entries() if e.event == "certification.certified"
              and e.details.get("campaign") == campaign["id"]]
    opened = next(e for e in plane.runtime.audit.store.entries() if e.event == "certification.campaign_opened"
                  and e.details.get("campaign") == campaign["id"])
    ended_at_google = not revoked or (after.get(NO_LONGER_NEEDED) == "401 invalid_token"
                                      and before.get(NO_LONGER_NEEDED) == "200" and bool(ended))
    others_work = all(status == "200" for name, status in after.items() if name != NO_LONGER_NEEDED or not revoked)
    ok = (all(s == 200 for s in results) and len(certified) + len(revoked) == len(final.items)
          and final.closed_at is not None and len(logged) == len(certified) and ended_at_google and others_work)
    tokens = "; ".join(f"{e.details['system']}: {e.details['tokens']} ({e.details['mechanism']})" for e in ended)
    return PhaseResult(
        number=phase.number, name=phase.name, ok=ok,
        outcome=(f"Campaign {campaign['id']} e-mailed {owner.name} the {len(final.items)} entitlements of "
                 f"{spec.id}; he certified {len(certified)}" + (
                     f" and revoked {len(revoked)} (the calendar): its live token was revoked at Google too "
                     f"(HTTP {after.get(NO_LONGER_NEEDED)}) while the Drive token still works "
                     f"(HTTP {after.get('google-drive')})" if revoked else "")
                 + "; each decision logged; next review in one quarter."),
        facts={"campaign": campaign["id"], "reviewer": owner.name, "e-mail": mail["subject"],
               "entitlements": " | ".join(f"{i.entitlement.label} [{' '.join(i.entitlement.scopes)}]"
                                          for i in final.items),
               "certified": len(certified), "revoked": ", ".join(revoked) or "nothing",
               **{f"{name} token before": status for name, status in before.items()},
               **{f"{name} token after": status for name, status in after.items()},
               "tokens revoked": tokens or "none", "audit entries": len(logged),
               "role template": opened.details.get("template") or "none",
               "outside the template": ", ".join(opened.details.get("outside_template") or []) or "nothing"})
