"""Ask every system of the marketing cast, through its own administrative API, what it still grants
the marketing agent — the systems themselves, not governance's view of them (the evidence that
deprovisioning left nothing: SPEC capability 10).

Systems asked: the customer database (``/admin/users`` as the DBA), the CRM (its connected-apps
API), the privileged-credential vault (``/credentials``), the token vault (``/admin/agents``), the
enterprise IdP (``/admin/clients``) and the FGA service (OpenFGA ``/read``).

``last_day_tokens``: the live tokens the agent holds before deprovisioning, to be tried at each system
afterwards (``scenarios.phases.governance.answers_to_tokens``): deprovisioning must end tokens already
issued, not only new ones."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from actors.governance_connectors import IntegrationConnector
from actors.saas.database import basic
from protocols.http import HttpRequest
from actors.storage.vault_store import ACTIVE
from scenarios.marketing_cast import CRM_ACCOUNT, DATABASE, DB_ACCOUNT, MarketingCast
from scenarios.phases.multi_system_execution import connect_accounts, ensure_signed_in


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


async def last_day_tokens(cast: MarketingCast, *, user: str, crm_credential: str) -> dict[str, tuple[str, str, bytes]]:
    """The live tokens the agent holds on its last day, each with a call the system that honours it
    serves (name → ("METHOD URL", token, body)): its CRM integration's token (client credentials
    with the vaulted secret), ``user``'s IdP access token from signing in at the agent, and a Gmail
    token from the token vault for the wrap-up e-mail (the user connects Google Workspace first)."""
    base, agent = cast.base, cast.agent_id
    connected = await connect_accounts(base, user=user, agent=agent, providers=["google-workspace"])
    delegation = await ensure_signed_in(base, user=user, agent=agent)
    crm = cast.crm_client(cast.credentials().source(crm_credential))
    gmail = ""
    if connected["google-workspace"] == ACTIVE:
        gmail = (await base.vault.tools[agent].vault.access_token(user=delegation.subject, integration="gmail",
                                                                  scope=("gmail.send",))).token
    google = base.vault.providers["google-workspace"]
    message = (f"From: {delegation.email}\r\nTo: marketing@{cast.world.domain}\r\nSubject: Spring campaign "
               "wrap-up\r\n\r\nThe spring campaign is over; thank you all.\r\n")
    raw = base64.urlsafe_b64encode(message.encode()).decode().rstrip("=")
    return {"CRM integration": (f"GET {cast.control.crm.url('/crm/v1/accounts?limit=5')}",
                                await crm.access_token(), b""),
            "IdP (userinfo)": (f"GET {base.idp.url('/userinfo')}", delegation.access_token, b""),
            "Gmail via the token vault": (f"POST {google.url('/gmail/v1/users/me/messages/send')}", gmail,
                                          json.dumps({"raw": raw}).encode())}

