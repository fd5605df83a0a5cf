"""Governance connectors for the token vault and the pricing authorization server (issue 8, gap 2):
the sales agent's review lists its Google Workspace, e-mail, calendar and pricing grants, and a
revocation in review really removes the grant in that system — the next use fails there — and ends
the live tokens the agent holds for it at the system itself; deprovisioning ends every one."""

import base64
import json
import re

import pytest

from actors.agent_cross_domain import CrossDomainFailed
from actors.mcp_client import McpAgentClient, discover
from actors.storage.vault_store import ACTIVE
from protocols.http import HttpRequest
from protocols.oauth.errors import InvalidTarget
from scenarios.phases.discovery_registration import collect_entitlements
from scenarios.phases.governance import open_campaign, review_email, submit
from tests.actors.test_pricing import READ, client_of
from tests.actors.vault_helpers import AGENT, WORLD, channel_cast, fast_crypto, sign_in  # noqa: F401
from scenarios.phases.multi_system_execution import connect_accounts


async def register(cast):
    plane = cast.control
    plane.jobs[AGENT].stop()
    await plane.security.create({"id": AGENT, "displayName": "Sales proposal agent", "lifecycleState": "registered",
                                 "owner": {"value": "john"}, "purpose": "proposals",
                                 "accounts": [{"system": "crm", "value": "svc-sales-automation"}],
                                 "metadata": {"agent_type": "sales-assistant"}})
    await plane.security.replace(AGENT, lifecycleState="active")


async def test_review_lists_vault_and_pricing_grants_and_revocation_removes_them(channel_cast, autojump_clock):
    cast = channel_cast
    subject = await sign_in(cast)
    status = await connect_accounts(cast, user="sarah", agent=AGENT, providers=["google-workspace"])
    assert set(status.values()) == {ACTIVE}
    tools = cast.vault.tools[AGENT]
    assert (await tools.vault.access_token(user=subject, integration="gmail", scope=("gmail.send",))).token
    delegation = next(iter(cast.agents[AGENT].delegations.values()))
    pricing = client_of(cast)
    grant = await pricing.obtain_id_jag(delegation, resource=(WORLD.pricing.resource,), scope=READ)
    assert (await pricing.redeem(grant, user=delegation.subject)).access_token

    await register(cast)
    listed = {e["id"]: e for e in await collect_entitlements(cast.control, AGENT)}
    assert {"token-vault:vault_integration:gmail (google-workspace)",
            "token-vault:vault_integration:google-drive (google-workspace)",
            "token-vault:vault_integration:google-calendar (google-workspace)",
            "token-vault:vault_integration:salesforce (crm)",
            "pricing-as:client_registration:client acme-sales-agent",
            "crm:service_account:svc-sales-automation"} <= set(listed)
    assert listed["pricing-as:client_registration:client acme-sales-agent"]["scopes"] == ["pricing:read"]
    assert listed[f"acme-idp:sign_in_identity:client {AGENT}"]["kind"] == "sign_in_identity"  # listed, not reviewed
    campaign = await open_campaign(cast.control, AGENT)
    assert not any(i["kind"] == "sign_in_identity" for i in campaign["items"])
    _mail, token = await review_email(cast.control, "john", campaign["id"])
    for item in ("token-vault:vault_integration:gmail (google-workspace)",
                 "pricing-as:client_registration:client acme-sales-agent"):
        code, _body = await submit(cast.control, campaign_id=campaign["id"], token=token, entitlement=item,
                                   decision="revoke", comment="not needed any more")
        assert code == 200

    # the systems themselves refuse the next use
    with pytest.raises(InvalidTarget, match="not allowed to use the gmail integration"):
        await tools.vault.access_token(user=subject, integration="gmail", scope=("gmail.send",))
    grant = await pricing.obtain_id_jag(delegation, resource=(WORLD.pricing.resource,), scope=READ)
    with pytest.raises(CrossDomainFailed) as refused:
        await pricing.redeem(grant, user=delegation.subject)
    assert refused.value.error is not None and refused.value.error.error == "invalid_client"
    # what was certified or not decided yet keeps working
    assert (await tools.vault.access_token(user=subject, integration="google-calendar",
                                           scope=("calendar.freebusy",))).token
    remaining = {e["id"] for e in await collect_entitlements(cast.control, AGENT)}
    assert "token-vault:vault_integration:gmail (google-workspace)" not in remaining
    assert "pricing-as:client_registration:client acme-sales-agent" not in remaining
    events = [e.event for e in cast.runtime.audit.store.entries()]
    assert "vault.grant_revoked" in events and "access.client_removed" in events


async def test_admin_grant_apis_refuse_without_an_operator_token_and_on_unknown_names(channel_cast, autojump_clock):
    cast = channel_cast
    vault, pricing_as = cast.vault.vault, cast.cross_domain.pricing_as
    token = cast.control.admin_tokens[vault.name].issue()
    cases = [
        (HttpRequest.get(vault.url(f"/admin/agents/{AGENT}")), 401, "invalid_token"),
        (HttpRequest.get(vault.url(f"/admin/agents/{AGENT}"), headers={"authorization": "Bearer nope"}), 401,
         "invalid_token"),
        (HttpRequest(method="DELETE", url=vault.url(f"/admin/agents/{AGENT}/grants/slack"),
                     headers={"authorization": f"Bearer {token}"}), 404, "not_found"),
        (HttpRequest(method="DELETE", url=vault.url("/admin/agents/nobody"),
                     headers={"authorization": f"Bearer {token}"}), 404, "not_found"),
        (HttpRequest(method="POST", url=vault.url(f"/admin/agents/{AGENT}"),
                     headers={"authorization": f"Bearer {token}"}), 405, None),
        (HttpRequest.get(pricing_as.url("/admin/clients"), headers={"authorization": f"Bearer {token}"}), 401,
         "invalid_token"),
    ]
    pricing_token = cast.control.admin_tokens[pricing_as.name].issue()
    cases.append((HttpRequest(method="DELETE", url=pricing_as.url("/admin/clients/nobody"),
                              headers={"authorization": f"Bearer {pricing_token}"}), 404, "not_found"))
    for request, status, error in cases:
        response = await cast.runtime.network.send(request)
        assert response.status == status, (request.method, request.url, response.status, response.body)
        if error is not None:
            assert response.json()["error"] == error
    assert set(vault.agent_grants[AGENT]) == {"salesforce", "google-drive", "gmail", "google-calendar"}
    # every refusal is in the audit trail with its reason (never the presented token)
    refused = [e for e in cast.runtime.audit.store.entries() if e.event == "access.request_refused"]
    assert [(e.actor, e.details["method"], e.reason.partition(":")[0]) for e in refused] == [
        (vault.name, "GET", "invalid_token"), (vault.name, "GET", "invalid_token"), (vault.name, "DELETE", "not_found"),
        (vault.name, "DELETE", "not_found"), (vault.name, "POST", "method_not_allowed"),
        (pricing_as.name, "GET", "invalid_token"), (pricing_as.name, "DELETE", "not_found")]
    assert all(e.decision == "deny" for e in refused) and "nope" not in repr([e.details for e in refused])


# ---------------------------------------------------------------- live tokens end with the grant

INITIALIZE = (b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",'
              b'"capabilities":{},"clientInfo":{"name":"agent","version":"1"}}}')

async def live_tokens(cast, subject) -> dict[str, tuple[str, str, bytes]]:
    """One live token per system the agent reaches, each with a real call that system serves:
    name → (method URL, token, body)."""
    tools = cast.vault.tools[AGENT]
    google, crm = cast.vault.providers["google-workspace"], cast.vault.providers["crm"]
    email = cast.world.person("sarah").email
    raw = base64.urlsafe_b64encode(f"From: {email}\r\nTo: julie.martinez@acme-customer.example\r\nSubject: "
                                   "Proposal\r\n\r\nDraft attached.\r\n".encode()).decode().rstrip("=")
    from_vault = {name: (await tools.vault.access_token(user=subject, integration=name, scope=scope)).token
                  for name, scope in (("gmail", ("gmail.send",)), ("google-calendar", ("calendar.freebusy",)),
                                      ("google-drive", ("drive.file",)), ("salesforce", ("crm.read",)))}
    delegation = next(iter(cast.agents[AGENT].delegations.values()))
    pricing = client_of(cast)
    grant = await pricing.obtain_id_jag(delegation, resource=(WORLD.pricing.resource,), scope=READ)
    priced = (await pricing.redeem(grant, user=delegation.subject)).access_token
    shadow = await cast.control.jobs[AGENT].client.access_token()
    mcp = cast.mcp_servers["mcp-crm"]
    found = await discover(cast.runtime.network, mcp.resource)
    mcp_token = await McpAgentClient(agent=cast.agents[AGENT]).token_for(
        delegation, resource=found.metadata.resource, scope=found.scope)
    window = json.dumps({"timeMin": "2025-02-01T00:00:00Z", "timeMax": "2025-02-02T00:00:00Z",
                         "items": [{"id": email}]}).encode()
    return {
        "gmail": (f"POST {google.url('/gmail/v1/users/me/messages/send')}", from_vault["gmail"],
                  json.dumps({"raw": raw}).encode()),
        "google-calendar": (f"POST {google.url('/calendar/v3/freeBusy')}", from_vault["google-calendar"], window),
        "google-drive": (f"GET {google.url('/drive/v3/files')}", from_vault["google-drive"], b""),
        "salesforce": (f"GET {crm.url('/crm/v1/accounts?limit=5')}", from_vault["salesforce"], b""),
        "crm integration": (f"GET {crm.url('/crm/v1/accounts?limit=5')}", shadow, b""),
        "pricing": (f"GET {cast.cross_domain.pricing_api.url('/prices/enterprise-tier')}", priced, b""),
        "idp": (f"GET {cast.idp.url('/userinfo')}", delegation.access_token, b""),
        "mcp": (f"POST {mcp.resource}", mcp_token, INITIALIZE),
    }


async def use(cast, tokens) -> dict[str, object]:
    """Each token at the system that honours it: 200, or (status, RFC 6750 error)."""
    seen: dict[str, object] = {}
    for name, (target, token, body) in tokens.items():
        method, url = target.split(" ", 1)
        headers = {"authorization": f"Bearer {token}"} | ({"content-type": "application/json"} if body else {})
        if body == INITIALIZE:
            headers["accept"] = "application/json, text/event-stream"
        response = await cast.runtime.network.send(HttpRequest(method=method, url=url, headers=headers, body=body))
        error = re.search(r'error="([^"]*)"', response.header("www-authenticate") or "")
        seen[name] = response.status if response.status == 200 else (response.status, error and error.group(1))
    return seen


async def connected(cast) -> str:
    subject = await sign_in(cast)
    status = await connect_accounts(cast, user="sarah", agent=AGENT, providers=["google-workspace", "crm"])
    assert set(status.values()) == {ACTIVE}
    return subject


def token_audit(cast, event):
    return [(e.details.get("system") or e.details.get("provider"), e.details.get("tokens"), e.details.get("mechanism"))
            for e in cast.runtime.audit.store.entries() if e.event == event]


async def registered_agent_with_working_tokens(cast) -> dict[str, tuple[str, str, bytes]]:
    """Sarah signs in and connects her accounts; the agent's live token at every system, each served
    (200); then the agent registered with governance."""
    tokens = await live_tokens(cast, await connected(cast))
    assert set((await use(cast, tokens)).values()) == {200}
    await register(cast)
    return tokens


async def test_revoking_one_entitlement_ends_its_live_token_and_only_that_one(channel_cast, autojump_clock):
    cast = channel_cast
    tokens = await registered_agent_with_working_tokens(cast)
    campaign = await open_campaign(cast.control, AGENT)
    _mail, review = await review_email(cast.control, "john", campaign["id"])
    code, _body = await submit(cast.control, campaign_id=campaign["id"], token=review, decision="revoke",
                               entitlement="token-vault:vault_integration:gmail (google-workspace)")
    assert code == 200
    after = await use(cast, tokens)
    assert after.pop("gmail") == (401, "invalid_token")  # refused by Google itself, not just re-exchange
    assert set(after.values()) == {200}  # the agent's other tokens keep working
    assert token_audit(cast, "governance.tokens_revoked") == [
        ("google-workspace", 1, "RFC 7009 revocation by the token vault")]
    assert token_audit(cast, "vault.tokens_revoked") == [
        ("google-workspace", 1, "RFC 7009 revocation at the provider")]
    # the pricing AS revokes its JWTs itself: the pricing API introspects each one (RFC 7662), no CAEP needed
    code, _body = await submit(cast.control, campaign_id=campaign["id"], token=review, decision="revoke",
                               entitlement="pricing-as:client_registration:client acme-sales-agent")
    assert code == 200
    after = await use(cast, tokens)
    assert (after.pop("gmail"), after.pop("pricing")) == ((401, "invalid_token"), (401, "invalid_token"))
    assert set(after.values()) == {200}
    pricing = [e for e in cast.runtime.audit.store.entries() if e.event == "governance.tokens_revoked"
               and e.details["system"] == "pricing-as"]
    assert [(e.decision, e.details["tokens"]) for e in pricing] == [("revoke", 1)]
    assert "introspect each token (RFC 7662): refused at once" in pricing[0].details["mechanism"]
    assert not [e for e in cast.runtime.audit.store.entries() if e.event == "governance.revocation_signalled"]
    (inactive,) = [e for e in cast.runtime.audit.store.entries() if e.event == "token.introspected"]
    assert (inactive.actor, inactive.agent, inactive.decision) == ("pricing-as", AGENT, "deny")
    assert inactive.reason == "inactive: revoked"


async def test_deprovisioning_ends_every_live_token_at_every_system(channel_cast, autojump_clock):
    cast = channel_cast
    tokens = await registered_agent_with_working_tokens(cast)
    response = await cast.runtime.network.send(HttpRequest(
        method="POST", url=cast.control.governance.url(f"/agents/{AGENT}/deprovision"),
        headers={"authorization": f"Bearer {cast.control.governance_token}"}))
    assert response.status == 200 and not response.json()["failures"], response.json()
    after = await use(cast, tokens)
    assert after == {name: (401, "invalid_token") for name in tokens}, after
    systems = {row[0] for row in token_audit(cast, "governance.tokens_revoked")}
    assert {"google-workspace", "crm", "acme-idp", "pricing-as"} <= systems, systems


async def test_without_a_transmitter_the_pricing_token_is_refused_at_once(channel_cast, autojump_clock):
    cast = channel_cast
    cast.control.governance.signals = None  # a world without SSF: the pricing API learns it by introspection
    subject = await connected(cast)
    tokens = await live_tokens(cast, subject)
    await register(cast)
    campaign = await open_campaign(cast.control, AGENT)
    _mail, review = await review_email(cast.control, "john", campaign["id"])
    code, _body = await submit(cast.control, campaign_id=campaign["id"], token=review, decision="revoke",
                               entitlement="pricing-as:client_registration:client acme-sales-agent")
    assert code == 200
    assert (await use(cast, {"pricing": tokens["pricing"]}))["pricing"] == (401, "invalid_token")
    row = next(e for e in cast.runtime.audit.store.entries() if e.event == "governance.tokens_revoked")
    assert (row.decision, row.details["system"], row.details["tokens"]) == ("revoke", "pricing-as", 1)
    assert row.details["mechanism"] == ("revoked at the issuer; its resource servers introspect each token "
                                        "(RFC 7662): refused at once")
    denied = [e for e in cast.runtime.audit.store.entries() if e.event == "pricing.denied"][-1]
    assert (denied.agent, denied.details["check"]) == (AGENT, "introspection")
    removed = next(e for e in cast.runtime.audit.store.entries() if e.event == "access.client_removed")
    assert removed.details["revoked_jtis"] == [denied.details["jti"]]  # the live token the API then refused
