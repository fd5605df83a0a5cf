"""The token vault and the SaaS providers of the cast (SPEC capability 4; phases 3 and 6), built
from the world's ``[vault]``, ``[[providers]]``, ``[[integrations]]`` and agents' integrations.

- each provider: its own issuer, keys (seeded per actor), authorization server and API, with the
  seed data of ``scenarios.saas_seed``; the people of the world as its users (the Workspace
  account is the person's Google account: same password and authenticator; the CRM has its own);
  an administrator service account (``client_credentials``) whose credentials the scenario keeps
  for audits and discovery;
- the vault: its SQLite store in the run directory, its ``client_secret_basic`` registration at
  every provider (admin-approved or consent-screen, per the world), the IdP it trusts, and every
  agent with integrations as a ``private_key_jwt`` client with its allowed integrations/scopes;
- per such agent its :class:`~actors.sales_workflow.AgentTools` (vault client + output filter,
  with the world's ``[vault.egress]`` policy: the organisation's domain and the listed ones inside).
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from actors.agent import AgentActor
from actors.browser import Browser, Credentials
from actors.identity_providers import DirectoryEntry, PersonSecrets, account
from actors.output_guard import OutputGuard
from actors.runtime.actor import HttpActor
from actors.runtime.context import Runtime
from actors.saas import crm, google_workspace, slack
from actors.saas.base import SaasProvider
from actors.sales_workflow import AgentTools
from actors.storage.vault_store import SqliteVaultStore
from actors.vault import VaultActor, VaultConfig
from actors.vault_client import VaultClient
from actors.vault_connect import CONNECT_CALLBACK_PATH
from actors.vault_provider import ProviderClient
from protocols.egress_policy import EgressPolicy
from protocols.jose.jwks import JwkSet
from protocols.jose.keys import KeyRing
from protocols.oauth.authorization_server import (
    CLIENT_CREDENTIALS, ApiResource, AuthorizationServer, OAuthClient, ServerConfig,
)
from protocols.oauth.client_auth import ClientAuthMethod, ClientRegistration, hash_client_secret
from protocols.oauth.metadata import metadata_url
from protocols.oauth.refresh import REFRESH_TOKEN
from protocols.token_exchange import GRANT_TYPE_TOKEN_EXCHANGE
from protocols.vault import Integration
from scenarios.saas_seed import crm_seed, workspace_seed
from scenarios.vault_world import ProviderSpec
from scenarios.world import World

DAY = 86400
_MODULES = {"crm": crm, "google-workspace": google_workspace, "slack": slack}


@attrs.frozen(kw_only=True)
class ServiceAccount:
    """An administrator service account at a provider (``client_credentials``)."""

    provider: str
    client_id: str
    secret: str = attrs.field(repr=False)
    scopes: tuple[str, ...]


@attrs.define(eq=False)
class VaultCast:
    vault: VaultActor | None = None
    providers: dict[str, SaasProvider] = attrs.field(factory=dict)
    integrations: dict[str, Integration] = attrs.field(factory=dict)
    tools: dict[str, AgentTools] = attrs.field(factory=dict)
    admins: dict[str, ServiceAccount] = attrs.field(factory=dict)

    def actors(self) -> list[HttpActor]:
        return [*self.providers.values(), *([self.vault] if self.vault is not None else [])]

    def services(self) -> list[tuple[str, str, str]]:
        rows = [(p.name, p.base_url, metadata_url(p.base_url)) for p in self.providers.values()]
        if self.vault is not None:
            rows.append((self.vault.name, self.vault.base_url, ""))
        return rows

    def of_kind(self, kind: type) -> SaasProvider:
        return next(p for p in self.providers.values() if isinstance(p, kind))


def _secret(runtime: Runtime, owner: str, purpose: str) -> str:
    secret = runtime.entropy_for(owner).child(purpose).token(32)
    runtime.secrets.add(secret)
    return secret


def _build_provider(spec: ProviderSpec, *, world: World, runtime: Runtime,
                    browsers: Mapping[str, Browser]) -> tuple[SaasProvider, ServiceAccount]:
    module = _MODULES[spec.kind]
    base = runtime.network.base_url_for(spec.name)
    absolute = spec.refresh_token_days * DAY
    config = ServerConfig(issuer=base, display_name=spec.title, scopes=module.SCOPES,
                          resources=tuple(ApiResource(uri=base + api, scopes=scopes)
                                          for api, scopes in module.APIS.items()),
                          access_token_lifetime=spec.access_token_lifetime, refresh_absolute_lifetime=absolute,
                          refresh_idle_lifetime=min(absolute, spec.refresh_token_idle_days * DAY))
    server = AuthorizationServer(config=config, entropy=runtime.entropy_for(spec.name).child("as"),
                                 keyring=KeyRing.start(runtime.new_signing_key(owner=spec.name, purpose="keys",
                                                                               alg=spec.signing_alg)))
    common = {"name": spec.name, "runtime": runtime, "base_url": base, "server": server, "display_name": spec.title}
    if spec.kind == "crm":
        provider: SaasProvider = crm.CrmActor(**common)
        data = crm_seed(world)
        provider.load(data)
        subjects = {u.email: u.id for u in data.users}
        admin_scopes: tuple[str, ...] = (crm.READ, crm.AUDIT)
    elif spec.kind == "google-workspace":
        provider = google_workspace.GoogleWorkspaceActor(**common, domain=world.domain)
        workspace = workspace_seed(world)
        provider.load(workspace)
        subjects = {u.email: u.id for u in workspace.users}
        admin_scopes = ("admin.readonly", "admin.reports")
    else:
        provider = slack.SlackActor(**common)
        subjects = {p.email: f"U{n:08d}" for n, p in enumerate(world.people, start=1)}
        provider.members.update({sub: email for email, sub in subjects.items()})
        provider.channels.update({"C00000001": "sales-emea", "C00000002": "general"})
        admin_scopes = ("channels:read",)
    for person in world.people:
        if person.email not in subjects:
            continue
        # The Workspace account is the person's Google account; other providers have their own password.
        secrets = PersonSecrets.for_person(runtime, person.id if spec.kind == "google-workspace"
                                           else f"{person.id}@{spec.name}")
        server.add_user(account(runtime=runtime, subject=subjects[person.email],
                                entry=DirectoryEntry(email=person.email, name=person.name, role=person.role,
                                                     territory=person.territory), secrets=secrets, provider=spec.name))
        browser = browsers.get(person.id)
        if browser is not None:
            browser.credentials[base] = Credentials(username=person.email, password=secrets.password,
                                                    totp_secret=secrets.totp_secret)
    admin = ServiceAccount(provider=spec.name, client_id=f"{spec.name}-admin",
                           secret=_secret(runtime, spec.name, "admin-secret"), scopes=admin_scopes)
    server.register_client(OAuthClient(
        registration=ClientRegistration(client_id=admin.client_id, name=f"{spec.title} administration",
                                        redirect_uris=(), auth_method=ClientAuthMethod.CLIENT_SECRET_BASIC,
                                        client_secret_sha256=hash_client_secret(admin.secret),
                                        grant_types=frozenset({CLIENT_CREDENTIALS}), scopes=frozenset(admin_scopes)),
        service_account=f"sa-{spec.name}-admin"))
    return provider, admin


def build_vault_cast(*, world: World, runtime: Runtime, agents: Mapping[str, AgentActor],
                     browsers: Mapping[str, Browser], idp_issuer: str) -> VaultCast:
    connected = world.connected
    cast = VaultCast()
    for spec in connected.providers:
        cast.providers[spec.name], cast.admins[spec.name] = _build_provider(spec, world=world, runtime=runtime,
                                                                            browsers=browsers)
    for spec in connected.integrations:
        cast.integrations[spec.name] = Integration(name=spec.name, provider=spec.provider,
                                                   resource=cast.providers[spec.provider].url(spec.api),
                                                   scopes=frozenset(spec.scopes))
    settings = connected.vault
    if settings is None:
        return cast
    store = SqliteVaultStore(path=runtime.data_dir / "vault.sqlite" if runtime.data_dir else None)
    vault = VaultActor(name=settings.name, runtime=runtime, base_url=runtime.network.base_url_for(settings.name),
                       config=VaultConfig(refresh_margin=settings.refresh_margin, keep_warm=settings.keep_warm,
                                          kek_rotation_period=settings.kek_rotation_days * DAY),
                       store=store, idp_issuer=idp_issuer, integrations=dict(cast.integrations))
    for spec in connected.providers:
        provider = cast.providers[spec.name]
        secret = _secret(runtime, settings.name, f"client-secret:{spec.name}")
        vault.providers[spec.name] = ProviderClient(name=spec.name, issuer=provider.base_url,
                                                    client_id=settings.name, client_secret=secret)
        assert provider.server is not None
        provider.server.register_client(OAuthClient(
            registration=ClientRegistration(
                client_id=settings.name, name=f"{world.organization} AI agents (token vault)",
                redirect_uris=(vault.url(CONNECT_CALLBACK_PATH),), auth_method=ClientAuthMethod.CLIENT_SECRET_BASIC,
                client_secret_sha256=hash_client_secret(secret),
                grant_types=frozenset({"authorization_code", REFRESH_TOKEN}),
                scopes=frozenset(_MODULES[spec.kind].SCOPES)),
            admin_consented=spec.consent == "admin"))
    resources = {name: integration.resource for name, integration in cast.integrations.items()}
    egress = None
    if settings.egress is not None:
        egress = EgressPolicy(internal_domains=frozenset({world.domain.lower(), *settings.egress.internal_domains}),
                              internal_sources=settings.egress.internal_sources)
    for spec in world.agents:
        agent = agents.get(spec.id)
        if agent is None or not spec.integrations or agent.signing_key is None:
            continue
        vault.clients[spec.id] = ClientRegistration(
            client_id=spec.id, name=spec.name, redirect_uris=(),
            jwks=JwkSet.from_json({"keys": [agent.signing_key.public_jwk()]}),
            grant_types=frozenset({GRANT_TYPE_TOKEN_EXCHANGE}))
        vault.agent_grants[spec.id] = {name: frozenset(scopes) for name, scopes in spec.integrations.items()}
        cast.tools[spec.id] = AgentTools(agent=agent, vault=VaultClient(agent=agent, vault_url=vault.base_url,
                                                                        integrations=resources),
                                         guard=OutputGuard(agent=agent, egress=egress))
    cast.vault = vault
    return cast

