"""Phase 3 (context retrieval via MCP) over both transports: the context the agent assembled holds the
facts the proposal needs and provably none of the denied data; the audit log records every allow and
deny with its reason, on the user's and the agent's behalf."""

import json

import pytest

from actors.runtime.network import Transport
from scenarios.library import SCENARIOS
from scenarios.phases.context_retrieval import phase_3_context_retrieval
from scenarios.phases.user_authentication import phase_2_user_authentication
from scenarios.sales_agent import start_cast
from scenarios.world import load_world
from tests.actors.runtime.helpers import running_runtime

WORLD = load_world(SCENARIOS["sales-agent"].world_file)
PHASES = {p.number: p for p in WORLD.phases}
DENIED = {
    # URI the user may not read → a phrase that only its content contains
    "pricing://executive-discounts": "max_discount_pct",
    "crm://deals/globex-renewal/negotiation-notes": "Walk-away price",
    "finance://internal-costs": "margin_floor_pct",
    "crm://accounts/acme-corp/credit-risk": "Payment delays",
}


@pytest.fixture(params=list(Transport), ids=lambda t: t.value)
async def retrieved(request, autojump_clock):
    async with running_runtime(request.param) as (runtime, nursery, _log):
        cast = await start_cast(world=WORLD, runtime=runtime, nursery=nursery)
        await runtime.clock.sleep_until(PHASES[2].at.timestamp())
        assert (await phase_2_user_authentication(cast, PHASES[2])).ok
        await runtime.clock.sleep_until(PHASES[3].at.timestamp())
        result = await phase_3_context_retrieval(cast, PHASES[3])
        yield cast, result


async def test_context_holds_the_proposal_facts_and_none_of_the_denied_data(retrieved, autojump_clock):
    cast, result = retrieved
    assert result.ok, result.outcome
    agent = cast.agents["sales-agent-prod-001"]
    (context,) = agent.contexts.values()
    assert context.subject == next(iter(agent.delegations))
    facts = result.facts
    assert facts["customer contact"] == "Julie Martinez, CTO"
    assert facts["AI training bought in 2024"] == "280\u202f000 €"
    assert facts["support contract ends"] == "2026-03-31"
    assert facts["approved template"] == "Enterprise proposal (approved by Legal)"
    assert {s.name for s in context.servers} == {"mcp-crm", "mcp-docs", "mcp-calendar", "mcp-pricing"}
    assert context.item("tool:mcp-calendar/free_slots").content["slots"][0] == "2025-01-06T09:30:00Z"
    # provably absent: neither the URIs nor any of their content reached the context
    everything = context.text() + json.dumps([s.resources for s in context.servers])
    for uri, phrase in DENIED.items():
        assert uri not in context.sources and uri not in everything and phrase not in everything, uri
    (refusal,) = context.refused
    assert (refusal.uri, refusal.status) == ("pricing://executive-discounts", 403)


async def test_audit_records_each_allow_and_deny_with_its_reason(retrieved, autojump_clock):
    cast, _ = retrieved
    entries = cast.runtime.audit.store.entries()
    sarah = next(iter(cast.agents["sales-agent-prod-001"].delegations))
    reads = [e for e in entries if e.event in ("mcp.resource_read", "mcp.resource_denied")]
    assert all(e.subject == sarah and e.agent == "sales-agent-prod-001" and e.reason.startswith("FGA: user:sarah")
               for e in reads)
    allowed = {e.details["uri"] for e in reads if e.decision == "allow"}
    assert {"crm://contacts/acme-corp", "docs://proposals/templates", "pricing://enterprise-tier"} <= allowed
    (denied,) = [e for e in reads if e.decision == "deny"]
    assert denied.details["uri"] == "pricing://executive-discounts"
    assert denied.reason == "FGA: user:sarah is not viewer of resource:pricing/executive-discounts"
    hidden = {uri for e in entries if e.event == "mcp.resources_listed" for uri in e.details["hidden"]}
    assert set(DENIED) <= hidden
    exchanged = [e for e in entries if e.event == "token.exchanged"]
    assert len(exchanged) == 4 and all(e.subject == sarah and e.details["act_chain"] == ["sales-agent-prod-001"]
                                       for e in exchanged)
    assert len({e.details["audience"] for e in exchanged}) == 4  # one audience-bound token per server
