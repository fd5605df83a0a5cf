"""Phase 5 of the sales-agent scenario (async approval with CIBA + RAR) over both transports, and the
approval phases against a small cast: denial and silence are reported as refusals, nothing runs."""

import json
import re

import attrs
import pytest

from actors.runtime.network import Transport
from protocols import rar
from scenarios.phases.multi_system_execution import phase_6_multi_system_execution
from scenarios.phases.async_approval import phase_5_async_approval, refused_approval
from scenarios.phases.procurement import phase_purchase
from scenarios.world import WorldError, load_world, parse_world
from scenarios.library import SCENARIOS
from tests.actors.ciba_helpers import ACTION, AGENT, WORLD, mini_cast, make_world

SCOPES = "email:send drive:write crm:update"


def entries(result):
    return [json.loads(line) for line in (result.out_dir / "audit.jsonl").read_text().splitlines()]


def phase_5(result):
    return next(p for p in result.phases if p.number == 5)


def window(result):
    """The phase 5 entries, from the agent's request to the agent receiving its token."""
    lines = entries(result)
    start = next(i for i, e in enumerate(lines) if e["event"] == "agent.approval_requested")
    end = next(i for i, e in enumerate(lines) if e["event"] == "agent.approval_granted")
    return lines[start:end + 1]


@pytest.mark.parametrize("which", ["channel_run", "http_run"])
def test_phase_5_gets_sarahs_approval_for_exactly_the_proposal(which, request):
    result = request.getfixturevalue(which)
    phase = phase_5(result)
    assert phase.ok, phase.outcome
    facts = phase.facts
    assert facts["proposal"] == "Acme Corp — 450 000.00 EUR"
    assert facts["policy"] == "450 000.00 EUR is above the 100 000.00 EUR threshold"
    assert facts["approver"] == "Sarah Johnson <sarah.johnson@acmecorp.example>"
    assert facts["token scope"] == SCOPES and facts["token lifetime"] == "300 s"
    assert facts["token authorization_details match the approval"] is True
    assert facts["delivery mode"] == "poll" and facts["waited"] == "270 s"


@pytest.mark.parametrize("which", ["channel_run", "http_run"])
def test_the_audit_log_names_approver_time_details_and_token(which, request):
    lines = window(request.getfixturevalue(which))
    by_event = {}
    for entry in lines:
        by_event.setdefault(entry["event"], []).append(entry)
    (requested,) = by_event["ciba.requested"]
    assert requested["details"]["hint"] == "id_token_hint"            # the agent named Sarah by her ID token
    (approved,) = by_event["ciba.approved"]
    assert approved["time"] == "2025-01-06T09:34:00.001Z"
    assert approved["details"]["approver"] == "Sarah Johnson" and approved["subject"].startswith("google-oauth2|")
    detail = approved["details"]["authorization_details"][0]
    assert (detail["customer"], detail["amount"], detail["currency"]) == ("Acme Corp", "450000.00", "EUR")
    assert detail["recipients"] == ["julie.martinez@acme-customer.example", "robert.chen@acme-customer.example"]
    (issued,) = [e for e in by_event["token.issued"] if e["actor"] == "acme-idp"]
    assert issued["details"]["scope"] == SCOPES and issued["details"]["authorization_details"] == [detail]
    assert issued["details"]["expires_in"] == 300 and issued["details"]["jti"]
    (shown,) = by_event["approval.notified"]
    assert {"customer", "amount", "products", "recipients", "actions"} <= set(shown["details"]["shown"][0])


def test_the_agent_keeps_working_while_it_waits(channel_run):
    """Drafting events interleave with the wait: some before Sarah answers, polls in between."""
    lines = window(channel_run)
    events = [e["event"] for e in lines]
    answered = events.index("ciba.approved")
    assert events[:answered].count("agent.draft_progressed") >= 2
    assert events[:answered].count("ciba.pending") >= 5
    timeline = phase_5(channel_run).facts["timeline"]
    assert timeline.index("agent.draft_progressed") < timeline.index("ciba.approved")
    # ... and the rendered report shows it: the phase's timeline fact and its audit-trail narrative
    report = json.loads((channel_run.out_dir / "report.json").read_text())
    (section,) = [p for p in report["phases"] if p["number"] == 5]
    shown = section["facts"]["timeline"]
    assert shown == timeline
    steps = shown.split(" → ")
    drafted = [i for i, step in enumerate(steps) if step.endswith("agent.draft_progressed")]
    assert drafted[0] < steps.index(next(s for s in steps if s.endswith("ciba.approved"))) < drafted[-1]
    markdown = (channel_run.out_dir / "report.md").read_text()
    assert "while the approval is pending" in markdown


BAD_WORLDS = [
    (("delay = 240", "delay = 0"), "approvers[0].delay"),
    (('approver = "sarah"', 'approver = "nobody"'), "approval_rules[0].approver"),
    (('delivery_mode = "poll"', 'delivery_mode = "carrier-pigeon"'), "approval_rules[0].delivery_mode"),
    (('amount = "450000.00"', 'amount = "lots"'), "proposed_actions[0].detail"),
    (('channels = ["mobile", "email"]', 'channels = ["email"]'), "approvers[0].channels"),
    (("token_lifetime = 300", "token_lifetime = 86400"), "approval_rules[0]"),
    (('user = "sarah"\ndetail', 'user = "sarah"\nbinding_message = "a\\u0007b"\ndetail'), "proposed_actions[0].binding_message"),
]


def test_world_sections_parse():
    world = load_world(SCENARIOS["sales-agent"].world_file)
    (rule,) = world.approvals.rules
    assert str(rule.rule.threshold) == "100000.00" and rule.rule.scopes == tuple(SCOPES.split())
    procurement = load_world(SCENARIOS["procurement"].world_file)
    assert procurement.approvals.rules[0].rule.threshold < rule.rule.threshold
    assert load_world(SCENARIOS["procurement"].world_file).approvals.approver("maria").answers["PO-2025-0042"].decision == "deny"


@pytest.mark.parametrize("change, where", BAD_WORLDS, ids=[b[1] + ":" + b[0][1][:20] for b in BAD_WORLDS])
def test_bad_approval_sections_are_one_line_world_errors(change, where):
    source = (WORLD.replace("MODE", "poll") + ACTION.format(id="a", phase=1))
    assert change[0] in source
    with pytest.raises(WorldError) as caught:
        parse_world(source.replace(*change), source="ciba-test.toml")
    message = str(caught.value)
    assert re.match(rf"ciba-test\.toml(:\d+)?: {re.escape(where)}", message) and "\n" not in message


def spec(cast, number):
    return next(p for p in cast.world.phases if p.number == number)


@pytest.mark.parametrize("transport", list(Transport), ids=lambda t: t.value)
async def test_phase_5_reports_a_clear_refusal_when_denied(transport, autojump_clock):
    async with mini_cast(transport, make_world("push", actions=("deny-me", "ignore-me"))) as cast:
        denied = await phase_5_async_approval(cast, spec(cast, 1))
        assert not denied.ok and "did not approve (denied)" in denied.outcome and "not sent" in denied.outcome
        silent = await phase_5_async_approval(cast, spec(cast, 2))
        assert not silent.ok and "(expired)" in silent.outcome
        assert cast.gate.executed == [] and "token scope" not in denied.facts
        assert cast.audit("action.executed") == [] and cast.audit("agent.approval_granted") == []
        # the agent tells Sarah, in one sentence each, what was not done and why
        reports = cast.audit("agent.reported")
        assert [(r.details["answer"], r.details["to"], r.decision) for r in reports] == \
            [("denied", "sarah.johnson@acmecorp.example", "deny"), ("expired", "sarah.johnson@acmecorp.example", "deny")]
        assert reports[0].reason == denied.facts["agent's report"] == (
            "Sales proposal deny-me (Acme Corp, 450 000.00 EUR) was not carried out: Sarah Johnson refused it. "
            "None of its actions (send by e-mail, save to Drive, update the CRM) was performed.")
        assert "Sarah Johnson did not answer within 15 minutes" in reports[1].reason
        assert refused_approval(cast, agent=AGENT) == \
            "the approval of ignore-me was not granted (expired: nobody answered before the request expired)"
        # phase 6 then refuses to carry the proposal out by other means
        executed = await phase_6_multi_system_execution(cast, spec(cast, 2))
        assert not executed.ok and executed.outcome == (
            "Not executed: the approval of ignore-me was not granted "
            "(expired: nobody answered before the request expired).")


async def test_a_granted_approval_clears_the_way(autojump_clock):
    async with mini_cast(Transport.CHANNEL, make_world("poll", actions=("approve-me",))) as cast:
        assert refused_approval(cast, agent=AGENT) is None                  # nothing asked yet
        assert (await phase_5_async_approval(cast, spec(cast, 1))).ok
        assert refused_approval(cast, agent=AGENT) is None
        assert cast.approvals.outcomes["approve-me"].approved


async def test_phase_5_asks_nobody_below_the_threshold(autojump_clock):
    """The rule comes from the world file: 100 000.00 EUR exactly is within it, no CIBA request is made."""
    world = make_world("poll", actions=("small",))
    small = world.approvals.actions[0]
    world = attrs.evolve(world, approvals=attrs.evolve(world.approvals, actions=(attrs.evolve(
        small, detail=rar.parse_detail({**small.detail.to_json(), "amount": "100000.00"})),)))
    async with mini_cast(Transport.CHANNEL, world) as cast:
        result = await phase_5_async_approval(cast, spec(cast, 1))
        assert result.ok and result.outcome == "No approval needed: 100 000.00 EUR is within the 100 000.00 EUR threshold."
        assert cast.audit("ciba.requested") == [] and cast.approvals.apps["sarah"].shown == []


PURCHASE = """
[[approval_rules]]
agent = "sales-agent-prod-001"
type = "purchase_approval"
above = "1000.00"
currency = "EUR"
approver = "sarah"
scopes = ["purchase:order"]
delivery_mode = "MODE"
executor = "purchasing"
token_lifetime = 120
request_expiry = 600
poll_interval = 10
"""
ORDERS = """
[[proposed_actions]]
id = "{id}"
phase = {phase}
agent = "sales-agent-prod-001"
user = "john"
detail = {{ type = "purchase_approval", vendor = "Contoso", amount = "5000.00", currency = "EUR", products = ["10 licences"], recipients = ["john.smith@acmecorp.example"], actions = ["place_order"] }}
"""


@pytest.mark.parametrize("transport", list(Transport), ids=lambda t: t.value)
async def test_purchases_are_ordered_only_when_approved(transport, autojump_clock):
    extra = PURCHASE.replace("MODE", "ping") + "".join(ORDERS.format(id=i, phase=n) for n, i in
                                                         ((4, "approve-me"), (5, "deny-me"), (6, "ignore-me")))
    world = make_world("ping", actions=(), extra=extra + "".join(
        f'\n[[phases]]\nnumber = {n}\nname = "p{n}"\nat = "2025-01-06T09:30:00Z"\nuser = "john"\n'
        f'agent = "sales-agent-prod-001"\n' for n in (4, 5, 6)))
    async with mini_cast(transport, world) as cast:
        gate = cast.approvals.gates["purchasing"]
        approved = await phase_purchase(cast, spec(cast, 4))
        assert approved.ok and approved.facts["orders placed"] == 1 and approved.facts["token scope"] == "purchase:order"
        denied = await phase_purchase(cast, spec(cast, 5))
        assert denied.ok and denied.facts["orders placed"] == 0
        assert "was not placed: Sarah Johnson refused the purchase. Nothing was ordered." in denied.outcome
        silent = await phase_purchase(cast, spec(cast, 6))
        assert silent.ok and "did not answer within 10 minutes" in silent.outcome
        assert [e.reference for e in gate.executed] == ["approve-me"]
        reports = [e for e in cast.audit("agent.reported")]
        assert [r.details["answer"] for r in reports] == ["denied", "expired"]
