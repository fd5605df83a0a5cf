"""Phase 3 (context retrieval via MCP) over both transports: the context the agent assembled holds the
facts the proposal needs and provably none of the denied data; the audit log records every allow and
deny with its reason, on the user's and the agent's behalf; the CRM facts come from the CRM through
the token vault and the calendar's free slots are free in the Google Workspace calendars phase 6 uses."""

import json

import pytest

from actors.runtime.network import Transport
from actors.saas.crm import CrmActor
from actors.saas.google_workspace import GoogleWorkspaceActor
from protocols.calendar import WorkingHours, free_slots, parse_rfc3339
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
    listings = [e for e in entries if e.event == "mcp.resources_listed"]
    hidden = {uri for e in listings for uri in e.details["hidden"]}
    assert set(DENIED) <= hidden
    assert all(e.subject == sarah and e.agent == "sales-agent-prod-001" and e.reason.startswith("FGA: user:sarah may read")
               for e in listings)
    # the FGA service's own entry for each denied object, with the engine's reason, on Sarah's behalf
    fga_denied = {e.details.get("object"): e for e in entries if e.event == "authz.denied"}
    for uri in DENIED:
        obj = "resource:" + uri.replace("://", "/")
        assert obj in fga_denied and fga_denied[obj].reason and fga_denied[obj].agent == "sales-agent-prod-001", obj
    exchanged = [e for e in entries if e.event == "token.exchanged"]
    assert len(exchanged) == 4 and all(e.subject == sarah and e.details["act_chain"] == ["sales-agent-prod-001"]
                                       for e in exchanged)
    assert len({e.details["audience"] for e in exchanged}) == 4  # one audience-bound token per server


async def test_crm_facts_come_from_the_crm_through_the_vault(retrieved, autojump_clock):
    cast, result = retrieved
    entries = cast.runtime.audit.store.entries()
    sarah = next(iter(cast.agents["sales-agent-prod-001"].delegations))
    (served, *_) = [e for e in entries if e.event == "vault.token_served" and e.agent == "mcp-crm"]
    assert (served.subject, served.details["connection"], served.details["scope"]) == (sarah, "salesforce", "crm.read")
    assert served.details["delegated_to"] == "sales-agent-prod-001"
    crm_token = next(e for e in entries if e.event == "token.exchanged" and e.details["audience"].endswith(
        cast.mcp_servers["mcp-crm"].resource.split("://", 1)[1]))
    assert served.details["parent_jti"] == crm_token.details["jti"]  # lineage: MCP token -> vault token
    crm = cast.vault.of_kind(CrmActor)
    reads = [c for c in crm.api_log if c.path.startswith("/crm/v1/accounts/acme-corp")]
    assert reads and all(c.client_id == "token-vault" and not c.service_account for c in reads)
    assert "token-vault" in result.facts["CRM via the token vault"] or "salesforce" in result.facts[
        "CRM via the token vault"]


async def test_calendar_slots_are_free_in_the_workspace_calendar(retrieved, autojump_clock):
    cast, _ = retrieved
    workspace = cast.vault.of_kind(GoogleWorkspaceActor)
    (context,) = cast.agents["sales-agent-prod-001"].contexts.values()
    sarah, john = cast.world.person("sarah"), cast.world.person("john")

    def held(email):
        return sorted((e.start, e.end) for (calendar, _), e in workspace.events.items() if calendar == email)

    mcp_busy = [(parse_rfc3339(b["start"]), parse_rfc3339(b["end"]))
                for b in context.item("calendar://users/sarah").content["busy"]]
    assert mcp_busy == held(sarah.email)  # the calendar server shows the Workspace calendar
    slots = [parse_rfc3339(s) for s in context.item("tool:mcp-calendar/free_slots").content["slots"]]
    assert slots and all(not (b0 < s + 1800 and s < b1) for s in slots for b0, b1 in held(sarah.email))
    # the slot phase 6 will book (first common free half hour of Sarah and John from tomorrow) is free
    # in what the calendar server told the agent
    tomorrow = (cast.runtime.clock.now() // 86400 + 1) * 86400
    (booked, _), *_ = free_slots(busy=held(sarah.email) + held(john.email), start=tomorrow,
                                 end=tomorrow + 14 * 86400, duration=1800, hours=WorkingHours())
    assert not any(b0 < booked + 1800 and booked < b1 for b0, b1 in mcp_busy)
