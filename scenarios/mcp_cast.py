"""The MCP servers of a world, as members of the cast (SPEC.md capability 7, phase 3).

- :func:`build_mcp_servers` — one ``McpServerActor`` per ``[[servers]]`` entry of the world's MCP
  catalogue, each at its own base URL with resource identifier ``<base URL>/mcp``, protected by the
  enterprise IdP (the one issuer it trusts) and its scope.
- :func:`connect_mcp_servers` — once the FGA store is loaded: give each server its FGA client, and
  register each server as a delegation target at the IdP's RFC 8693 grant (``resource`` = its
  identifier, its one scope), so the agent can obtain a token for it and for nothing else; a server
  with a ``vault`` binding (the CRM's) becomes a ``private_key_jwt`` client of the token vault that
  may present the tokens sent to it (audience = its identifier) for that one integration and scope.
- :func:`calendar_content` — ``workspace-calendar`` sources: the free/busy of the Google Workspace
  calendars as ``scenarios.saas_seed`` loads them, so the calendar server and phase 6's booking
  see the same calendars.
- :func:`fga_directory` — how the servers name a token's subject in FGA: the world's tuples speak of
  ``user:<person id>``; tokens carry the IdP subject (``google-oauth2|…`` for federated people).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from actors.fga_client import FgaClient
from actors.fga_service import FgaServiceActor
from actors.identity_providers import GOOGLE_SUBJECT_PREFIX, google_subject
from actors.mcp_catalogue import MCP_PATH, SOURCE_CALENDAR, McpServerSpec
from actors.mcp_crm_source import CrmViaVault
from actors.mcp_server import McpServerActor
from actors.oidc_provider import OidcProviderActor
from actors.runtime.context import Runtime
from protocols.calendar import WorkingHours, rfc3339
from protocols.jose.jwks import JwkSet
from protocols.jose.keys import Algorithm
from protocols.mcp_authorization import McpProtection
from protocols.oauth.client_auth import ClientRegistration
from protocols.oidc.token_exchange_grant import DelegationTarget, TokenExchangeGrant
from protocols.protected_resource import canonical_resource
from protocols.token_exchange import GRANT_TYPE_TOKEN_EXCHANGE
from scenarios.mcp_world import in_team
from scenarios.saas_seed import workspace_seed
from scenarios.world import World

if TYPE_CHECKING:
    from scenarios.vault_cast import VaultCast

VAULT_CLIENT_ALG = Algorithm.ES256
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


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


def calendar_content(world: World, uri: str) -> dict[str, Any]:
    """A ``workspace-calendar`` resource: ``calendar://users/<person>`` (that person's events) or
    ``calendar://availability/<team>`` (working hours and each member's busy periods, members as
    ``scenarios.mcp_world.in_team`` reads the team's name)."""
    events = sorted(workspace_seed(world).events, key=lambda e: (e.start, e.id))
    hours = WorkingHours()

    def busy(email: str, *, titled: bool) -> list[dict[str, str]]:
        return [{**({"title": e.summary} if titled else {}), "start": rfc3339(e.start), "end": rfc3339(e.end)}
                for e in events if e.calendar == email]

    kind, _, name = uri.removeprefix("calendar://").partition("/")
    if kind == "users":
        person = world.person(name)
        return {"owner": person.name, "email": person.email, "time_zone": "UTC",
                "busy": busy(person.email, titled=True)}
    members = [p for p in world.people if in_team(p.team, name)]
    return {"team": name, "time_zone": "UTC",
            "working_hours": {"start": f"{hours.start_hour:02d}:00", "end": f"{hours.end_hour:02d}:00",
                              "days": [DAYS[d] for d in sorted(hours.weekdays)]},
            "members": {p.email: busy(p.email, titled=False) for p in members}}


def _with_calendars(spec: McpServerSpec, world: World) -> McpServerSpec:
    resources = tuple(attrs.evolve(r, content=calendar_content(world, r.uri)) if r.source == SOURCE_CALENDAR else r
                      for r in spec.resources)
    return attrs.evolve(spec, resources=resources)


def build_mcp_servers(*, world: World, runtime: Runtime, idp_issuer: str) -> dict[str, McpServerActor]:
    if world.mcp is None:
        return {}
    directory = fga_directory(world, runtime)
    servers = {}
    for spec in world.mcp.servers:
        spec = _with_calendars(spec, world)
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


def connect_mcp_servers(servers: Iterable[McpServerActor], *, fga: FgaServiceActor, idp: OidcProviderActor,
                        vault: VaultCast | None = None) -> None:
    grant = token_exchange_grant(idp)
    for server in servers:
        assert server.spec is not None
        server.fga = FgaClient(network=server.runtime.network, base_url=fga.base_url, store_id=fga.store_id,
                               authorization_model_id=fga.model_id, agent=server.name)
        grant.register_target(DelegationTarget(identifier=server.resource, name=server.name,
                                               scopes=frozenset({server.spec.scope})))
        if vault is not None:
            connect_to_vault(server, vault)


def connect_to_vault(server: McpServerActor, cast: VaultCast) -> None:
    """Register ``server`` at the token vault for its ``vault`` binding (nothing when it has none or
    the world has no vault or no such integration)."""
    assert server.spec is not None
    binding, vault = server.spec.vault, cast.vault
    if binding is None or vault is None or binding.integration not in cast.integrations:
        return
    key = server.runtime.new_signing_key(owner=server.name, purpose="vault-client", alg=VAULT_CLIENT_ALG)
    vault.clients[server.name] = ClientRegistration(
        client_id=server.name, name=server.spec.title, redirect_uris=(),
        jwks=JwkSet.from_json({"keys": [key.public_jwk()]}), grant_types=frozenset({GRANT_TYPE_TOKEN_EXCHANGE}))
    vault.agent_grants[server.name] = {binding.integration: frozenset(binding.scope)}
    vault.resource_servers[server.name] = server.resource
    server.crm = CrmViaVault(runtime=server.runtime, client_id=server.name, key=key, vault_url=vault.base_url,
                             resource=cast.integrations[binding.integration].resource, scope=binding.scope)
