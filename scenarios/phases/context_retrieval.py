"""Phase 3 — Context retrieval via MCP (SPEC.md capability 7).

09:10: Sarah asks the agent to "create a proposal for Acme Corp based on past purchases and current
needs". The agent visits the four MCP servers of the world (CRM, documents, calendar, pricing): for
each it draws the 401 challenge, reads the RFC 9728 metadata, exchanges Sarah's ID token at the IdP
for a token bound to that server alone (RFC 8693, itself in ``act``), lists what Sarah may see (FGA
filters the lists) and reads it; it asks the calendar for Sarah's free slots, and asks the pricing
server for the executive discount grid — which FGA refuses (403). The CRM server holds no CRM
credential: it reads the account from the CRM's API with Sarah's read-only Salesforce token, which
the token vault serves it in exchange for the MCP token it received (Sarah's Salesforce account is
linked to the vault first if it is not yet — admin-approved, no consent screen). The calendar
server's free/busy is the Google Workspace calendars' (the ones phase 6 books in). The assembled
``AgentContext`` stays on the agent; the denied items (executive discounts, another deal's
negotiation notes, internal costs, the credit-risk file) are provably absent from it.
"""

from __future__ import annotations

from typing import Any

from actors.agent_context import AgentContext
from actors.mcp_client import ContextRequest, McpAgentClient, gather_context
from actors.storage.vault_store import ACTIVE
from actors.vault_client import DelegationExpired
from protocols.oauth.errors import OAuthError
from scenarios.phase_result import PhaseResult
from scenarios.phases.multi_system_execution import PhaseFailure, connect_accounts
from scenarios.sales_agent import SalesCast
from scenarios.world import PhaseSpec

TASK = "create a proposal for Acme Corp based on past purchases and current needs"
ACCOUNT = "acme-corp"
DISCOUNT_GRID = "pricing://executive-discounts"


def _euros(amount: int) -> str:
    return f"{amount:,}".replace(",", "\u202f") + " €"


def _facts(context: AgentContext, person: str) -> dict[str, Any]:
    """The business facts the proposal will rest on, read from the context (``None`` when missing)."""
    def content(uri: str) -> Any:
        item = context.item(uri)
        return item.content if item is not None else {}

    contacts = content(f"crm://contacts/{ACCOUNT}").get("contacts", [])
    cto = next((c for c in contacts if c.get("title") == "CTO"), None)
    purchases = content(f"crm://accounts/{ACCOUNT}/purchases").get("purchases", [])
    training = sum(p["amount_eur"] for p in purchases
                   if p.get("year") == 2024 and "AI training" in p.get("product", ""))
    contracts = content(f"crm://accounts/{ACCOUNT}/contracts").get("contracts", [])
    support = next((c for c in contracts if c.get("kind") == "Premium support"), None)
    templates = content("docs://proposals/templates").get("templates", [])
    prices = content("docs://pricing/price-list").get("items", [])
    slots = content("tool:mcp-calendar/free_slots").get("slots", [])
    return {
        "customer contact": f"{cto['name']}, {cto['title']}" if cto else None,
        "AI training bought in 2024": _euros(training) if training else None,
        "support contract ends": support["end"] if support else None,
        "approved template": (f"{templates[0]['title']} (approved by {templates[0]['approved_by']})"
                              if templates else None),
        "price list items": len(prices) or None,
        f"{person}'s first free slots": ", ".join(slots[:3]) or None,
    }


async def phase_3_context_retrieval(cast: SalesCast, phase: PhaseSpec) -> PhaseResult:
    person = cast.world.person(phase.user)
    agent = cast.agents[phase.agent]
    delegation = next((d for d in agent.delegations.values() if d.email == person.email), None)
    if delegation is None:
        return PhaseResult(number=phase.number, name=phase.name, ok=False,
                           outcome=f"The agent does not act for {person.name}: no context can be retrieved.")
    crm = await _link_crm(cast, user=phase.user, agent=phase.agent)
    servers = {name: server.resource for name, server in cast.mcp_servers.items()}
    request = ContextRequest(task=TASK, asks={"mcp-pricing": (DISCOUNT_GRID,)},
                             tools={"mcp-calendar": (("free_slots", {"person": phase.user, "duration_minutes": 30,
                                                                     "days": 14}),)})
    context = await gather_context(McpAgentClient(agent=agent), delegation, servers=servers, request=request)
    facts = _facts(context, person.name.split()[0])
    hidden = sorted({uri for e in cast.runtime.audit.store.entries() if e.event == "mcp.resources_listed"
                     and e.subject == delegation.subject for uri in e.details.get("hidden", [])})
    refused = {r.uri: r for r in context.refused}
    discount_refused = DISCOUNT_GRID in refused and refused[DISCOUNT_GRID].status == 403
    text = context.text()
    leaked = [uri for uri in [*hidden, DISCOUNT_GRID] if uri in context.sources or uri in text]
    vaulted = [e for e in cast.runtime.audit.store.entries() if e.event == "vault.token_served"
               and e.subject == delegation.subject and e.agent in cast.mcp_servers]
    ok = (len(context.servers) == len(servers) and all(v is not None for v in facts.values())
          and discount_refused and not leaked and bool(vaulted))
    outcome = (f"{agent.display_name} gathered {len(context.items)} items from {len(context.servers)} MCP servers "
               f"for {person.name} (\u201c{TASK}\u201d); FGA refused {DISCOUNT_GRID} and hid {len(hidden)} "
               f"resources from the lists; none of them is in the agent's context.")
    if not ok:
        outcome = (f"Context retrieval did not meet the scenario: servers {len(context.servers)}/{len(servers)}, "
                   f"discount grid refused: {discount_refused}, leaked: {leaked or 'none'}, "
                   f"CRM read through the vault: {bool(vaulted)} ({crm}), "
                   f"missing facts: {[k for k, v in facts.items() if v is None] or 'none'}.")
    return PhaseResult(number=phase.number, name=phase.name, ok=ok, outcome=outcome, facts={
        **facts,
        "MCP servers": ", ".join(f"{s.name} ({s.scope[0] if s.scope else '-'})" for s in context.servers),
        "context sources": ", ".join(context.sources),
        "refused": "; ".join(f"{r.uri} [{r.status}] {r.reason}" for r in context.refused) or "none",
        "hidden from lists by FGA": ", ".join(hidden) or "none",
        "CRM via the token vault": "; ".join(
            f"{e.agent} got {e.details.get('connection')} [{e.details.get('scope')}] for {person.name} "
            f"(on behalf of {e.details.get('delegated_to')}), {e.reason}" for e in vaulted) or crm,
    })


async def _link_crm(cast: SalesCast, *, user: str, agent: str) -> str:
    """Sarah's Salesforce account linked to the vault (once; admin-approved, no consent screen), so
    the CRM MCP server can obtain her read-only token. Returns the connection's state, or why not."""
    crm = next((i.provider for i in cast.vault.integrations.values() if i.name == "salesforce"), None)
    if crm is None or cast.vault.vault is None or agent not in cast.vault.tools:
        return "the world has no token vault with a salesforce integration for this agent"
    try:
        state = (await connect_accounts(cast, user=user, agent=agent, providers=[crm]))[crm]
    except (PhaseFailure, OAuthError, DelegationExpired) as error:
        return f"{type(error).__name__}: {error}"
    return "connected" if state == ACTIVE else state
