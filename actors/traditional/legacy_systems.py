"""Three traditional systems on ``LegacyApp``: a CRM, a pricing database and a mail gateway.

- ``LegacyCrmActor``: customer contacts and opportunities from the same seed as the platform's CRM.
  A key sees every record; if the caller names a user in ``X-On-Behalf-Of`` the application filters
  to that user's territory (the application's only check — the header is the caller's word). No rate
  limit, no volume alarm: 500 reads in 10 minutes look like any other.
- ``LegacyPricingActor``: list prices; any key (or any login token, see ``legacy_login``) may read
  **and change** them — there are no scopes.
- ``LegacyMailActor``: sends whatever it is given, to anyone, for any key: no approval, no check on
  outside recipients, no output filter.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from actors.saas.crm import CrmData
from actors.traditional.legacy_app import Caller, LegacyApp, Reply, json_object
from protocols.http import HttpRequest, MalformedBody

GLOBAL = "GLOBAL"
MAX_PAGE = 100


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedBody(f"{name} must be an integer")
    return value


@attrs.define(eq=False)
class LegacyCrmActor(LegacyApp):
    """Contacts (with their account) and opportunities; ``load`` fills it from a ``CrmData`` seed."""

    contacts: list[dict] = attrs.field(factory=list)
    territories: dict[str, str] = attrs.field(factory=dict)
    """User e-mail → territory (what the application filters on when a user is named)."""
    opportunities: list[dict] = attrs.field(factory=list)
    approval_above_eur: int | None = None
    """A hard limit a team may add: opportunities above it are refused (there is no approval flow)."""
    records_per_window: int | None = None
    """A static rate limit a team may add: records per key per ``window`` seconds, then 429."""
    window: int = 600
    _served: dict[str, list[tuple[int, int]]] = attrs.field(factory=dict, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.legacy_route("GET", "/api/customers", self._list)
        self.legacy_route("GET", "/api/customers/{contact_id}", self._one)
        self.legacy_route("POST", "/api/opportunities", self._create_opportunity)

    def load(self, data: CrmData) -> None:
        accounts = {a.id: a for a in data.accounts}
        self.territories = {u.email: u.territory for u in data.users}
        self.contacts = [{"id": c.id, "name": c.name, "title": c.title, "email": c.email, "phone": c.phone,
                          "account": accounts[c.account_id].name, "territory": accounts[c.account_id].territory}
                         for c in data.contacts]

    def _over_limit(self, caller: Caller, records: int) -> bool:
        """Count ``records`` for the caller's key unless that would pass the static limit."""
        if self.records_per_window is None:
            return False
        now = self.runtime.clock.now()
        recent = [(t, n) for t, n in self._served.get(caller.principal, []) if t > now - self.window]
        if sum(n for _, n in recent) + records > self.records_per_window:
            self._served[caller.principal] = recent
            return True
        self._served[caller.principal] = [*recent, (now, records)]
        return False

    def _visible(self, caller: Caller) -> list[dict]:
        if caller.on_behalf_of is None:
            return self.contacts  # a service key: the whole base
        territory = self.territories.get(caller.on_behalf_of, "")
        return [c for c in self.contacts if territory == GLOBAL or c["territory"] == territory]

    async def _list(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> Reply:
        query = request.query_params()
        try:
            offset, limit = int(query.get("offset", "0")), int(query.get("limit", "50"))
        except ValueError:
            raise MalformedBody("offset and limit must be integers") from None
        if offset < 0 or not 1 <= limit <= MAX_PAGE:
            raise MalformedBody(f"limit must be 1..{MAX_PAGE} and offset non-negative")
        visible = self._visible(caller)
        page = visible[offset:offset + limit]
        if self._over_limit(caller, len(page)):
            return Reply(body={"error": "rate_limited"}, status=429, note="static rate limit")
        return Reply(body={"customers": page, "total": len(visible)}, records=len(page))

    async def _one(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> Reply:
        found = next((c for c in self._visible(caller) if c["id"] == params["contact_id"]), None)
        if found is None:
            return Reply(body={"error": "not_found"}, status=404)
        if self._over_limit(caller, 1):
            return Reply(body={"error": "rate_limited"}, status=429, note="static rate limit")
        return Reply(body=found, records=1)

    async def _create_opportunity(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> Reply:
        body = json_object(request)
        amount = _int(body.get("amount_eur"), "amount_eur")
        if self.approval_above_eur is not None and amount > self.approval_above_eur:
            return Reply(body={"error": "approval_required"}, status=403, note=f"amount_eur={amount} refused")
        opportunity = {"id": f"opp-{len(self.opportunities) + 1:04d}", "customer": str(body.get("customer", "")),
                       "amount_eur": amount, "stage": str(body.get("stage", "Proposal")), "by": caller.principal}
        self.opportunities.append(opportunity)
        return Reply(body=opportunity, status=201, note=f"amount_eur={amount}")


@attrs.define(eq=False)
class LegacyPricingActor(LegacyApp):
    """SKU → price; ``GET /prices``, ``PUT /prices/{sku}`` (any authenticated caller)."""

    prices: dict[str, int] = attrs.field(factory=dict)
    changes: list[dict] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.legacy_route("GET", "/prices", self._list)
        self.legacy_route("PUT", "/prices/{sku}", self._change)

    async def _list(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> Reply:
        return Reply(body={"prices": dict(sorted(self.prices.items()))}, records=len(self.prices))

    async def _change(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> Reply:
        sku = params["sku"]
        if sku not in self.prices:
            return Reply(body={"error": "not_found"}, status=404)
        price = _int(json_object(request).get("price_eur"), "price_eur")
        self.changes.append({"sku": sku, "before": self.prices[sku], "after": price, "by": caller.principal})
        self.prices[sku] = price
        return Reply(body={"sku": sku, "price_eur": price}, note=f"sku={sku}")


@attrs.define(eq=False)
class LegacyMailActor(LegacyApp):
    """``POST /send``: the gateway relays every message it is handed."""

    sent: list[dict] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.legacy_route("POST", "/send", self._send)

    async def _send(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> Reply:
        body = json_object(request)
        recipients = body.get("to")
        if not isinstance(recipients, list) or not recipients or not all(isinstance(r, str) for r in recipients):
            raise MalformedBody("to must be a non-empty list of addresses")
        message = {"id": f"msg-{len(self.sent) + 1:04d}", "from": str(body.get("from", "")), "to": recipients,
                   "subject": str(body.get("subject", "")), "bytes": len(str(body.get("body", ""))),
                   "by": caller.principal}
        self.sent.append(message)
        return Reply(body={"id": message["id"], "queued": True}, status=202, note=f"to={','.join(recipients)}")
