"""Ask every system of the marketing cast, through its own administrative API, what it still grants
the marketing agent — the systems themselves, not governance's view of them (the evidence that
deprovisioning left nothing: SPEC capability 10).

Systems asked: the customer database (``/admin/users`` as the DBA), the CRM (its connected-apps
API), the privileged-credential vault (``/credentials``), the token vault (``/admin/agents``), the
enterprise IdP (``/admin/clients``) and the FGA service (OpenFGA ``/read``)."""

from __future__ import annotations

from urllib.parse import quote

from actors.governance_connectors import IntegrationConnector
from actors.saas.database import basic
from protocols.http import HttpRequest
from scenarios.marketing_cast import CRM_ACCOUNT, DATABASE, DB_ACCOUNT, MarketingCast


async def _json(cast: MarketingCast, request: HttpRequest) -> tuple[int, dict]:
    response = await cast.runtime.network.send(request)
    return response.status, (response.json() if response.body else {})


async def grants_left(cast: MarketingCast) -> dict[str, list[str]]:
    """System → what it still grants the agent (empty lists: nothing anywhere)."""
    plane, agent = cast.control, cast.agent_id
    base = cast.base
    left: dict[str, list[str]] = {}
    _s, users = await _json(cast, HttpRequest.get(cast.database.url("/admin/users"), headers={
        "authorization": basic("dba", plane.db_admin[DATABASE])}))
    left[DATABASE] = [f"account {u['name']}: " + ", ".join(f"{' '.join(g['privileges'])} on {g['table']}"
                                                          for g in u["grants"])
                      for u in users["users"] if u["name"] == DB_ACCOUNT]
    admin = next(c for c in plane.governance.connectors if isinstance(c, IntegrationConnector))
    crm = await admin.client.send(HttpRequest.get(plane.crm.url("/admin/integrations")))
    left[plane.crm.name] = [f"integration {i['client_id']}: {' '.join(i['scopes'])}"
                            for i in crm.json()["integrations"] if i["service_account"] == CRM_ACCOUNT]
    _s, credentials = await _json(cast, HttpRequest.get(plane.pam.url(f"/credentials?agent={quote(agent)}"), headers={
        "authorization": f"Bearer {plane.pam_token}"}))
    left[plane.pam.name] = [f"credential {c['id']} ({c['kind']})" for c in credentials["credentials"]
                            if not c["revoked"]]
    vault = base.vault.vault
    _s, held = await _json(cast, HttpRequest.get(vault.url(f"/admin/agents/{quote(agent)}"), headers={
        "authorization": f"Bearer {plane.admin_tokens[vault.name].issue()}"}))
    left[vault.name] = [f"integration {g['integration']}: {' '.join(g['scopes'])}" for g in held["grants"]]
    left[vault.name] += ["client registration"] if held["registered"] else []
    status, _client = await _json(cast, HttpRequest.get(base.idp.url(f"/admin/clients/{quote(agent)}"), headers={
        "authorization": f"Bearer {plane.admin_tokens[base.idp.name].issue()}"}))
    left[base.idp.name] = ["client registration"] if status == 200 else []
    _s, tuples = await _json(cast, HttpRequest.json_post(
        url=base.fga.url(f"/stores/{base.fga.store_id}/read"), payload={"page_size": 100}))
    left[base.fga.name] = [f"{t['key']['relation']} of {t['key']['object']}" for t in tuples["tuples"]
                           if t["key"]["user"] == f"agent:{agent}"]
    return left
