"""The procurement scenario (SPEC "Other scenarios"): a procurement agent buys software licences
for an employee; purchases above the (low) threshold of its rule need the purchasing manager's
approval through CIBA, with the order in RFC 9396 ``purchase_approval`` details.

Every phase is one purchase (the world's ``[[proposed_actions]]`` for that phase): the agent asks
the purchasing manager (``login_hint``: her e-mail) and, per the answer, places the order at the
purchasing system with the approval token, or does nothing and tells the requester why. A phase
meets the scenario when what happened is consistent with the answer: approved ⇒ ordered exactly
once with a token bound to that order; denied or unanswered ⇒ nothing ordered and a clear refusal.
"""

from __future__ import annotations

from protocols.approval_policy import evaluate
from protocols.rar import summarise
from scenarios.phase_result import PhaseResult
from scenarios.phases.async_approval import ApprovalSetupError, ask_for_approval, failed, proposed_action
from scenarios.sales_agent import SalesCast
from scenarios.world import PhaseSpec

ORDER_ACTION = "place_order"


async def phase_purchase(cast: SalesCast, phase: PhaseSpec) -> PhaseResult:
    if cast.approvals is None:
        return failed(phase, "The cast has no approval components.")
    try:
        action, rule = proposed_action(cast, phase)
    except ApprovalSetupError as error:
        return failed(phase, f"Cannot run: {error}.")
    if rule is None:
        return failed(phase, f"Cannot run: {phase.agent} has no approval rule for {action.detail.type}.")
    agent = cast.agents[action.agent]
    requester = cast.approvals.requesters[action.agent]
    gate = cast.approvals.gates[rule.executor]
    user = cast.world.person(action.user)
    shown = summarise(action.detail)
    reference = action.detail.identifier or action.id
    verdict = evaluate(rule.rule, action.detail)
    facts: dict[str, object] = {"order": reference, "vendor": shown["vendor"], "amount": shown["amount"],
                                "products": shown["products"], "requested by": user.name, "policy": verdict.reason}
    if not verdict.required:
        return failed(phase, f"Not an approval case: {verdict.reason}.", **facts)
    approver, outcome = await ask_for_approval(cast, action=action, rule=rule, verdict=verdict)
    facts.update({"approver": f"{approver.name} <{approver.email}>", "delivery mode": outcome.mode,
                  "answer": outcome.status, "waited": f"{outcome.waited} s",
                  "token requests": outcome.polls, "notifications": outcome.notifications})
    ordered = [e for e in gate.executed if e.reference == reference]
    if not outcome.approved:
        message = {"denied": f"{approver.name} refused the purchase",
                   "expired": f"{approver.name} did not answer within {rule.rule.request_expiry // 60} minutes"
                   }.get(outcome.status, f"the approval could not be obtained ({outcome.reason})")
        report = (f"Your purchase {reference} ({shown['amount']}, {shown['vendor']}) was not placed: {message}. "
                  f"Nothing was ordered.")
        await agent.audit("agent.reported", agent=agent.name, subject=cast.approvals.subjects[user.id],
                          decision="deny", reason=report, to=user.email, reference=reference, answer=outcome.status)
        ordered = [e for e in gate.executed if e.reference == reference]
        facts.update({"orders placed": len(ordered), "agent's report": report})
        return PhaseResult(number=phase.number, name=phase.name, ok=not ordered and outcome.status in ("denied", "expired"),
                           outcome=report, facts=facts)
    response = await requester.perform(gate=gate.actions_endpoint, outcome=outcome, detail=action.detail,
                                       action=ORDER_ACTION, on_behalf_of=cast.approvals.subjects[user.id])
    ordered = [e for e in gate.executed if e.reference == reference]
    receipt = response.json().get("receipt") if response.status == 201 else None
    facts.update({"token scope": " ".join(outcome.scope), "token lifetime": f"{outcome.expires_in} s",
                  "order receipt": receipt, "orders placed": len(ordered)})
    ok = response.status == 201 and len(ordered) == 1 and outcome.authorization_details == (action.detail,)
    return PhaseResult(
        number=phase.number, name=phase.name, ok=ok, facts=facts,
        outcome=(f"{shown['amount']} is above the {rule.rule.threshold_text} threshold: {approver.name} approved "
                 f"after {outcome.waited} s and the agent placed order {reference} with {shown['vendor']} "
                 f"(receipt {receipt}) using a token bound to exactly that order."
                 if ok else f"The approved order was not placed as approved (HTTP {response.status})."))


PROCUREMENT_PHASES = {1: phase_purchase, 2: phase_purchase, 3: phase_purchase}
