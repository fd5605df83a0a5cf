"""The tools each kind of MCP server offers, over its resources, each read checked like a direct read.

Tools never bypass authorization: they read through a :class:`ResourceAccess`, which the server
actor implements with the same FGA check (and the same audit entry) as ``resources/read``. What the
user of the token may not read is left out and named under ``withheld`` — never its content.

- ``crm``: ``account_overview(account)`` — contacts, purchases and contracts of one account.
- ``docs``: ``search_documents(query)`` — the documents whose title or URI contains ``query``.
- ``calendar``: ``free_slots(person, duration_minutes, days, limit)`` — free working-hours slots in
  a person's calendar, from the scenario clock's "now" (so runs are repeatable), with the same
  arithmetic (``protocols.calendar.free_slots``) and working hours phase 6 books with.
- ``pricing``: ``quote(sku, quantity)`` — the enterprise-tier price with its volume discount.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from actors.mcp_catalogue import McpServerSpec
from protocols.calendar import WorkingHours, free_slots, parse_rfc3339, rfc3339

MAX_SLOTS = 20
MAX_DAYS = 31


class ResourceAccess(Protocol):
    async def read(self, uri: str) -> str | None:
        """The resource's text, or ``None`` when the token's user may not read it (audited)."""

    async def visible(self, uris: Sequence[str]) -> list[str]:
        """The subset of ``uris`` the token's user may read, in the given order (audited)."""

    def now(self) -> int:
        """Scenario time, epoch seconds."""


async def _read_json(access: ResourceAccess, uri: str) -> Any | None:
    text = await access.read(uri)
    return None if text is None else json.loads(text)


def install_tools(server: MCPServer, *, spec: McpServerSpec, access: ResourceAccess) -> None:
    """Register the tools of ``spec.kind`` on the SDK server."""
    installers = {"crm": _crm_tools, "docs": _docs_tools, "calendar": _calendar_tools, "pricing": _pricing_tools}
    installers[spec.kind](server, spec, access)


def _crm_tools(server: MCPServer, spec: McpServerSpec, access: ResourceAccess) -> None:
    @server.tool(name="account_overview", description="Contacts, purchase history and contracts of a customer "
                                                      "account (only what you may read).")
    async def account_overview(account: str) -> dict[str, Any]:
        parts = {"contacts": f"crm://contacts/{account}", "purchases": f"crm://accounts/{account}/purchases",
                 "contracts": f"crm://accounts/{account}/contracts"}
        overview: dict[str, Any] = {"account": account, "withheld": []}
        for name, uri in parts.items():
            data = await _read_json(access, uri)
            if data is None:
                overview["withheld"].append(uri)
            else:
                overview[name] = data
        if len(overview["withheld"]) == len(parts):
            raise ToolError(f"no account {account!r} you may read")
        return overview


def _docs_tools(server: MCPServer, spec: McpServerSpec, access: ResourceAccess) -> None:
    @server.tool(name="search_documents", description="Documents whose title or URI contains the query "
                                                      "(only those you may read).")
    async def search_documents(query: str) -> list[dict[str, str]]:
        needle = query.strip().lower()
        if not needle:
            raise ToolError("the query is empty")
        matches = [r for r in spec.resources if needle in r.title.lower() or needle in r.uri.lower()]
        allowed = set(await access.visible([r.uri for r in matches]))
        return [{"uri": r.uri, "title": r.title} for r in matches if r.uri in allowed]


DAY = 86400


def _hours(team: dict[str, Any]) -> WorkingHours:
    """The working hours the team's availability states (UTC), the library's default otherwise."""
    hours = team.get("working_hours") or {}
    try:
        start, end = int(hours["start"].split(":")[0]), int(hours["end"].split(":")[0])
    except (KeyError, ValueError, AttributeError):
        return WorkingHours()
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    weekdays = frozenset(days.index(d) for d in hours.get("days", days[:5]) if d in days)
    return WorkingHours(start_hour=start, end_hour=end, weekdays=weekdays)


def _calendar_tools(server: MCPServer, spec: McpServerSpec, access: ResourceAccess) -> None:
    @server.tool(name="free_slots", description="Free meeting slots in working hours in a person's calendar.")
    async def free_slots_tool(person: str, duration_minutes: int = 30, days: int = 14,
                              limit: int = 10) -> dict[str, Any]:
        if not 15 <= duration_minutes <= 480 or not 1 <= days <= MAX_DAYS or not 1 <= limit <= MAX_SLOTS:
            raise ToolError(f"duration 15–480 min, days 1–{MAX_DAYS}, limit 1–{MAX_SLOTS}")
        uri = f"calendar://users/{person}"
        if spec.resource(uri) is None:
            raise ToolError(f"no calendar for {person!r}")
        calendar = await _read_json(access, uri)
        if calendar is None:
            return {"person": person, "slots": [], "withheld": [uri]}
        team = await _read_json(access, "calendar://availability/sales-team") or {}
        busy = [(parse_rfc3339(e["start"]), parse_rfc3339(e["end"])) for e in calendar.get("busy", [])]
        now = access.now()
        slots = free_slots(busy=busy, start=now, end=now + days * DAY, duration=duration_minutes * 60,
                           hours=_hours(team))[:limit]
        return {"person": person, "duration_minutes": duration_minutes, "slots": [rfc3339(a) for a, _ in slots],
                "withheld": []}


def _pricing_tools(server: MCPServer, spec: McpServerSpec, access: ResourceAccess) -> None:
    @server.tool(name="quote", description="Enterprise-tier price of a product for a quantity, with the "
                                           "volume discount.")
    async def quote(sku: str, quantity: int) -> dict[str, Any]:
        if not 1 <= quantity <= 1_000_000:
            raise ToolError("quantity must be between 1 and 1 000 000")
        tier = await _read_json(access, "pricing://enterprise-tier")
        if tier is None:
            raise ToolError("you may not read the enterprise price tier")
        product = next((p for p in tier["products"] if p["sku"] == sku), None)
        if product is None:
            raise ToolError(f"unknown product {sku!r}")
        gross = product["unit_price"] * quantity
        discount = tier["volume_discount"]["pct"] if quantity >= tier["volume_discount"]["from_quantity"] else 0
        return {"sku": sku, "quantity": quantity, "currency": tier["currency"], "unit_price": product["unit_price"],
                "discount_pct": discount, "total": gross * (100 - discount) // 100}
