"""A real outside client: the official MCP SDK in a separate process (asyncio, real HTTP, real clock)
lists and reads with a token from our authorization server, gets 403 for a resource FGA denies the
user, and 401 with the right ``resource_metadata`` URL without a token."""

import io
import json
import sys
from pathlib import Path

import trio

from actors.agent import LOGIN_PATH
from actors.audit_log import AuditLog, AuditStore
from actors.browser import Navigate
from actors.mcp_client import McpAgentClient
from actors.runtime.clock import ScenarioClock
from actors.runtime.context import Runtime
from actors.runtime.logging import configure_logging
from actors.runtime.network import Network, Transport
from actors.runtime.secrets import SecretRegistry
from scenarios.library import SCENARIOS
from scenarios.phases.multi_system_execution import connect_accounts
from scenarios.sales_agent import start_cast
from scenarios.world import load_world

WORLD = load_world(SCENARIOS["sales-agent"].world_file)
CLIENT = Path(__file__).with_name("mcp_outside_client.py")


async def test_the_official_sdk_client_in_another_process():
    clock = ScenarioClock.wall()
    secrets = SecretRegistry()
    configure_logging(clock=clock, secrets=secrets, stream=io.StringIO())
    audit = AuditLog(store=AuditStore(path=None), clock=clock, secrets=secrets)
    runtime = Runtime(seed=11, clock=clock, network=Network(transport=Transport.HTTP, simulated_time=False),
                      secrets=secrets, audit=audit)
    with trio.fail_after(90):
        async with trio.open_nursery() as nursery:
            await nursery.start(audit.run)
            cast = await start_cast(world=WORLD, runtime=runtime, nursery=nursery)
            agent = cast.agents["sales-agent-prod-001"]
            assert (await cast.browsers["sarah"].ask(Navigate(url=agent.url(LOGIN_PATH)))).status == 200
            (delegation,) = agent.delegations.values()
            # the CRM server reads the CRM with Sarah's token from the vault: her account is linked first
            assert await connect_accounts(cast, user="sarah", agent=agent.name, providers=["crm"]) == {"crm": "active"}
            crm = cast.mcp_servers["mcp-crm"]
            token = await McpAgentClient(agent=agent).token_for(delegation, resource=crm.resource,
                                                                scope=("mcp:crm:read",))
            done = await trio.run_process(
                [sys.executable, str(CLIENT), crm.resource, token, "crm://contacts/acme-corp",
                 "crm://deals/globex-renewal/negotiation-notes"], capture_stdout=True, capture_stderr=True,
                check=False)
            nursery.cancel_scope.cancel()
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    out = json.loads(done.stdout)
    assert out["resources"] == ["crm://contacts/acme-corp", "crm://accounts/acme-corp/purchases",
                                "crm://accounts/acme-corp/contracts"]
    assert "Julie Martinez" in out["read"]
    assert out["denied"]["status"] == 403 and out["denied"]["code"] == -32003
    assert out["anonymous"]["status"] == 401
    assert out["metadata_url"] == crm.url("/.well-known/oauth-protected-resource/mcp")
    assert 'error=' not in out["anonymous"]["www_authenticate"]
    assert out["metadata"]["resource"] == crm.resource
    assert out["metadata"]["authorization_servers"] == [cast.idp.base_url]
