"""Serve the sales-agent cast over real HTTP (real clock) for the MCP conformance suite.

The suite's server scenarios send no bearer token, so this script puts a small authenticating proxy
in front of one MCP server: it signs Sarah in, obtains a delegated token for that server from our
IdP (RFC 8693, exactly as the agent does), and forwards every request with ``Authorization: Bearer``
(renewing the token before it expires). The MCP server itself is unchanged: gate, FGA, audit.
A ``Host`` header naming the proxy is rewritten to the server's; any other ``Host`` is forwarded as
sent, so the DNS-rebinding scenario still reaches the server's own check.

For the authorization-server suite's ``authorization-code-grant`` scenario (which prints an
authorization URL for a person to open) it registers a confidential client ``mcp-conformance`` at the
IdP (``client_secret_basic``, redirect ``http://127.0.0.1:3000/callback``, the suite's callback) and
answers ``POST /__browse`` (body: that URL) by having Sarah's browser open it: she signs in with
Google, the IdP redirects to the suite's callback with the code, and the suite redeems it.

Writes ``{"proxy": ..., "server": ..., "idp": ..., "client_id": ..., "conformance_client": ...,
"conformance_secret": ...}`` to the file given as the first argument once ready (a throwaway client
of this throwaway run), then serves until killed.
"""

from __future__ import annotations

import functools
import io
import json
import socket
import sys
import traceback
from pathlib import Path

import httpx
import trio
from hypercorn.config import Config, Sockets
from hypercorn.trio.run import worker_serve
from hypercorn.utils import wrap_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.agent import LOGIN_PATH  # noqa: E402
from actors.audit_log import AuditLog, AuditStore  # noqa: E402
from actors.browser import Navigate  # noqa: E402
from actors.mcp_client import McpAgentClient  # noqa: E402
from actors.runtime.clock import ScenarioClock  # noqa: E402
from actors.runtime.context import Runtime  # noqa: E402
from actors.runtime.logging import configure_logging  # noqa: E402
from actors.runtime.network import Network, Transport  # noqa: E402
from actors.runtime.secrets import SecretRegistry  # noqa: E402
from protocols.oauth.client_auth import ClientAuthMethod, ClientRegistration, hash_client_secret  # noqa: E402
from scenarios.library import SCENARIOS  # noqa: E402
from scenarios.sales_agent import start_cast  # noqa: E402
from scenarios.world import load_world  # noqa: E402

SERVER = "mcp-docs"
RENEW_AFTER = 200
CONFORMANCE_CLIENT = "mcp-conformance"
SUITE_CALLBACK = "http://127.0.0.1:3000/callback"


async def main(ready_file: str) -> None:
    world = load_world(SCENARIOS["sales-agent"].world_file)
    clock = ScenarioClock.wall()
    secrets = SecretRegistry()
    configure_logging(clock=clock, secrets=secrets, stream=io.StringIO())
    audit = AuditLog(store=AuditStore(path=None), clock=clock, secrets=secrets)
    runtime = Runtime(seed=5, clock=clock, network=Network(transport=Transport.HTTP, simulated_time=False),
                      secrets=secrets, audit=audit)
    async with trio.open_nursery() as nursery:
        await nursery.start(audit.run)
        cast = await start_cast(world=world, runtime=runtime, nursery=nursery)
        agent = cast.agents["sales-agent-prod-001"]
        await cast.browsers["sarah"].ask(Navigate(url=agent.url(LOGIN_PATH)))
        (delegation,) = agent.delegations.values()
        server = cast.mcp_servers[SERVER]
        client = McpAgentClient(agent=agent)
        secret = runtime.entropy_for(CONFORMANCE_CLIENT).child("secret").token(32)
        secrets.add(secret)
        cast.idp.provider.register_client(ClientRegistration(
            client_id=CONFORMANCE_CLIENT, name="MCP conformance suite", redirect_uris=(SUITE_CALLBACK,),
            auth_method=ClientAuthMethod.CLIENT_SECRET_BASIC, client_secret_sha256=hash_client_secret(secret),
            scopes=frozenset({"openid", "profile", "email"}), grant_types=frozenset({"authorization_code"})))
        token = {"value": "", "at": -1e9}

        async def bearer() -> str:
            if trio.current_time() - token["at"] > RENEW_AFTER:
                token["value"] = await client.token_for(delegation, resource=server.resource,
                                                        scope=(server.spec.scope,))
                token["at"] = trio.current_time()
            return token["value"]

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        sock.setblocking(False)
        proxy_netloc = "127.0.0.1:%d" % sock.getsockname()[1]
        server_netloc = server.base_url.split("://", 1)[1]

        async with httpx.AsyncClient(timeout=30) as http:
            async def app(scope, receive, send):
                if scope["type"] == "lifespan":
                    while (message := await receive())["type"] != "lifespan.shutdown":
                        await send({"type": "lifespan.startup.complete"})
                    await send({"type": "lifespan.shutdown.complete"})
                    return
                try:
                    if scope["path"] == "/__browse" and scope["method"] == "POST":
                        await browse(receive, send)
                        return
                    await forward(scope, receive, send)
                except Exception:  # the proxy is a test harness: say what broke
                    traceback.print_exc()
                    raise

            async def browse(receive, send):
                url = (await receive()).get("body", b"").decode().strip()
                result = await cast.browsers["sarah"].ask(Navigate(url=url))
                body = json.dumps({"status": result.status, "problem": result.problem}).encode()
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": body})

            async def forward(scope, receive, send):
                body = b""
                while True:
                    message = await receive()
                    body += message.get("body", b"")
                    if not message.get("more_body"):
                        break
                headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k.lower() != b"authorization"]
                port, server_port = proxy_netloc.split(":")[1], server_netloc.split(":")[1]
                headers = [(k, v.replace(f":{port}", f":{server_port}"))  # our own address, under either name
                           if k.lower() in ("host", "origin") and v.split("//")[-1] in (proxy_netloc, f"localhost:{port}")
                           else (k, v) for k, v in headers]
                headers.append(("authorization", f"Bearer {await bearer()}"))
                query = scope.get("query_string", b"").decode()
                url = server.base_url + scope["path"] + (f"?{query}" if query else "")
                reply = await http.request(scope["method"], url, headers=headers, content=body)
                await send({"type": "http.response.start", "status": reply.status_code,
                            "headers": [(k.encode(), v.encode()) for k, v in reply.headers.items()
                                        if k.lower() not in ("content-length", "transfer-encoding", "date", "server")]})
                await send({"type": "http.response.body", "body": reply.content})

            config = Config()
            config.accesslog = config.errorlog = None
            await nursery.start(functools.partial(worker_serve, wrap_app(app, config.wsgi_max_body_size, "asgi"), config, sockets=Sockets(
                secure_sockets=[], insecure_sockets=[sock], quic_sockets=[])))
            Path(ready_file).write_text(json.dumps({
                "proxy": f"http://{proxy_netloc}/mcp", "server": server.resource, "idp": cast.idp.base_url,
                "client_id": agent.client_id, "conformance_client": CONFORMANCE_CLIENT,
                "conformance_secret": secret}))
            await trio.sleep_forever()


if __name__ == "__main__":
    trio.run(main, sys.argv[1])
