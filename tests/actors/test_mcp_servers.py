"""The MCP servers as OAuth resource servers, on the network, over both transports: RFC 9728 metadata,
challenges, hostile tokens and bodies (never a 500), FGA on the token's user, no token passthrough,
JWKS re-read after key rotation, filtered lists, and an audit entry with its reason for each decision;
the CRM server reads the live CRM with the user's token from the token vault."""

import json

import attrs
import pytest
import trio

from actors.agent import LOGIN_PATH
from actors.browser import Navigate
from actors.mcp_client import McpAgentClient, discover
from actors.mcp_crm_source import CrmUnavailable
from actors.saas.crm import CrmActor
from actors.runtime.network import Transport
from protocols.access_token import access_token_claims, mint_access_token
from protocols.http import HttpRequest
from protocols.mcp_authorization import FORBIDDEN, INVALID_PARAMS, PARSE_ERROR
from protocols.protected_resource import parse_challenge
from protocols.token_exchange import ActClaim
from scenarios.library import SCENARIOS
from scenarios.phases.multi_system_execution import connect_accounts
from scenarios.sales_agent import start_cast
from scenarios.world import load_world
from tests.actors.runtime.helpers import running_runtime

WORLD = load_world(SCENARIOS["sales-agent"].world_file)
ACCEPT = "application/json, text/event-stream"
AGENT = "sales-agent-prod-001"


@pytest.fixture(params=list(Transport), ids=lambda t: t.value)
async def cast(request, autojump_clock):
    async with running_runtime(request.param) as (runtime, nursery, _log):
        cast = await start_cast(world=WORLD, runtime=runtime, nursery=nursery)
        # Sarah links her Salesforce account to the vault: the CRM server reads the CRM with her token.
        assert await connect_accounts(cast, user="sarah", agent=AGENT, providers=["crm"]) == {"crm": "active"}
        yield cast


def mint(cast, *, server="mcp-crm", subject=None, scope=None, lifetime=300, key=None, audience=None, agent=AGENT):
    """An access token signed by the IdP, as its token exchange would issue it."""
    target = cast.mcp_servers[server]
    now = cast.runtime.clock.now()
    subject = subject or next(s for s, u in target.directory.items() if u == "user:sarah")
    claims = access_token_claims(
        issuer=cast.idp.base_url, subject=subject, audience=audience or target.resource,
        client_id=agent, scope=scope or (target.spec.scope,), issued_at=min(now, now + lifetime - 1),
        expires_at=now + lifetime, jti=f"t-{now}-{lifetime}", act=ActClaim(sub=agent, iss=cast.idp.base_url))
    return mint_access_token(claims=claims, key=key or cast.idp.provider.keyring.active)


def rpc(url, body, token=None):
    headers = {"content-type": "application/json", "accept": ACCEPT}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return HttpRequest(method="POST", url=url, headers=headers, body=body if isinstance(body, bytes) else body.encode())


def read(uri, request_id=1):
    return '{"jsonrpc":"2.0","id":%d,"method":"resources/read","params":{"uri":"%s"}}' % (request_id, uri)


async def send(cast, request):
    return await cast.runtime.network.send(request)


def audits(cast, event):
    return [e for e in cast.runtime.audit.store.entries() if e.event == event]


async def _metadata_and_challenge_point_at_each_other(cast):
    server = cast.mcp_servers["mcp-crm"]
    found = await discover(cast.runtime.network, server.resource)
    assert found.metadata.resource == server.resource and found.scope == ("mcp:crm:read",)
    assert found.metadata.authorization_servers == (cast.idp.base_url,)
    response = await send(cast, rpc(server.resource, read("crm://contacts/acme-corp")))
    params = parse_challenge(response.header("www-authenticate"))
    assert response.status == 401 and "error" not in params
    assert params["resource_metadata"] == server.url("/.well-known/oauth-protected-resource/mcp")
    (denied,) = audits(cast, "mcp.request_denied")[-1:]
    assert (denied.decision, denied.reason) == ("deny", "no access token")


def _alg_none(token):
    return "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0." + token.split(".")[1] + "."


HOSTILE = [
    # name, request builder, status, OAuth error (challenge) or JSON-RPC code
    ("expired token", lambda c, url: rpc(url, read("crm://contacts/acme-corp"), mint(c, lifetime=-60)), 401, "invalid_token"),
    ("token for another server", lambda c, url: rpc(url, read("crm://contacts/acme-corp"), mint(c, server="mcp-pricing")), 401, "invalid_token"),
    ("token signed by an unknown key", lambda c, url: rpc(url, read("crm://contacts/acme-corp"), mint(c, key=c.runtime.new_signing_key(owner="mallory", purpose="k", alg=c.idp.signing_alg))), 401, "invalid_token"),
    ("alg none", lambda c, url: rpc(url, read("crm://contacts/acme-corp"), _alg_none(mint(c))), 401, "invalid_token"),
    ("missing scope", lambda c, url: rpc(url, read("crm://contacts/acme-corp"), mint(c, scope=("mcp:docs:read",))), 403, "insufficient_scope"),
    ("token in the query", lambda c, url: rpc(url + "?access_token=" + mint(c), read("crm://contacts/acme-corp")), 400, "invalid_request"),
    ("user without FGA relation", lambda c, url: rpc(url, read("crm://contacts/acme-corp"), mint(c, subject="auth0|john")), 403, FORBIDDEN),
    ("blocked resource", lambda c, url: rpc(url, read("crm://accounts/acme-corp/credit-risk"), mint(c)), 403, FORBIDDEN),
    ("malformed JSON-RPC", lambda c, url: rpc(url, b'{"jsonrpc":"2.0","id":1,', mint(c)), 400, PARSE_ERROR),
    ("batch", lambda c, url: rpc(url, "[" + read("crm://contacts/acme-corp") + "]", mint(c)), 400, -32600),
    ("unknown resource URI", lambda c, url: rpc(url, read("crm://nothing/here"), mint(c)), 400, INVALID_PARAMS),
    ("path traversal in a template", lambda c, url: rpc(url, read("crm://accounts/../purchases"), mint(c)), 400, INVALID_PARAMS),
    ("GET stream", lambda c, url: HttpRequest.get(url, headers={"authorization": "Bearer " + mint(c), "accept": ACCEPT}), 405, "method_not_allowed"),
    ("subscriptions/listen", lambda c, url: rpc(url, '{"jsonrpc":"2.0","id":3,"method":"subscriptions/listen"}', mint(c)), 404, -32601),
    ("unknown tool", lambda c, url: rpc(url, '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"nope","arguments":{}}}', mint(c)), 200, INVALID_PARAMS),
    ("unknown prompt", lambda c, url: rpc(url, '{"jsonrpc":"2.0","id":5,"method":"prompts/get","params":{"name":"nope"}}', mint(c)), 200, INVALID_PARAMS),
]


async def test_hostile_requests_get_the_right_status_never_a_500(cast, autojump_clock):
    """Every case of HOSTILE on one cast (a cast costs seconds of key generation)."""
    url = cast.mcp_servers["mcp-crm"].resource
    for name, build, status, error in HOSTILE:
        response = await send(cast, build(cast, url))
        assert response.status == status, (name, response.body[:300])
        body = response.json()
        if isinstance(error, int):
            assert body["jsonrpc"] == "2.0" and body["error"]["code"] == error, name
        else:
            assert body["error"] == error, name
        if status in (401, 403) and isinstance(error, str):
            params = parse_challenge(response.header("www-authenticate"))
            assert params["error"] == error and params["resource_metadata"].endswith("/oauth-protected-resource/mcp")
            assert params["scope"] == "mcp:crm:read", name
            denied = audits(cast, "mcp.request_denied")[-1]  # audited with its reason
            assert denied.decision == "deny" and denied.reason.startswith(error + ":"), (name, denied.reason)
        if error == FORBIDDEN:
            denied = audits(cast, "mcp.resource_denied")[-1]
            assert denied.decision == "deny" and denied.reason.startswith("FGA: "), name
        # the server still answers a good request afterwards
        ok = await send(cast, rpc(url, read("crm://contacts/acme-corp", 9), mint(cast)))
        assert ok.status == 200 and "Julie Martinez" in ok.json()["result"]["contents"][0]["text"], name


async def test_decisions_are_audited_and_lists_filtered(cast, autojump_clock):
    await _metadata_and_challenge_point_at_each_other(cast)
    await _every_decision_is_audited_with_user_agent_and_reason(cast)
    await _lists_show_only_what_the_user_may_read(cast)
    await _crm_data_is_the_crms_own_read_with_a_vault_token(cast)
    await _every_authenticated_request_leaves_an_entry(cast)


async def _every_authenticated_request_leaves_an_entry(cast):
    """What a (stolen) token was used for is in the trail: ``initialize``, lists, pings, tool calls are
    ``mcp.request_allowed`` with method, client and token ``jti``; a read is its own ``mcp.resource_read``
    only; a malformed message is ``mcp.request_rejected``."""
    server = cast.mcp_servers["mcp-crm"]
    sarah = next(s for s, u in server.directory.items() if u == "user:sarah")
    initialize = ('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",'
                  '"capabilities":{},"clientInfo":{"name":"x","version":"1"}}}')
    bodies = [initialize, '{"jsonrpc":"2.0","method":"notifications/initialized"}',
              '{"jsonrpc":"2.0","id":2,"method":"tools/list"}', '{"jsonrpc":"2.0","id":3,"method":"ping"}',
              '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"nope","arguments":{}}}',
              read("crm://contacts/acme-corp", 5), '{"jsonrpc":"2.0","id":6,"method":"resources/list"',
              '{"jsonrpc":"2.0","id":7,"method":"subscriptions/listen"}']
    jtis = []
    for body in bodies:
        jtis.append(f"t-{cast.runtime.clock.now()}-301")  # mint's jti
        token = mint(cast, lifetime=301)
        before = cast.runtime.audit.store.last()[0]
        response = await send(cast, rpc(server.resource, body, token))
        assert response.status in (200, 202, 400, 404), (body, response.status)
        mine = [e for e in cast.runtime.audit.store.entries() if e.seq > before and e.actor == server.name]
        assert mine, f"no audit entry for {body}"
    entries = [e for e in cast.runtime.audit.store.entries() if e.actor == server.name]
    allowed = [e for e in entries if e.event == "mcp.request_allowed"][-5:]
    assert [e.details["method"] for e in allowed] == [
        "initialize", "notifications/initialized", "tools/list", "ping", "tools/call"]
    assert [e.details["outcome"] for e in allowed] == ["result", "accepted", "result", "result", "error"]
    first = allowed[0]
    assert (first.agent, first.subject, first.decision) == (AGENT, sarah, "allow")
    assert first.details["client"] == AGENT and first.details["jti"] == jtis[0]
    assert allowed[-1].details["tool"] == "nope"
    last_read = [e for e in entries if e.event.startswith("mcp.")][-3]
    assert last_read.event == "mcp.resource_read"  # the read is named by its own entry, not twice
    parse_error, unsupported = [e for e in entries if e.event == "mcp.request_rejected"][-2:]
    assert (parse_error.decision, parse_error.agent) == ("deny", AGENT)
    assert parse_error.reason.startswith(f"JSON-RPC {PARSE_ERROR}: ")
    assert unsupported.reason == "JSON-RPC -32601: subscriptions/listen is not offered by this stateless server"


async def _crm_data_is_the_crms_own_read_with_a_vault_token(cast):
    server, crm = cast.mcp_servers["mcp-crm"], cast.vault.of_kind(CrmActor)
    sarah = next(s for s, u in server.directory.items() if u == "user:sarah")
    julie = next(c for c in crm.contacts.values() if c.name == "Julie Martinez")
    crm.contacts[julie.id] = attrs.evolve(julie, title="Chief Technology Officer")  # the CRM's state changes
    calls = len(crm.api_log)
    response = await send(cast, rpc(server.resource, read("crm://contacts/acme-corp"), mint(cast)))
    data = json.loads(response.json()["result"]["contents"][0]["text"])
    assert data["account"]["name"] == "Acme Corp" and data["account"]["territory"] == "EMEA"
    assert {"name": "Julie Martinez", "title": "Chief Technology Officer"}.items() <= data["contacts"][0].items()
    # the CRM served it to Sarah's own CRM user through the vault's client, not to a service account
    made = crm.api_log[calls:]
    assert [c.path for c in made] == ["/crm/v1/accounts/acme-corp", "/crm/v1/accounts/acme-corp/contacts"]
    assert {(c.client_id, c.service_account, c.scope) for c in made} == {("token-vault", False, "crm.read")}
    assert crm.users[made[0].subject].email == "sarah.johnson@acmecorp.example"
    # the vault served the CRM server Sarah's token, in exchange for the MCP token the agent sent
    (served, *_) = [e for e in audits(cast, "vault.token_served") if e.agent == "mcp-crm"]
    assert (served.subject, served.details["connection"], served.details["scope"]) == (sarah, "salesforce", "crm.read")
    assert served.details["delegated_to"] == AGENT and served.details["parent_jti"].startswith("t-")
    # the vault refuses a token minted for another MCP server as subject: no passthrough there either
    with pytest.raises(CrmUnavailable, match="invalid_request"):
        await server.crm.token(subject="someone-else", agent=AGENT, subject_token=mint(cast, server="mcp-docs"))
    assert audits(cast, "vault.refused")[-1].agent == "mcp-crm"
    # an agent the vault does not allow the CRM gets no CRM data through the MCP server either
    response = await send(cast, rpc(server.resource, read("crm://contacts/acme-corp"), mint(cast, agent="other-agent")))
    assert "error" in response.json() and "Julie" not in response.body.decode(), response.body[:300]
    (refused,) = audits(cast, "mcp.source_unavailable")
    assert (refused.agent, refused.decision) == ("other-agent", "deny") and "invalid_target" in refused.reason
    assert audits(cast, "mcp.resource_read")[-1].agent == AGENT  # the refused read is not audited as allowed


async def _every_decision_is_audited_with_user_agent_and_reason(cast):
    url = cast.mcp_servers["mcp-crm"].resource
    await send(cast, rpc(url, read("crm://contacts/acme-corp"), mint(cast)))
    await send(cast, rpc(url, read("crm://deals/globex-renewal/negotiation-notes"), mint(cast)))
    await send(cast, rpc(url, read("crm://contacts/acme-corp"), mint(cast, lifetime=-60)))
    (allowed,), (denied,) = audits(cast, "mcp.resource_read"), audits(cast, "mcp.resource_denied")
    sarah = next(s for s, u in cast.mcp_servers["mcp-crm"].directory.items() if u == "user:sarah")
    assert (allowed.subject, allowed.agent, allowed.decision) == (sarah, "sales-agent-prod-001", "allow")
    assert allowed.reason == "FGA: user:sarah is viewer of resource:crm/contacts/acme-corp"
    assert (denied.subject, denied.decision, denied.details["uri"]) == (
        sarah, "deny", "crm://deals/globex-renewal/negotiation-notes")
    assert denied.reason.startswith("FGA: user:sarah is not viewer")
    assert audits(cast, "mcp.request_denied")[-1].reason == "invalid_token: access token rejected: token_expired"
    fga = [e for e in cast.runtime.audit.store.entries() if e.actor == "fga" and e.event.startswith("authz.")]
    assert {e.agent for e in fga} == {"sales-agent-prod-001"}  # the FGA service knows on whose behalf


async def _lists_show_only_what_the_user_may_read(cast):
    url = cast.mcp_servers["mcp-crm"].resource
    listed = await send(cast, rpc(url, '{"jsonrpc":"2.0","id":1,"method":"resources/list"}', mint(cast)))
    uris = [r["uri"] for r in listed.json()["result"]["resources"]]
    assert uris == ["crm://contacts/acme-corp", "crm://accounts/acme-corp/purchases", "crm://accounts/acme-corp/contracts"]
    john = await send(cast, rpc(url, '{"jsonrpc":"2.0","id":1,"method":"resources/list"}', mint(cast, subject="auth0|john")))
    assert john.json()["result"]["resources"] == []
    (entry,) = audits(cast, "mcp.resources_listed")[:1]
    assert "crm://deals/globex-renewal/negotiation-notes" in entry.details["hidden"]


async def test_no_passthrough_and_key_rotation(cast, autojump_clock):
    await _a_token_exchanged_for_one_server_is_refused_by_another(cast)
    await _keys_are_re_read_after_the_idp_rotates(cast)


async def _a_token_exchanged_for_one_server_is_refused_by_another(cast):
    agent = cast.agents["sales-agent-prod-001"]
    result = await cast.browsers["sarah"].ask(Navigate(url=agent.url(LOGIN_PATH)))
    assert result.status == 200
    (delegation,) = agent.delegations.values()
    crm, pricing = cast.mcp_servers["mcp-crm"], cast.mcp_servers["mcp-pricing"]
    token = await McpAgentClient(agent=agent).token_for(delegation, resource=crm.resource, scope=("mcp:crm:read",))
    assert (await send(cast, rpc(crm.resource, read("crm://contacts/acme-corp"), token))).status == 200
    replayed = await send(cast, rpc(pricing.resource, read("pricing://enterprise-tier"), token))
    assert replayed.status == 401
    assert parse_challenge(replayed.header("www-authenticate"))["error"] == "invalid_token"
    assert "wrong_audience" in audits(cast, "mcp.request_denied")[-1].reason


async def _keys_are_re_read_after_the_idp_rotates(cast):
    url = cast.mcp_servers["mcp-crm"].resource
    assert (await send(cast, rpc(url, read("crm://contacts/acme-corp"), mint(cast)))).status == 200
    old_kid = cast.idp.provider.keyring.active.kid
    new_key = cast.runtime.new_signing_key(owner=cast.idp.name, purpose="rotation-test", alg=cast.idp.signing_alg)
    cast.idp.provider.rotate_key(new_key, now=cast.runtime.clock.now(), retire_after=3600)
    await trio.sleep(61)  # the server re-reads the JWKS at most once a minute
    assert cast.idp.provider.keyring.active.kid == new_key.kid != old_kid
    response = await send(cast, rpc(url, read("crm://contacts/acme-corp"), mint(cast)))
    assert response.status == 200, response.body[:200]
