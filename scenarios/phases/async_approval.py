"""Phase 5 — Async approval with CIBA (SPEC.md), and the approval steps other scenarios reuse.

The agent's proposal for Acme Corp is 450 000 €, above the 100 000 € threshold of its approval
rule: it asks the enterprise IdP for Sarah's approval with a CIBA backchannel request (scopes
``email:send drive:write crm:update``, a binding message, RFC 9396 ``authorization_details``:
customer, amount, products, recipients, actions), identifying her with the ID token it holds for
her (``id_token_hint``). Her phone shows the request; she approves a few minutes later with her
device key. Meanwhile the agent is not blocked: it drafts the proposal document section by section
(its events interleave with the wait in the audit timeline). It then receives a short-lived token
carrying exactly the approved scopes and details, addressed to the action gateway. If she denies
or never answers, the phase fails and the agent tells her in one sentence what was not done and why
(``agent.reported``); it gets no token.
"""

from __future__ import annotations

import trio

from actors.approval_client import ApprovalOutcome
from actors.proposal_drafting import Draft, draft_proposal
from protocols.approval_policy import ApprovalVerdict, evaluate
from protocols.rar import summarise
from scenarios.phase_result import PhaseResult
from scenarios.sales_agent import SalesCast
from scenarios.world import PhaseSpec, Person
from scenarios.world_approvals import USER_APPROVER, ApprovalRuleSpec, ProposedAction

TIMELINE_EVENTS = ("agent.approval_requested", "approval.notified", "agent.draft_progressed", "approval.decided",
                   "ciba.approved", "ciba.denied", "ciba.expired", "agent.notified", "token.issued",
                   "agent.approval_granted", "agent.approval_denied", "agent.approval_expired")


class ApprovalSetupError(Exception):
    """The world cannot run this step (no proposed action, no rule...); the message says why."""


def proposed_action(cast: SalesCast, phase: PhaseSpec) -> tuple[ProposedAction, ApprovalRuleSpec | None]:
    actions = cast.world.approvals.actions_for(phase=phase.number, agent=phase.agent)
    if len(actions) != 1:
        raise ApprovalSetupError(f"the world proposes {len(actions)} actions for phase {phase.number} "
                                 f"by {phase.agent} (expected one [[proposed_actions]] entry)")
    action = actions[0]
    return action, cast.world.approvals.rule_for(agent=action.agent, detail_type=action.detail.type)


def approver_of(cast: SalesCast, rule: ApprovalRuleSpec, action: ProposedAction) -> tuple[Person, tuple[str, str]]:
    """Who must approve, and the CIBA hint naming them (§7.1): the ID token the agent holds for the
    user when the user approves their own request, the approver's e-mail otherwise."""
    world = cast.world
    if rule.approver == USER_APPROVER:
        person = world.person(action.user)
        delegation = next((d for d in cast.agents[action.agent].delegations.values() if d.email == person.email), None)
        if delegation is not None:
            return person, ("id_token_hint", delegation.id_token)
        return person, ("login_hint", person.email)
    person = world.person(rule.approver)
    return person, ("login_hint", person.email)


async def ask_for_approval(cast: SalesCast, *, action: ProposedAction, rule: ApprovalRuleSpec,
                           verdict: ApprovalVerdict) -> tuple[Person, ApprovalOutcome]:
    assert cast.approvals is not None
    approver, hint = approver_of(cast, rule, action)
    requester = cast.approvals.requesters[action.agent]
    outcome = await requester.request(
        on_behalf_of=cast.approvals.subjects[action.user], hint=hint, details=(action.detail,),
        scope=rule.rule.scopes, binding_message=action.binding_message,
        resource=cast.approvals.gates[rule.executor].resource, requested_expiry=rule.rule.request_expiry,
        why=verdict.reason)
    cast.approvals.outcomes[action.id] = outcome
    return approver, outcome


def refused_approval(cast: SalesCast, *, agent: str) -> str | None:
    """Why ``agent`` must not carry out the action it last asked approval for: that request ended
    without an approval (denied, expired, refused). ``None`` when it was approved or never asked —
    the hook for a later phase that performs the approved action by other means (phase 6)."""
    if cast.approvals is None:
        return None
    asked = [a for a in cast.world.approvals.actions if a.agent == agent and a.id in cast.approvals.outcomes]
    if not asked:
        return None
    last = max(asked, key=lambda a: cast.approvals.outcomes[a.id].requested_at)
    outcome = cast.approvals.outcomes[last.id]
    if outcome.approved:
        return None
    return f"the approval of {last.id} was not granted ({outcome.status}: {outcome.reason})"


def timeline(cast: SalesCast, *, since: str) -> str:
    """The phase's key audit events, in order (pending polls counted, not listed)."""
    entries = [e for e in cast.runtime.audit.store.entries() if e.time >= since]
    lines, pending = [], 0
    for entry in entries:
        if entry.event == "ciba.pending":
            pending += 1
        elif entry.event in TIMELINE_EVENTS and (entry.event != "token.issued" or "ciba" in str(entry.details)):
            if pending:
                lines.append(f"{pending} poll(s) pending")
                pending = 0
            lines.append(f"{entry.time[11:19]} {entry.actor} {entry.event}")
    return " → ".join(lines)


async def refusal_report(cast: SalesCast, *, action: ProposedAction, approver: Person, outcome: ApprovalOutcome,
                         rule: ApprovalRuleSpec) -> str:
    """Tell the user, in one sentence, that the action was not done and why (audited ``agent.reported``)."""
    assert cast.approvals is not None
    shown = summarise(action.detail)
    why = {"denied": f"{approver.name} refused it",
           "expired": f"{approver.name} did not answer within {rule.rule.request_expiry // 60} minutes",
           }.get(outcome.status, f"the approval could not be obtained ({outcome.reason})")
    reference = action.detail.identifier or action.id
    report = (f"{shown['request']} {reference} ({action.detail.party}, {shown['amount']}) was not carried out: {why}. "
              f"None of its actions ({shown['actions']}) was performed.")
    user = cast.world.person(action.user)
    agent = cast.agents[action.agent]
    await agent.audit("agent.reported", agent=agent.name, subject=cast.approvals.subjects[user.id], decision="deny",
                      reason=report, to=user.email, reference=reference, answer=outcome.status)
    return report


def failed(phase: PhaseSpec, why: str, **facts: object) -> PhaseResult:
    return PhaseResult(number=phase.number, name=phase.name, ok=False, outcome=why, facts=dict(facts))


async def phase_5_async_approval(cast: SalesCast, phase: PhaseSpec) -> PhaseResult:
    if cast.approvals is None:
        return failed(phase, "The cast has no approval components.")
    try:
        action, rule = proposed_action(cast, phase)
    except ApprovalSetupError as error:
        return failed(phase, f"Cannot run: {error}.")
    if rule is None:
        return failed(phase, f"Cannot run: {phase.agent} has no approval rule for {action.detail.type}.")
    started = cast.runtime.clock.iso()
    verdict = evaluate(rule.rule, action.detail)
    shown = summarise(action.detail)
    facts: dict[str, object] = {"proposal": f"{shown['customer']} — {shown['amount']}", "products": shown["products"],
                                "recipients": shown["recipients"], "actions": shown["actions"],
                                "policy": verdict.reason}
    if not verdict.required:
        return PhaseResult(number=phase.number, name=phase.name, ok=True, facts=facts,
                           outcome=f"No approval needed: {verdict.reason}.")
    agent = cast.agents[action.agent]
    user = cast.world.person(action.user)
    results: dict[str, object] = {}

    async def approval() -> None:
        results["approval"] = await ask_for_approval(cast, action=action, rule=rule, verdict=verdict)

    async def other_work() -> None:
        results["draft"] = await draft_proposal(agent=agent, detail=action.detail,
                                                on_behalf_of=cast.approvals.subjects[action.user], author=user.name)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(approval)
        nursery.start_soon(other_work)
    approver, outcome = results["approval"]  # type: ignore[misc]
    draft: Draft = results["draft"]  # type: ignore[assignment]
    facts.update({
        "approver": f"{approver.name} <{approver.email}>", "delivery mode": outcome.mode,
        "binding message": action.binding_message, "waited": f"{outcome.waited} s",
        "token requests": outcome.polls, "slow_down answers": outcome.slow_downs,
        "draft": f"{draft.name}, {len(draft.sections)} sections, sha256 {draft.sha256[:16]}",
        "timeline": timeline(cast, since=started),
    })
    if not outcome.approved:
        report = await refusal_report(cast, action=action, approver=approver, outcome=outcome, rule=rule)
        facts["agent's report"] = report
        return failed(phase, f"{approver.name} did not approve ({outcome.status}): {outcome.reason}; "
                             f"the proposal is not sent.", **facts)
    exact_scope = outcome.scope == rule.rule.scopes
    exact_details = outcome.authorization_details == (action.detail,)
    facts.update({"token scope": " ".join(outcome.scope), "token lifetime": f"{outcome.expires_in} s",
                  "token authorization_details match the approval": exact_details,
                  "token audience": rule.executor})
    ok = exact_scope and exact_details and (outcome.expires_in or 0) <= rule.rule.token_lifetime
    return PhaseResult(
        number=phase.number, name=phase.name, ok=ok, facts=facts,
        outcome=(f"{shown['amount']} is above the {rule.rule.threshold_text} threshold: {approver.name} approved in "
                 f"the authenticator app after {outcome.waited} s while {agent.display_name} kept drafting; it holds a "
                 f"{outcome.expires_in}-second token for exactly {' '.join(outcome.scope)} on this proposal."
                 if ok else "The token does not carry exactly what was approved."))
