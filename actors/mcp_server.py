"""An MCP server actor: the official MCP SDK's streamable-HTTP app behind an OAuth resource-server gate.

SPEC.md capability 7, DESIGN.md §3. The SDK (``mcp.server.mcpserver.MCPServer``) serves the MCP
protocol — resources, resource templates, tools — in stateless JSON-response mode. This actor owns
it and answers every request from its mailbox (``call_asgi``: the SDK's ASGI app runs in-process, so
the channel transport needs no sockets and the HTTP transport reaches the same code through
``AsgiBridge``). Before the SDK sees a request, the gate (``protocols.mcp_authorization``):

1. serves the RFC 9728 document at ``/.well-known/oauth-protected-resource/mcp``;
2. accepts only ``POST /mcp`` (no SSE stream, no sessions to delete: ``405``);
3. authenticates the bearer token (issuer JWKS, re-read when an unknown ``kid`` appears — key
   rotation), exact audience, scope → ``401``/``403`` challenges;
4. parses the JSON-RPC body strictly; for ``resources/read`` asks FGA whether the *user* of the
   token (``sub``, never the agent) is ``viewer`` of the resource → ``403`` when not.

Inside the SDK, resource lists are filtered by the same FGA decisions (a batch check) and tools
read through the same check (``actors.mcp_tools``). A resource whose source is the CRM is read live
from the CRM's API with the user's token from the token vault (``actors.mcp_crm_source``); a CRM
the vault will not open for the user is a JSON-RPC error, audited as ``mcp.source_unavailable``. The SDK's own auth hooks are wired too: its
``TokenVerifier`` answers from what the gate verified for the request being served (the mailbox
serves one request at a time), so the SDK's ``RequireAuthMiddleware`` and ``get_access_token()``
see the same principal. Every decision is audited: ``mcp.request_denied``, ``mcp.resource_read``,
``mcp.resource_denied``, ``mcp.resources_listed``. Every authenticated request leaves at least one
entry, so the trail shows what a token (a stolen one too) was used for: a request the SDK served
that no entry of its own names — ``initialize``, ``notifications/*``, ``ping``, ``tools/list``,
``tools/call`` (always: the tool's reads are separate entries), a resource read that failed — is
``mcp.request_allowed`` (method, tool, outcome, client, token ``jti``); a malformed or unsupported
JSON-RPC message is ``mcp.request_rejected`` (deny, with the JSON-RPC error).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import attrs
import trio
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.server.mcpserver.resources import FunctionResource
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp_types import Resource

from actors.fga_client import FgaClient
from actors.mcp_catalogue import MCP_PATH, McpServerSpec, render
from actors.mcp_crm_source import CrmUnavailable, CrmViaVault, crm_account
from actors.mcp_tools import install_tools
from actors.rag_filter import postfilter
from actors.runtime.actor import HttpActor
from actors.runtime.asgi_app import call_asgi
from actors.runtime.network import Unreachable
from protocols.fga.errors import FgaError
from protocols.fga.rag import candidates_for_uris, object_for_uri
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.jose.jwks import InvalidJwkSet, JwkSet
from protocols.mcp_authorization import (
    INVALID_PARAMS, METHOD_NOT_FOUND, Authorized, McpMessage, McpProtection, MissingBearerToken, RpcRejected, authenticate,
    challenge, fga_user, forbidden, parse_message, token_key_id,
)
from protocols.oauth.errors import MethodNotAllowed, NotFound, OAuthError, TemporarilyUnavailable
from protocols.oidc.discovery import DiscoveryRejected, ProviderMetadata, discovery_url
from protocols.protected_resource import metadata_path

RELATION = "viewer"
JWKS_REFRESH_INTERVAL = 60
"""Least time between two JWKS reads triggered by unknown key ids (a token cannot force a storm)."""
UNSUPPORTED_METHODS = frozenset({"subscriptions/listen", "resources/subscribe", "resources/unsubscribe"})
"""Streams and subscriptions need the SSE path this stateless JSON server does not offer."""
SELF_AUDITED_METHODS = frozenset({"resources/read", "resources/list"})
"""Methods whose own entries (``mcp.resource_read``, ``mcp.resources_listed``) already name the request."""


def _has_result(response: HttpResponse) -> bool:
    """The SDK answered with a JSON-RPC result (not an error object)."""
    try:
        body = response.json()
    except MalformedBody:
        return False
    return isinstance(body, dict) and "result" in body


class _FgaFilteredServer(MCPServer):
    """The SDK server whose ``resources/list`` shows only what the token's user may read, and which
    answers an unknown tool or prompt with the JSON-RPC error the MCP spec names (``-32602``,
    server/tools and server/prompts "Error Handling") rather than a tool result or an internal error."""

    visible: Any = None

    async def list_resources(self) -> list[Resource]:
        resources = await super().list_resources()
        allowed = set(await self.visible([str(r.uri) for r in resources]))
        return [r for r in resources if str(r.uri) in allowed]

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        if self._tool_manager.get_tool(name) is None:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {name}")
        return await super().call_tool(name, arguments, context)

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None, context: Any = None) -> Any:
        if self._prompt_manager.get_prompt(name) is None:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {name}")
        return await super().get_prompt(name, arguments, context)


@attrs.define(eq=False)
class _GateVerifier:
    """The SDK's ``TokenVerifier``: the token the gate verified for the request being served."""

    actor: McpServerActor

    async def verify_token(self, token: str) -> AccessToken | None:
        authorized = self.actor._serving.get(token)
        if authorized is None:
            return None
        protection = self.actor.protection
        # ``exp`` was enforced by the gate against the scenario clock; the SDK would compare it
        # with the wall clock, which a simulated 2025 run is long past — so it is not repeated.
        return AccessToken(token=token, client_id=authorized.token.client_id,
                           scopes=sorted(set(authorized.scopes) | set(protection.required_scopes)),
                           resource=protection.resource, subject=authorized.subject,
                           claims={"iss": protection.issuer, "agent": authorized.agent})


@attrs.define(eq=False)
class McpServerActor(HttpActor):
    """One MCP server: ``spec`` (its resources), ``protection`` (its RS settings), an FGA client and
    the directory mapping token subjects to FGA users."""

    spec: McpServerSpec | None = None
    protection: McpProtection | None = None
    fga: FgaClient | None = None
    directory: Mapping[str, str] = attrs.field(factory=dict)
    crm: CrmViaVault | None = None
    """How ``crm`` sources are read (set when the cast wires the server to the token vault)."""
    mcp: _FgaFilteredServer = attrs.field(init=False, repr=False)
    _app: Any = attrs.field(init=False, repr=False)
    _keys: JwkSet | None = attrs.field(default=None, init=False, repr=False)
    _keys_read_at: float = attrs.field(default=float("-inf"), init=False)
    _serving: dict[str, Authorized] = attrs.field(factory=dict, init=False, repr=False)
    _audited: int = attrs.field(default=0, init=False, repr=False)
    """Entries this server has written (the mailbox serves one request at a time, so the count
    before and after a request tells whether serving it wrote one)."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        assert self.spec is not None and self.protection is not None
        self.mcp = _FgaFilteredServer(
            self.name, title=self.spec.title, instructions=self.spec.instructions, version="1.0",
            token_verifier=_GateVerifier(self), log_level="WARNING", subscriptions=False,
            auth=AuthSettings(issuer_url=self.protection.issuer, resource_server_url=self.protection.resource,
                              required_scopes=list(self.protection.required_scopes), validate_token_resource=True))
        self.mcp.visible = self.visible
        for resource in self.spec.resources:
            self.mcp.add_resource(FunctionResource(uri=resource.uri, name=resource.name, title=resource.title,
                                                   description=resource.description or None,
                                                   mime_type=resource.mime_type, fn=self._reader(resource.uri)))
        for template in self.spec.templates:
            self.mcp.resource(template.uri_template, name=template.name, title=template.title,
                              description=template.description or None,
                              mime_type=template.mime_type)(self._template_reader(template.uri_template))
        install_tools(self.mcp, spec=self.spec, access=self)
        origin = urlsplit(self.base_url)
        hosts = [origin.netloc] + ([f"localhost:{origin.port}"] if origin.hostname == "127.0.0.1" else [])
        self._app = self.mcp.streamable_http_app(
            streamable_http_path=MCP_PATH, json_response=True, stateless_http=True,
            transport_security=TransportSecuritySettings(
                enable_dns_rebinding_protection=True, allowed_hosts=hosts,
                allowed_origins=[f"{origin.scheme}://{h}" for h in hosts]))

    @property
    def resource(self) -> str:
        assert self.protection is not None
        return self.protection.resource

    # -- lifecycle ---------------------------------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with self._app.router.lifespan_context(self._app), trio.open_nursery() as nursery:
            await nursery.start(super().run)
            task_status.started()

    # -- the gate ----------------------------------------------------------------------------------
    async def handle(self, request: HttpRequest) -> HttpResponse:
        assert self.protection is not None and self.spec is not None
        if request.path == metadata_path(self.resource):
            if request.method.upper() != "GET":
                raise MethodNotAllowed("the metadata document is read with GET")
            return self.protection.metadata.to_response()
        if request.path != MCP_PATH:
            raise NotFound(f"no endpoint at {request.path}")
        if request.method.upper() != "POST":
            response = MethodNotAllowed("this stateless server takes JSON-RPC over POST only").to_response()
            return attrs.evolve(response, headers=response.headers + (("allow", "POST"),))
        try:
            authorized = authenticate(request, protection=self.protection, keys=await self._keys_for(request),
                                      now=self.runtime.clock.now())
        except MissingBearerToken:
            await self._denied(None, "no access token")
            return challenge(None, protection=self.protection)
        except OAuthError as error:
            if isinstance(error, TemporarilyUnavailable):
                raise
            await self._denied(None, f"{error.error}: {error.description}")
            return challenge(error, protection=self.protection)
        try:
            message = parse_message(request.body)
            if message.method in UNSUPPORTED_METHODS:
                raise RpcRejected(METHOD_NOT_FOUND, f"{message.method} is not offered by this stateless server",
                                  request_id=message.id)
            uri = message.resource_uri()
            if uri is not None:
                obj = self.spec.catalogue().fga_object(message, uri)
                allowed, reason = await self._check(authorized, obj)
                if not allowed:
                    await self._audit_read(authorized, uri, allowed=False, reason=reason)
                    return forbidden(message, uri=uri, reason=reason)
        except RpcRejected as rejected:
            await self.audit("mcp.request_rejected", agent=authorized.agent, subject=authorized.subject,
                             decision="deny", reason=f"JSON-RPC {rejected.code}: {rejected.message}"[:200],
                             client=authorized.token.client_id, jti=authorized.token.jti, server=self.name)
            return rejected.to_response()
        return await self._serve(request, authorized, message, uri)

    async def _serve(self, request: HttpRequest, authorized: Authorized, message: McpMessage,
                     uri: str | None) -> HttpResponse:
        token = request.header("authorization").partition(" ")[2].strip()
        self._serving[token] = authorized
        audited = self._audited
        try:
            response = await call_asgi(self._app, request)
        finally:
            self._serving.pop(token, None)
        answered = response.status == 200 and _has_result(response)
        if uri is not None and answered:
            await self._audit_read(authorized, uri, allowed=True,
                                   reason=f"FGA: {self._user(authorized)} is {RELATION} of {object_for_uri(uri)}")
        if message.method not in SELF_AUDITED_METHODS or self._audited == audited:
            tool = message.params.get("name") if message.method == "tools/call" else None
            named = {"tool": tool[:100]} if isinstance(tool, str) else {}
            outcome = "result" if answered else "accepted" if response.status == 202 else "error"
            await self.audit("mcp.request_allowed", agent=authorized.agent, subject=authorized.subject,
                             decision="allow", reason=f"token accepted for {message.method[:100]}",
                             method=message.method[:100], **named, outcome=outcome,
                             client=authorized.token.client_id, jti=authorized.token.jti, server=self.name)
        return response

    async def audit(self, event: str, **fields: Any) -> None:
        """Record one entry, counted so that ``_serve`` knows whether a request wrote its own."""
        self._audited += 1
        await super().audit(event, **fields)

    async def _denied(self, authorized: Authorized | None, reason: str) -> None:
        await self.audit("mcp.request_denied", agent=authorized.agent if authorized else None,
                         subject=authorized.subject if authorized else None, decision="deny", reason=reason,
                         resource=self.resource)

    async def _keys_for(self, request: HttpRequest) -> JwkSet:
        """The issuer's keys, re-read on an unknown ``kid`` (key rotation) at most every minute."""
        assert self.protection is not None
        header = request.header("authorization") or ""
        kid = token_key_id(header.partition(" ")[2].strip()) if header.lower().startswith("bearer ") else None
        now = self.runtime.clock.now_float()
        stale = self._keys is None or (kid is not None and self._keys.lookup(kid) is None)
        if stale and now - self._keys_read_at >= JWKS_REFRESH_INTERVAL:
            self._keys_read_at = now
            try:
                self._keys = await self._read_issuer_keys()
            except (Unreachable, MalformedBody, DiscoveryRejected, InvalidJwkSet, OAuthError) as error:
                self.log.warning("jwks.unavailable", issuer=self.protection.issuer, error_type=type(error).__name__)
        if self._keys is None:
            raise TemporarilyUnavailable("the authorization server's keys cannot be read")
        return self._keys

    async def _read_issuer_keys(self) -> JwkSet:
        assert self.protection is not None
        network = self.runtime.network
        response = await network.send(HttpRequest.get(discovery_url(self.protection.issuer)))
        if response.status != 200:
            raise TemporarilyUnavailable(f"discovery answered {response.status}")
        metadata = ProviderMetadata.from_json(response.json(), expected_issuer=self.protection.issuer)
        response = await network.send(HttpRequest.get(metadata.jwks_uri))
        if response.status != 200:
            raise TemporarilyUnavailable(f"the JWKS answered {response.status}")
        keys = JwkSet.from_json(response.json())
        self.log.info("jwks.read", issuer=self.protection.issuer, kids=sorted(keys.kids()))
        return keys

    # -- FGA ---------------------------------------------------------------------------------------
    def _user(self, authorized: Authorized) -> str:
        return fga_user(authorized.subject, directory=self.directory)

    async def _check(self, authorized: Authorized, obj: str) -> tuple[bool, str]:
        assert self.fga is not None
        user = self._user(authorized)
        client = attrs.evolve(self.fga, agent=authorized.agent)
        try:
            allowed = await client.check(user=user, relation=RELATION, object=obj)
        except (FgaError, Unreachable) as error:  # fail closed
            return False, f"FGA unavailable ({type(error).__name__}): denied"
        verdict = "is" if allowed else "is not"
        return allowed, f"FGA: {user} {verdict} {RELATION} of {obj}"

    async def _audit_read(self, authorized: Authorized, uri: str, *, allowed: bool, reason: str,
                          via: str = "resources/read") -> None:
        await self.audit("mcp.resource_read" if allowed else "mcp.resource_denied", agent=authorized.agent,
                         subject=authorized.subject, decision="allow" if allowed else "deny", reason=reason,
                         uri=uri, via=via, server=self.name)

    def _current(self) -> Authorized:
        return self._principal()[1]

    def _principal(self) -> tuple[str, Authorized]:
        """The bearer token of the request being served and what the gate verified of it."""
        token = get_access_token()
        authorized = self._serving.get(token.token) if token is not None else None
        if token is None or authorized is None:  # the gate verified every request that reaches the SDK
            raise ResourceError("no verified principal for this request")
        return token.token, authorized

    async def _content(self, uri: str) -> str:
        """The text of ``uri``: from the catalogue, or live from the CRM through the vault."""
        assert self.spec is not None
        resource = self.spec.resource(uri)
        if resource is not None and not resource.live:
            return resource.text
        if self.crm is None or crm_account(uri) is None:
            raise ResourceNotFoundError(f"Unknown resource: {uri}")
        token, authorized = self._principal()
        try:
            data = await self.crm.read(uri, subject=authorized.subject, agent=authorized.agent, subject_token=token)
        except CrmUnavailable as error:
            await self.audit("mcp.source_unavailable", agent=authorized.agent, subject=authorized.subject,
                             decision="deny", reason=str(error), uri=uri, server=self.name)
            raise ResourceError(f"the CRM cannot be read for this user: {error}") from None
        if data is None:
            raise ResourceNotFoundError(f"Unknown resource: {uri}")
        return render(data)

    # -- ResourceAccess (actors.mcp_tools) and the list filter -------------------------------------
    async def visible(self, uris: Sequence[str]) -> list[str]:
        """The URIs the current user may read (one BatchCheck), audited as one listing."""
        assert self.fga is not None
        authorized = self._current()
        user = self._user(authorized)
        client = attrs.evolve(self.fga, agent=authorized.agent)
        try:
            result = await postfilter(client, user=user, relation=RELATION, candidates=candidates_for_uris(uris))
            kept, hidden = list(result.kept_ids), list(result.dropped_ids)
        except (FgaError, Unreachable) as error:
            kept, hidden = [], list(uris)
            self.log.warning("fga.unavailable", error_type=type(error).__name__)
        await self.audit("mcp.resources_listed", agent=authorized.agent, subject=authorized.subject,
                         decision="allow" if kept else "deny",
                         reason=f"FGA: {user} may read {len(kept)} of {len(uris)}", shown=kept, hidden=hidden,
                         server=self.name)
        return kept

    async def read(self, uri: str) -> str | None:
        assert self.spec is not None
        if self.spec.resource(uri) is None and (self.crm is None or crm_account(uri) is None):
            return None
        authorized = self._current()
        allowed, reason = await self._check(authorized, object_for_uri(uri))
        if not allowed:
            await self._audit_read(authorized, uri, allowed=False, reason=reason, via="tool")
            return None
        try:
            text = await self._content(uri)
        except ResourceNotFoundError:
            return None
        await self._audit_read(authorized, uri, allowed=True, reason=reason, via="tool")
        return text

    def now(self) -> int:
        return self.runtime.clock.now()

    def _reader(self, uri: str) -> Any:
        async def read() -> str:
            return await self._content(uri)
        return read

    def _template_reader(self, template: str) -> Any:
        names = [part.split("}")[0] for part in template.split("{")[1:]]

        async def read(**params: str) -> str:
            uri = template
            for name in names:
                uri = uri.replace("{" + name + "}", params[name])
            return await self._content(uri)
        # The SDK binds template variables to the function's parameters by name.
        read.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=str) for n in names],
            return_annotation=str)
        read.__annotations__ = {**{n: str for n in names}, "return": str}
        return read
