"""A replayed CIBA approval for a different amount (OpenID CIBA §10-11, RFC 9396 §9.1: the approval
token carries exactly the approved ``authorization_details``; ``protocols.approval_token``).

The agent's 450 000 € proposal for Acme Corp needs Sarah's approval (phase 5): she approves on her
phone and the agent receives a short-lived approval token addressed to the action gateway, which
sends the proposal e-mail once. A compromised agent then replays that token (1) for the same e-mail
with the amount raised to 4 500 000 € — refused, the details differ from what was approved
(``403 insufficient_scope``) — and (2) for the approved e-mail a second time — refused, the
approval covers one execution.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from protocols.approval_policy import evaluate
from protocols.http import HttpRequest
from protocols.rar import parse_detail
from scenarios.attacks.cast import Stage
from scenarios.attacks.common import measured
from scenarios.attacks.outcome import AttackOutcome
from scenarios.attacks.traditional_stage import TraditionalStage
from scenarios.phases.async_approval import ask_for_approval, proposed_action

ID = "ciba-approval-replay"
APPROVAL_PHASE, ACTION = 5, "send_email"


async def unified(st: Stage) -> AttackOutcome:
    await st.sign_in()
    cast = st.cast
    assert cast.approvals is not None
    phase = next(p for p in st.world.phases if p.number == APPROVAL_PHASE)
    action, rule = proposed_action(cast, phase)
    assert rule is not None
    _, outcome = await ask_for_approval(cast, action=action, rule=rule, verdict=evaluate(rule.rule, action.detail))
    if outcome.status != "approved" or outcome.access_token is None:
        raise RuntimeError(f"the approval was not granted ({outcome.status}: {outcome.reason})")
    gate = cast.approvals.gates[rule.executor]
    approved = action.detail.to_json()
    inflated = parse_detail({**approved, "amount": f"{Decimal(approved['amount']) * 10:.2f}"}).to_json()
    request = _action_request(gate.actions_endpoint, outcome.access_token, inflated)
    executed = _ok(await st.adversary.send("use the approval for 10x the amount", request))
    legit = await cast.runtime.network.send(_action_request(gate.actions_endpoint, outcome.access_token,
                                                            approved))  # the approved e-mail, once
    request = _action_request(gate.actions_endpoint, outcome.access_token, approved)
    executed += _ok(await st.adversary.send("replay the approval for the same e-mail", request))
    return measured(st, attack=ID, configuration="unified", records_exposed=0, unauthorised_actions=executed,
                    evidence=(f"approved execution by the agent: HTTP {legit.status}",
                              f"approved amount {approved['amount']} {approved.get('currency', '')}".rstrip()))

def _ok(response: Any) -> int:
    return int(200 <= response.status < 300)


def _action_request(url: str, token: str, detail: dict[str, Any]) -> HttpRequest:
    return HttpRequest.json_post(url=url, payload={"action": ACTION, "detail": detail},
                                 headers={"authorization": f"Bearer {token}"})


async def traditional(ts: TraditionalStage) -> AttackOutcome:
    """No approval step exists: the agent's CRM key books the inflated opportunity and the mail
    system sends the proposal at ten times the approved amount."""
    phase = next(p for p in ts.cast.world.phases if p.number == APPROVAL_PHASE)
    (action,) = ts.cast.world.approvals.actions_for(phase=APPROVAL_PHASE, agent=phase.agent)
    approved = action.detail.to_json()
    amount = int(Decimal(approved["amount"]) * 10)
    crm = ts.adversary("crm")
    booked = await crm.post("/api/opportunities", json={"customer": "acme-corp", "amount_eur": amount,
                                                        "stage": "Proposal"})
    sent = await ts.adversary("mail").post("/send", json={
        "from": ts.cast.world.person("sarah").email, "to": list(approved["recipients"]),
        "subject": "Acme Corp proposal", "body": f"Total: {amount} EUR"})
    executed = int(200 <= booked.status < 300) + int(200 <= sent.status < 300)
    return ts.measured(attack=ID, unauthorised_actions=executed)
