"""Governance connectors for the token vault and the pricing authorization server (issue 8, gap 2):
the sales agent's review lists its Google Workspace, e-mail, calendar and pricing grants, and a
revocation in review really removes the grant in that system — the next use fails there."""

import pytest

from actors.agent_cross_domain import CrossDomainFailed
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
