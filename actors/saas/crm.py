"""A Salesforce-like CRM: accounts, contacts, opportunities (with negotiation notes), purchase
history and contracts, behind its own OAuth 2.0 authorization server.

Access model (what Salesforce calls sharing): a user sees the accounts of their territory
(``GLOBAL`` sees all); a service account (``client_credentials``, an "integration user") sees
everything — which is why discovery flags one as privileged. Scopes: ``crm.read`` for reads,
``crm.write`` for creating and updating opportunities, ``crm.audit`` for the provider's own API
and authentication logs (Event Monitoring), which the discovery service reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from actors.saas.base import ApiReply, Caller, SaasProvider, json_object, text_field
from protocols.http import HttpRequest
from protocols.oauth.errors import AccessDenied, InvalidRequest, NotFound

API = "/crm/v1"
READ, WRITE, AUDIT = "crm.read", "crm.write", "crm.audit"
SCOPES = {READ: "Read accounts, contacts, opportunities and purchase history",
          WRITE: "Create and update opportunities",
          AUDIT: "Read the API and login event logs"}
APIS = {API: frozenset(SCOPES)}
"""API path → the scopes it honours (its RFC 8707 resource is the provider's base URL + path)."""
GLOBAL_TERRITORY = "GLOBAL"
MAX_PAGE = 200


@attrs.frozen(kw_only=True)
class CrmUser:
    id: str
    email: str
    name: str
    territory: str


@attrs.frozen(kw_only=True)
class Account:
    id: str
    slug: str
    name: str
    industry: str
    territory: str
    owner: str


@attrs.frozen(kw_only=True)
class Contact:
    id: str
    account_id: str
    name: str
    title: str
    email: str
    phone: str = ""


@attrs.frozen(kw_only=True)
class Opportunity:
    id: str
    account_id: str
    name: str
    amount_eur: int
    stage: str
    close_date: str
    notes: str = ""


@attrs.frozen(kw_only=True)
class Purchase:
    id: str
    account_id: str
    product: str
    year: int
    amount_eur: int


@attrs.frozen(kw_only=True)
class Contract:
    id: str
    account_id: str
    kind: str
    status: str
    start: str
    end: str
    yearly_value_eur: int


@attrs.frozen(kw_only=True)
class CrmData:
    """The CRM's records at start (the world's seed)."""

    users: tuple[CrmUser, ...] = ()
    accounts: tuple[Account, ...] = ()
    contacts: tuple[Contact, ...] = ()
    opportunities: tuple[Opportunity, ...] = ()
    purchases: tuple[Purchase, ...] = ()
    contracts: tuple[Contract, ...] = ()


STAGES = ("Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost")


def _page_params(request: HttpRequest) -> tuple[int, int]:
    params = request.query_params()
    try:
        limit = int(params.get("limit", "50"))
        offset = int(params.get("offset", "0"))
    except ValueError:
        raise InvalidRequest("limit and offset must be integers") from None
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InvalidRequest(f"limit must be 1..{MAX_PAGE} and offset non-negative")
    return limit, offset


@attrs.define(eq=False)
class CrmActor(SaasProvider):
    """The CRM. ``users`` are the CRM's own user records (territory) keyed by subject."""

    users: dict[str, CrmUser] = attrs.field(factory=dict)
    accounts: dict[str, Account] = attrs.field(factory=dict)
    contacts: dict[str, Contact] = attrs.field(factory=dict)
    opportunities: dict[str, Opportunity] = attrs.field(factory=dict)
    purchases: dict[str, Purchase] = attrs.field(factory=dict)
    contracts: dict[str, Contract] = attrs.field(factory=dict)
    _next_id: int = attrs.field(default=1, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        r = self.api_route
        r("GET", f"{API}/me", self.me, api=API, scopes=(READ, WRITE, AUDIT))
        r("GET", f"{API}/accounts", self.list_accounts, api=API, scopes=(READ,))
        r("GET", f"{API}/accounts/{{account}}", self.get_account, api=API, scopes=(READ,))
        r("GET", f"{API}/accounts/{{account}}/contacts", self.account_contacts, api=API, scopes=(READ,))
        r("GET", f"{API}/accounts/{{account}}/opportunities", self.account_opportunities, api=API, scopes=(READ,))
        r("POST", f"{API}/accounts/{{account}}/opportunities", self.create_opportunity, api=API, scopes=(WRITE,))
        r("GET", f"{API}/accounts/{{account}}/purchases", self.account_purchases, api=API, scopes=(READ,))
        r("GET", f"{API}/contacts", self.list_contacts, api=API, scopes=(READ,))
        r("PATCH", f"{API}/opportunities/{{opportunity}}", self.update_opportunity, api=API, scopes=(WRITE,))
        r("GET", f"{API}/audit-log", self.read_audit_log, api=API, scopes=(AUDIT,))

    def load(self, data: CrmData) -> None:
        for table, rows in ((self.users, data.users), (self.accounts, data.accounts), (self.contacts, data.contacts),
                            (self.opportunities, data.opportunities), (self.purchases, data.purchases),
                            (self.contracts, data.contracts)):
            table.update({row.id: row for row in rows})

    # ------------------------------------------------------------------ access model

    def visible(self, caller: Caller, account: Account) -> bool:
        if caller.service_account:
            return True
        user = self.users.get(caller.subject)
        return user is not None and user.territory in (GLOBAL_TERRITORY, account.territory)

    def _account(self, caller: Caller, key: str) -> Account:
        account = self.accounts.get(key) or next((a for a in self.accounts.values() if a.slug == key), None)
        if account is None or not self.visible(caller, account):
            raise NotFound("no such account")  # invisible records are indistinguishable from absent ones
        return account

    # ------------------------------------------------------------------ handlers

    async def me(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        user = self.users.get(caller.subject)
        body = {"id": caller.subject, "service_account": caller.service_account}
        if user is not None:
            body.update(email=user.email, name=user.name, territory=user.territory)
        return ApiReply(body=body)

    async def list_accounts(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        limit, offset = _page_params(request)
        visible = [a for a in self.accounts.values() if self.visible(caller, a)]
        page = visible[offset:offset + limit]
        return ApiReply(body={"total": len(visible), "records": [attrs.asdict(a) for a in page]}, records=len(page))

    async def get_account(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        return ApiReply(body=attrs.asdict(self._account(caller, params["account"])), records=1)

    async def account_contacts(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        account = self._account(caller, params["account"])
        rows = [attrs.asdict(c) for c in self.contacts.values() if c.account_id == account.id]
        return ApiReply(body={"account": account.name, "records": rows}, records=len(rows))

    async def account_opportunities(self, caller: Caller, request: HttpRequest,
                                    params: Mapping[str, str]) -> ApiReply:
        account = self._account(caller, params["account"])
        rows = [attrs.asdict(o) for o in self.opportunities.values() if o.account_id == account.id]
        return ApiReply(body={"account": account.name, "records": rows}, records=len(rows))

    async def account_purchases(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        account = self._account(caller, params["account"])
        purchases = [attrs.asdict(p) for p in self.purchases.values() if p.account_id == account.id]
        contracts = [attrs.asdict(c) for c in self.contracts.values() if c.account_id == account.id]
        return ApiReply(body={"account": account.name, "purchases": purchases, "contracts": contracts},
                        records=len(purchases) + len(contracts))

    async def list_contacts(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        limit, offset = _page_params(request)
        visible_accounts = {a.id for a in self.accounts.values() if self.visible(caller, a)}
        rows = [c for c in self.contacts.values() if c.account_id in visible_accounts]
        page = rows[offset:offset + limit]
        return ApiReply(body={"total": len(rows), "records": [attrs.asdict(c) for c in page]}, records=len(page))

    def _new_id(self, prefix: str) -> str:
        value = f"{prefix}{self._next_id:012d}"
        self._next_id += 1
        return value

    async def create_opportunity(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        account = self._account(caller, params["account"])
        body = json_object(request)
        amount = body.get("amount_eur")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise InvalidRequest("amount_eur must be a non-negative integer")
        stage = text_field(body, "stage", required=False, default="Prospecting")
        if stage not in STAGES:
            raise InvalidRequest(f"stage must be one of {', '.join(STAGES)}")
        opportunity = Opportunity(id=self._new_id("006"), account_id=account.id, name=text_field(body, "name"),
                                  amount_eur=amount, stage=stage, close_date=text_field(body, "close_date"),
                                  notes=text_field(body, "notes", required=False))
        self.opportunities[opportunity.id] = opportunity
        return ApiReply(body=attrs.asdict(opportunity), status=201, records=1)

    async def update_opportunity(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        opportunity = self.opportunities.get(params["opportunity"])
        if opportunity is None or not self.visible(caller, self.accounts[opportunity.account_id]):
            raise NotFound("no such opportunity")
        body = json_object(request)
        changes: dict[str, Any] = {}
        if "stage" in body:
            if body["stage"] not in STAGES:
                raise InvalidRequest(f"stage must be one of {', '.join(STAGES)}")
            changes["stage"] = body["stage"]
        if "amount_eur" in body:
            if isinstance(body["amount_eur"], bool) or not isinstance(body["amount_eur"], int):
                raise InvalidRequest("amount_eur must be an integer")
            changes["amount_eur"] = body["amount_eur"]
        if not changes:
            raise InvalidRequest("nothing to update (stage, amount_eur)")
        self.opportunities[opportunity.id] = attrs.evolve(opportunity, **changes)
        return ApiReply(body=attrs.asdict(self.opportunities[opportunity.id]), records=1)

    async def read_audit_log(self, caller: Caller, request: HttpRequest, params: Mapping[str, str]) -> ApiReply:
        if not caller.service_account and caller.subject not in self.users:
            raise AccessDenied("not a CRM administrator")
        try:
            since = int(request.query_params().get("since", "0"))
        except ValueError:
            raise InvalidRequest("since must be epoch seconds") from None
        calls = [e.to_json() for e in self.api_log if e.time >= since]
        logins = [e.to_json() for e in self.auth_log if e.time >= since]
        return ApiReply(body={"api_calls": calls, "auth_events": logins}, records=len(calls) + len(logins))
