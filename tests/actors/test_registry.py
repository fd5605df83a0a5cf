"""The agent registry over both transports: SCIM resource shape, lifecycle, refusals with scimType."""

import json

import pytest

from actors.registry import RegistryActor
from actors.registry_client import RegistryClient
from actors.runtime.network import Transport
from protocols.agent_registry import AGENT_SCHEMA, Directory
from protocols.http import HttpRequest
from protocols.scim import ERROR_SCHEMA, PATCH_SCHEMA, ScimError
from tests.actors.runtime.helpers import running_runtime

DIRECTORY = Directory(people={"john": "John Smith", "sarah": "Sarah Johnson"}, teams={"marketing": "Marketing"})
SALES = {"id": "sales-agent-prod-001", "displayName": "Sales proposal agent", "lifecycleState": "registered",
         "owner": {"value": "john"}, "purpose": "automated proposal generation and prospect research",
         "accounts": [{"system": "crm", "value": "svc-sales"}], "metadata": {"environment": "prod"}}


@pytest.fixture(params=list(Transport), ids=lambda t: t.value)
async def registry(request, autojump_clock):
    async with running_runtime(request.param) as (runtime, nursery, _log):
        actor = RegistryActor(name="registry", runtime=runtime, base_url=runtime.network.base_url_for("registry"),
                              directory=DIRECTORY)
        runtime.network.register(actor)
        await nursery.start(actor.run)
        await nursery.start(runtime.network.serve)
        security = RegistryClient(network=runtime.network, base_url=actor.base_url,
                                  token=actor.issue_operator_token(operator="security-team", role="security"))
        yield actor, security


async def refused(call, status, scim_type):
    with pytest.raises(ScimError) as caught:
        await call
    assert caught.value.status == status and caught.value.scim_type == scim_type, caught.value.detail
    return caught.value.detail


async def test_create_read_and_scim_shape(registry):
    actor, security = registry
    created = await security.create(SALES)
    assert created["schemas"] == [AGENT_SCHEMA] and created["id"] == "sales-agent-prod-001"
    assert created["owner"] == {"value": "john", "display": "John Smith", "type": "person"}
    assert created["meta"]["resourceType"] == "Agent" and created["meta"]["version"] == 'W/"1"'
    assert created["meta"]["location"].endswith("/Agents/sales-agent-prod-001")
    assert await security.get("sales-agent-prod-001") == created
    found = await security.query('accounts.value eq "crm:svc-sales"')
    assert [r["id"] for r in found] == ["sales-agent-prod-001"]
    assert await security.query('lifecycleState eq "active"') == []


async def test_lifecycle_moves_are_recorded_and_bad_ones_refused(registry):
    actor, security = registry
    await security.create(SALES)
    await security.replace("sales-agent-prod-001", lifecycleState="active")
    detail = await refused(security.replace("sales-agent-prod-001", lifecycleState="registered"), 400, "invalidValue")
    assert "cannot go from active to registered" in detail and "suspended" in detail
    await security.replace("sales-agent-prod-001", lifecycleState="suspended")
    await security.replace("sales-agent-prod-001", lifecycleState="decommissioned")
    await refused(security.replace("sales-agent-prod-001", lifecycleState="active"), 400, "mutability")
    history = await security.history("sales-agent-prod-001")
    states = [c["after"] for h in history for c in h["changes"] if c["attribute"] == "lifecycleState"]
    assert states == ["registered", "active", "suspended", "decommissioned"]
    assert all(h["actor"] == "security-team" for h in history)
    await refused(security.create({**SALES, "id": "new-agent-002", "lifecycleState": "active"}), 400, "invalidValue")


async def test_unknown_owner_duplicate_id_and_missing_owner_are_refused(registry):
    actor, security = registry
    detail = await refused(security.create({**SALES, "owner": {"value": "mallory"}}), 400, "invalidValue")
    assert "unknown owner 'mallory'" in detail
    await security.create(SALES)
    detail = await refused(security.create(SALES), 409, "uniqueness")
    assert "already exists" in detail
    no_owner = {k: v for k, v in SALES.items() if k != "owner"} | {"id": "agent-without-owner"}
    assert "needs an owner" in await refused(security.create(no_owner), 400, "invalidValue")
    discovered = await security.create({"displayName": "unknown CRM integration", "lifecycleState": "discovered"})
    assert discovered["id"].startswith("agt-")
    await refused(security.replace(discovered["id"], lifecycleState="registered"), 400, "invalidValue")


async def test_roles_and_raw_http_errors(registry):
    actor, security = registry
    network = actor.runtime.network
    reader = RegistryClient(network=network, base_url=actor.base_url,
                            token=actor.issue_operator_token(operator="auditor", role="reader"))
    discovery = RegistryClient(network=network, base_url=actor.base_url,
                               token=actor.issue_operator_token(operator="discovery", role="discovery"))
    await refused(reader.create(SALES), 403, None)
    await refused(discovery.create(SALES), 403, None)
    await security.create(SALES)
    await refused(security.replace("sales-agent-prod-001", dependencies=[]), 400, "mutability")
    await refused(security.replace("sales-agent-prod-001", colour="blue"), 400, "invalidPath")
    await refused(security.query('purpose co "x"'), 400, "invalidFilter")
    await refused(security.get("nobody-here"), 404, None)
    anonymous = await network.send(HttpRequest.get(actor.base_url + "/Agents"))
    assert anonymous.status == 401 and anonymous.json()["schemas"] == [ERROR_SCHEMA]
    headers = {"authorization": f"Bearer {security.token}", "content-type": "application/scim+json"}
    for method, path, body, status, scim_type in [
        ("POST", "/Agents", b"{not json", 400, "invalidSyntax"),
        ("POST", "/Agents", json.dumps({"displayName": "x"}).encode(), 400, "invalidSyntax"),
        ("PATCH", "/Agents/sales-agent-prod-001", json.dumps({"schemas": [PATCH_SCHEMA], "Operations": []}).encode(),
         400, "invalidSyntax"),
        ("DELETE", "/Agents/sales-agent-prod-001", b"", 405, None),
        ("PUT", "/Agents/sales-agent-prod-001", b"{}", 405, None),
    ]:
        response = await network.send(HttpRequest(method=method, url=actor.base_url + path, body=body, headers=headers))
        assert response.status == status, (method, path, response.body)
        assert response.json().get("scimType") == scim_type
    stale = await network.send(HttpRequest(
        method="PATCH", url=actor.base_url + "/Agents/sales-agent-prod-001", headers={**headers, "if-match": 'W/"9"'},
        body=json.dumps({"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "path": "purpose",
                                                                    "value": "x"}]}).encode()))
    assert stale.status == 412
