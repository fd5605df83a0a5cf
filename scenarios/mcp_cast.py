"""The MCP servers of a world, as members of the cast (SPEC.md capability 7, phase 3).

- :func:`build_mcp_servers` — one ``McpServerActor`` per ``[[servers]]`` entry of the world's MCP
  catalogue, each at its own base URL with resource identifier ``<base URL>/mcp``, protected by the
  enterprise IdP (the one issuer it trusts) and its scope.
- :func:`connect_mcp_servers` — once the FGA store is loaded: give each server its FGA client, and
  register each server as a delegation target at the IdP's RFC 8693 grant (``resource`` = its
  identifier, its one scope), so the agent can obtain a token for it and for nothing else.
- :func:`fga_directory` — how the servers name a token's subject in FGA: the world's tuples speak of
  ``user:<person id>``; tokens carry the IdP subject (``google-oauth2|…`` for federated people).
"""

from __future__ import annotations

from collections.abc import Iterable

from actors.fga_client import FgaClient
from actors.fga_service import FgaServiceActor
from actors.identity_providers import GOOGLE_SUBJECT_PREFIX, google_subject
from actors.mcp_catalogue import MCP_PATH
from actors.mcp_server import McpServerActor
from actors.oidc_provider import OidcProviderActor
from actors.runtime.context import Runtime
from protocols.mcp_authorization import McpProtection
from protocols.oidc.token_exchange_grant import DelegationTarget, TokenExchangeGrant
from protocols.protected_resource import canonical_resource
from protocols.token_exchange import GRANT_TYPE_TOKEN_EXCHANGE
from scenarios.world import World


def fga_directory(world: World, runtime: Runtime) -> dict[str, str]:
    """IdP subject → FGA user, for every person of the world."""
    directory = {}
    for person in world.people:
        if person.login == "google":
            subject = f"{GOOGLE_SUBJECT_PREFIX}|{google_subject(runtime, person.id)}"
        else:
            subject = f"auth0|{person.id}"
        directory[subject] = f"user:{person.id}"
    return directory


def build_mcp_servers(*, world: World, runtime: Runtime, idp_issuer: str) -> dict[str, McpServerActor]:
    if world.mcp is None:
        return {}
    directory = fga_directory(world, runtime)
    servers = {}
    for spec in world.mcp.servers:
        base_url = runtime.network.base_url_for(spec.name)
        protection = McpProtection.build(resource=canonical_resource(base_url + MCP_PATH), issuer=idp_issuer,
                                         required_scopes=(spec.scope,), resource_name=spec.title)
        servers[spec.name] = McpServerActor(name=spec.name, runtime=runtime, base_url=base_url, spec=spec,
                                            protection=protection, directory=directory)
    return servers


def token_exchange_grant(idp: OidcProviderActor) -> TokenExchangeGrant:
    """The IdP's installed RFC 8693 grant; installed here if the IdP was built without one."""
    assert idp.provider is not None
    handler = idp.provider.grant_handlers.get(GRANT_TYPE_TOKEN_EXCHANGE)
    grant = getattr(handler, "__self__", None)
    if isinstance(grant, TokenExchangeGrant):
        return grant
    return TokenExchangeGrant(provider=idp.provider,
                              entropy=idp.runtime.entropy_for(idp.name).child("token-exchange")).install()


def connect_mcp_servers(servers: Iterable[McpServerActor], *, fga: FgaServiceActor, idp: OidcProviderActor) -> None:
    grant = token_exchange_grant(idp)
    for server in servers:
        assert server.spec is not None
        server.fga = FgaClient(network=server.runtime.network, base_url=fga.base_url, store_id=fga.store_id,
                               authorization_model_id=fga.model_id, agent=server.name)
        grant.register_target(DelegationTarget(identifier=server.resource, name=server.name,
                                               scopes=frozenset({server.spec.scope})))
