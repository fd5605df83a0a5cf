"""The tools each kind of MCP server offers, over its resources, each read checked like a direct read.

Tools never bypass authorization: they read through a :class:`ResourceAccess`, which the server
actor implements with the same FGA check (and the same audit entry) as ``resources/read``. What the
user of the token may not read is left out and named under ``withheld`` — never its content.

- ``crm``: ``account_overview(account)`` — contacts, purchases and contracts of one account.
- ``docs``: ``search_documents(query)`` — the documents whose title or URI contains ``query``.
- ``calendar``: ``free_slots(person, duration_minutes, days, limit)`` — free working-hours slots in
  a person's calendar and the team's, from the scenario clock's "now" (so runs are repeatable).
- ``pricing``: ``quote(sku, quantity)`` — the enterprise-tier price with its volume discount.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from actors.mcp_catalogue import McpServerSpec

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
        known = {name: uri for name, uri in parts.items() if spec.resource(uri) is not None}
        if not known:
            raise ToolError(f"no account {account!r} in the CRM")
        overview: dict[str, Any] = {"account": account, "withheld": []}
        for name, uri in known.items():
            data = await _read_json(access, uri)
            if data is None:
                overview["withheld"].append(uri)
            else:
                overview[name] = data
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


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def free_slots(*, busy: Sequence[tuple[datetime, datetime]], start: datetime, days: int, duration: timedelta,
               day_start: str = "09:00", day_end: str = "17:00", limit: int = MAX_SLOTS) -> list[str]:
    """Free slots of ``duration`` on weekdays within working hours, from ``start`` (rounded up to the
    half hour) for ``days`` days, avoiding every busy interval; ISO 8601 UTC start times."""
    step = timedelta(minutes=30)
    cursor = start.replace(second=0, microsecond=0)
    if cursor.minute % 30 or cursor < start:
        cursor += timedelta(minutes=30 - cursor.minute % 30)
    end = start + timedelta(days=days)
    h0, m0 = map(int, day_start.split(":"))
    h1, m1 = map(int, day_end.split(":"))
    slots: list[str] = []
    while cursor + duration <= end and len(slots) < limit:
        opens = cursor.replace(hour=h0, minute=m0)
        closes = cursor.replace(hour=h1, minute=m1)
        if cursor.weekday() < 5 and opens <= cursor and cursor + duration <= closes and not any(
                b0 < cursor + duration and cursor < b1 for b0, b1 in busy):
            slots.append(cursor.isoformat().replace("+00:00", "Z"))
        cursor += step
    return slots


def _calendar_tools(server: MCPServer, spec: McpServerSpec, access: ResourceAccess) -> None:
    @server.tool(name="free_slots", description="Free meeting slots in working hours for a person, "
                                                "avoiding their events and the sales team's.")
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
        events = list(calendar.get("busy", [])) + list(team.get("team_events", []))
        hours = team.get("working_hours", {"start": "09:00", "end": "17:00"})
        busy = [(_parse_time(e["start"]), _parse_time(e["end"])) for e in events]
        start = datetime.fromtimestamp(access.now(), UTC)
        slots = free_slots(busy=busy, start=start, days=days, duration=timedelta(minutes=duration_minutes),
                           day_start=hours["start"], day_end=hours["end"], limit=limit)
        return {"person": person, "duration_minutes": duration_minutes, "slots": slots, "withheld": []}


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
