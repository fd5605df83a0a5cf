"""The agent as an MCP client: discovery, per-server delegated tokens, the SDK's client over our network.

MCP authorization rev 2026-07-28 (client side, reference §8.3), RFC 9728 §3.3 and §5.1, RFC 8693:

1. **Discovery** (:func:`discover`): an unauthenticated request draws the server's ``401``; its
   ``WWW-Authenticate`` names the protected-resource metadata (``resource_metadata``) and the
   ``scope`` to ask for. The metadata's ``resource`` must be *identical* to the URL requested, and
   its ``authorization_servers`` must include the IdP the agent trusts — else the server is not used.
2. **A token per server** (:meth:`McpAgentClient.token_for`): RFC 8693 token exchange at the IdP —
   subject: the user's ID token; actor: a JWT the agent signs (the IdP records it in ``act``);
   ``resource`` = that server's identifier, ``scope`` = the challenged scope. Each server gets its
   own audience-bound token, so none can be replayed at another (no passthrough).
3. **The SDK client** (``mcp.Client`` over ``streamable_http_client``) with ``Authorization: Bearer``.
   In the channel transport its HTTP requests go through :class:`NetworkTransport` into
   ``runtime.network.send`` (the server actor's mailbox); over HTTP it is the SDK's own httpx2 stack,
   through :class:`TrackedTransport` so that simulated time waits for requests on the wire.

Tokens are registered with the run's secret registry before use and never leave this module except
in the ``Authorization`` header.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import attrs
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import Implementation, TextResourceContents

from actors.agent_context import AgentContext, ContextItem, Refusal, ServerSummary
from actors.runtime.asgi import TRANSIT_HEADER
from actors.runtime.network import Network, Transport
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, MalformedBody
from protocols.mcp_authorization import FORBIDDEN
from protocols.oauth.client_auth import build_client_assertion, client_assertion_params
from protocols.oauth.errors import OAuthError
from protocols.protected_resource import MetadataRejected, ProtectedResourceMetadata, metadata_url, parse_challenge
from protocols.token_exchange import (
    TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_JWT, TokenExchangeRequest, TokenExchangeResponse,
    TokenExchangeResponseRejected,
)

if TYPE_CHECKING:
    from actors.agent import AgentActor, Delegation

PROBE = {"jsonrpc": "2.0", "id": 0, "method": "server/discover", "params": {}}
ACCEPT = "application/json, text/event-stream"


class McpUnavailable(Exception):
    """A server that cannot be used: discovery failed, its metadata was refused, or no token."""


class NetworkTransport(httpx2.AsyncBaseTransport):
    """An httpx2 transport that hands each request to ``Network.send`` (channel transport)."""

    def __init__(self, network: Network) -> None:
        self.network = network

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        reply = await self.network.send(HttpRequest(method=request.method, url=str(request.url),
                                                    headers=tuple(request.headers.multi_items()), body=body))
        return httpx2.Response(reply.status, headers=list(reply.headers), content=reply.body, request=request)


class TrackedTransport(httpx2.AsyncBaseTransport):
    """Real HTTP (HTTP transport) that tells the network while a request or its response is on the wire
    (``Network.dispatched``/``delivered``), so simulated time does not jump past it. The response is read
    whole before it is returned, as ``NetworkTransport`` returns it."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        transit = self.network.dispatched()
        if transit is not None:
            request.headers[TRANSIT_HEADER] = transit
        try:
            response = await self.inner.handle_async_request(request)
            try:
                body = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
            finally:
                await response.aclose()
        finally:
            self.network.delivered(transit)
        return httpx2.Response(response.status_code, headers=response.headers, content=body, request=request,
                               extensions=response.extensions)

    async def aclose(self) -> None:
        await self.inner.aclose()


def http_client(network: Network, *, token: str | None = None) -> httpx2.AsyncClient:
    """The SDK client's HTTP client: our network in channel mode, real HTTP otherwise. No timeouts:
    simulated time jumps while requests are in flight (as ``Network`` does)."""
    transport: httpx2.AsyncBaseTransport | None = None  # real clock: the SDK's own stack, streaming as it likes
    if network.transport is Transport.CHANNEL:
        transport = NetworkTransport(network)
    elif network.simulated_time:
        transport = TrackedTransport(network)
    headers = {"authorization": f"Bearer {token}"} if token else None
    return httpx2.AsyncClient(transport=transport, headers=headers, timeout=None)


@attrs.frozen(kw_only=True)
class Discovered:
    url: str
    metadata: ProtectedResourceMetadata
    scope: tuple[str, ...]


async def discover(network: Network, url: str) -> Discovered:
    """Step 1 of the module docstring."""
    probe = HttpRequest.json_post(url=url, payload=PROBE, headers={"accept": ACCEPT})
    response = await network.send(probe)
    if response.status != 401:
        raise McpUnavailable(f"{url} answered {response.status} to an unauthenticated request, not 401")
    challenge = parse_challenge(response.header("www-authenticate") or "") or {}
    where = challenge.get("resource_metadata") or metadata_url(url)
    document = await network.send(HttpRequest.get(where, headers={"accept": "application/json"}))
    if document.status != 200:
        raise McpUnavailable(f"the protected-resource metadata answered {document.status}")
    try:
        metadata = ProtectedResourceMetadata.from_json(document.json(), expected_resource=url)
    except (MalformedBody, MetadataRejected) as error:
        raise McpUnavailable(f"protected-resource metadata refused: {error}") from None
    scope = tuple(challenge["scope"].split()) if challenge.get("scope") else metadata.scopes_supported
    return Discovered(url=url, metadata=metadata, scope=scope)


@attrs.define(eq=False)
class McpConnection:
    """One open MCP session for one user at one server."""

    summary: ServerSummary
    client: Client
    titles: dict[str, str] = attrs.field(factory=dict)

    async def read(self, uri: str) -> ContextItem | Refusal:
        try:
            result = await self.client.read_resource(uri)
        except MCPError as error:
            return Refusal(uri=uri, server=self.summary.name, status=403 if error.code == FORBIDDEN else 400,
                           reason=error.message)
        texts = [c.text for c in result.contents if isinstance(c, TextResourceContents)]
        content: Any = "\n".join(texts)
        if all(c.mime_type == "application/json" for c in result.contents if isinstance(c, TextResourceContents)):
            content = json.loads(content)
        return ContextItem(source=uri, server=self.summary.name, title=self.titles.get(uri, uri), content=content)

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ContextItem | Refusal:
        source = f"tool:{self.summary.name}/{name}"
        try:
            result = await self.client.call_tool(name, arguments)
        except MCPError as error:
            return Refusal(uri=source, server=self.summary.name, status=400, reason=error.message)
        if result.is_error:
            text = " ".join(getattr(c, "text", "") for c in result.content)
            return Refusal(uri=source, server=self.summary.name, status=200, reason=text)
        content = result.structured_content
        if isinstance(content, dict) and set(content) == {"result"}:
            content = content["result"]
        return ContextItem(source=source, server=self.summary.name, title=name, content=content)


@attrs.define(eq=False)
class McpAgentClient:
    """The agent's MCP client side: one per agent; tokens are obtained per user and server."""

    agent: AgentActor
    _entropy: SeededEntropy = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._entropy = self.agent.runtime.entropy_for(self.agent.name).child("mcp-token-exchange")

    async def token_for(self, delegation: Delegation, *, resource: str, scope: tuple[str, ...]) -> str:
        """Step 2: an RFC 8693 delegation token for ``resource`` on ``delegation``'s user's behalf."""
        agent, runtime = self.agent, self.agent.runtime
        rp = await agent.discover()
        entropy = self._entropy
        now = runtime.clock.now()
        assert agent.signing_key is not None
        actor_token = build_client_assertion(client_id=agent.client_id, audience=rp.issuer, key=agent.signing_key,
                                             now=now, entropy=entropy)
        exchange = TokenExchangeRequest(subject_token=delegation.id_token, subject_token_type=TOKEN_TYPE_ID_TOKEN,
                                        actor_token=actor_token, actor_token_type=TOKEN_TYPE_JWT,
                                        requested_token_type=TOKEN_TYPE_ACCESS_TOKEN, resource=(resource,),
                                        scope=scope)
        auth = client_assertion_params(client_id=agent.client_id, audience=rp.issuer, key=agent.signing_key,
                                       now=now, entropy=entropy)
        runtime.secrets.add(actor_token, auth["client_assertion"])
        request = HttpRequest(method="POST", url=rp.metadata.token_endpoint,
                              headers={"content-type": "application/x-www-form-urlencoded"},
                              body=urlencode(exchange.to_form() + list(auth.items())).encode())
        response = await runtime.network.send(request)
        try:
            token = TokenExchangeResponse.from_response(response, expected_type=TOKEN_TYPE_ACCESS_TOKEN).access_token
        except (OAuthError, TokenExchangeResponseRejected) as error:
            await agent.audit("agent.mcp_token_refused", agent=agent.name, subject=delegation.subject,
                              decision="deny", reason=f"{type(error).__name__}: {error}", resource=resource)
            raise McpUnavailable(f"no token for {resource}: {error}") from None
        runtime.secrets.add(token)
        await agent.audit("agent.mcp_token_obtained", agent=agent.name, subject=delegation.subject, decision="allow",
                          reason="delegated token for this server only (RFC 8693, act = agent)", resource=resource,
                          scope=" ".join(scope))
        return token

    @asynccontextmanager
    async def connect(self, delegation: Delegation, *, name: str, url: str) -> AsyncIterator[McpConnection]:
        """Discover, obtain the token, open the SDK session and list what the user may see."""
        agent, network = self.agent, self.agent.runtime.network
        found = await discover(network, url)
        if agent.idp_issuer not in found.metadata.authorization_servers:
            raise McpUnavailable(f"{url} does not trust our identity provider")
        token = await self.token_for(delegation, resource=found.metadata.resource, scope=found.scope)
        async with http_client(network, token=token) as http, Client(
                streamable_http_client(url, http_client=http), cache=None,
                client_info=Implementation(name=agent.name, version="1.0")) as client:
            resources = (await client.list_resources()).resources
            templates = (await client.list_resource_templates()).resource_templates
            tools = (await client.list_tools()).tools
            summary = ServerSummary(name=name, url=url, authorization_server=agent.idp_issuer, scope=found.scope,
                                    resources=tuple(str(r.uri) for r in resources),
                                    templates=tuple(t.uri_template for t in templates),
                                    tools=tuple(t.name for t in tools))
            await agent.audit("agent.mcp_connected", agent=agent.name, subject=delegation.subject, decision="allow",
                              reason="discovered via RFC 9728 metadata", server=name, resources=len(resources),
                              templates=len(templates), tools=len(tools))
            yield McpConnection(summary=summary, client=client,
                                titles={str(r.uri): r.title or r.name for r in resources})


@attrs.frozen(kw_only=True)
class ContextRequest:
    """A task and what the agent does at each server: read every resource the server lists for the
    user, then the ``asks`` (URIs it wants although unlisted) and ``tools`` ((name, arguments)) per server."""

    task: str
    asks: Mapping[str, Sequence[str]] = attrs.field(factory=dict)
    tools: Mapping[str, Sequence[tuple[str, dict[str, Any]]]] = attrs.field(factory=dict)


async def gather_context(client: McpAgentClient, delegation: Delegation, *, servers: Mapping[str, str],
                         request: ContextRequest) -> AgentContext:
    """Visit every server (name → URL) for ``delegation``'s user and keep what was allowed; refusals
    are kept by name and reason only. The result is stored on the agent, per user."""
    agent = client.agent
    summaries: list[ServerSummary] = []
    items: list[ContextItem] = []
    refused: list[Refusal] = []
    for name, url in servers.items():
        try:
            async with client.connect(delegation, name=name, url=url) as connection:
                summaries.append(connection.summary)
                wanted = [*connection.summary.resources, *request.asks.get(name, ())]
                outcomes = [await connection.read(uri) for uri in dict.fromkeys(wanted)]
                outcomes += [await connection.call_tool(tool, dict(arguments))
                             for tool, arguments in request.tools.get(name, ())]
        except McpUnavailable as error:
            refused.append(Refusal(uri=url, server=name, status=0, reason=str(error)))
            continue
        items += [o for o in outcomes if isinstance(o, ContextItem)]
        refused += [o for o in outcomes if isinstance(o, Refusal)]
    context = AgentContext(subject=delegation.subject, task=request.task, servers=tuple(summaries), items=tuple(items),
                           refused=tuple(refused))
    agent.contexts[delegation.subject] = context
    await agent.audit("agent.context_assembled", agent=agent.name, subject=delegation.subject,
                      decision="allow" if items else "deny",
                      reason=f"{len(items)} items from {len(summaries)} servers; {len(refused)} refused",
                      sources=list(context.sources), refused=[r.uri for r in refused])
    return context
