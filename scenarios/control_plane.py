"""The "one control point for all agents" of a run: agent registry, shadow-AI discovery,
privileged-credential vault, governance and the mail service its notifications go through,
wired to the systems the agents reach (the CRM and databases).

``start_control_plane`` builds and starts these actors on the run's network. A cast that already
has a CRM (``crm``) lends it; otherwise the control plane runs its own Salesforce-like CRM. The
platform's own integrations at the CRM (discovery's read-only audit access, the vault's and
governance's administrative access) are service accounts registered there like any other.

``govern_systems`` then gives governance a connector for each further system of the cast that
holds agents' grants (token vault, authorization servers, IdP, FGA), installing that system's
administrative grant API first (``actors.grant_admin``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import trio

from actors.credential_client import VaultCredentialClient
from actors.discovery import DiscoveryActor, LogSource
from actors.governance import GovernanceActor
from actors.governance_connectors import (
    AdminApi, ClientRegistrationConnector, DatabaseConnector, FgaConnector, IntegrationConnector,
    PrivilegedVaultConnector, TokenVaultConnector,
)
from actors.grant_admin import install_clients_api, install_vault_grants_api
from actors.operator_access import OperatorTokens
from actors.mail_relay import MailRelayActor
from actors.privileged_vault import PrivilegedVaultActor
from actors.registry import RegistryActor
from actors.registry_client import RegistryClient
from actors.rotation_targets import DatabaseTarget
from actors.runtime.context import Runtime
from actors.saas.crm import API as CRM_API, SCOPES as CRM_SCOPES, CrmActor, CrmData
from actors.saas.database import DatabaseActor
from actors.saas_admin import ADMIN_SCOPE, IntegrationSecretTarget, admin_resource, install_integrations_api
from actors.service_client import ClientCredentialsClient
from protocols.agent_registry import Directory
from protocols.governance import RoleTemplate
from protocols.jose.jwks import JwkSet
from protocols.jose.keys import Algorithm, KeyRing, SigningKey
from protocols.oauth.authorization_server import ApiResource, AuthorizationServer, OAuthClient, ServerConfig
from protocols.oauth.client_auth import ClientAuthMethod, ClientRegistration, hash_client_secret
from protocols.role_templates import ROLE_TEMPLATES

DAY = 86400


@attrs.frozen(kw_only=True)
class Mailbox:
    address: str
    password: str = attrs.field(repr=False)


@attrs.define(eq=False)
class ControlPlane:
    runtime: Runtime
    nursery: trio.Nursery
    registry: RegistryActor
    discovery: DiscoveryActor
    pam: PrivilegedVaultActor
    governance: GovernanceActor
    mail: MailRelayActor
    crm: CrmActor
    databases: dict[str, DatabaseActor]
    security: RegistryClient
    discovery_token: str = attrs.field(repr=False)
    pam_token: str = attrs.field(repr=False)
    governance_token: str = attrs.field(repr=False)
    mailboxes: dict[str, Mailbox] = attrs.field(factory=dict)
    """Person or team id → their mailbox."""
    db_admin: dict[str, str] = attrs.field(factory=dict, repr=False)
    jobs: dict[str, Any] = attrs.field(factory=dict)
    agent_keys: dict[str, SigningKey] = attrs.field(factory=dict, repr=False)
    admin_tokens: dict[str, OperatorTokens] = attrs.field(factory=dict, repr=False)
    """System name → its administrators' tokens (``govern_systems``)."""

    def credentials_for(self, agent_id: str) -> VaultCredentialClient:
        return VaultCredentialClient(runtime=self.runtime, vault_url=self.pam.base_url, agent_id=agent_id,
                                     signing_key=self.agent_keys[agent_id])

    def register_agent_key(self, agent_id: str, key: SigningKey) -> None:
        """Let ``agent_id`` authenticate at the privileged vault with its signing key."""
        self.agent_keys[agent_id] = key
        self.pam.clients[agent_id] = ClientRegistration(client_id=agent_id, name=agent_id, redirect_uris=(),
                                                        jwks=JwkSet.from_json({"keys": [key.public_jwk()]}))

    def add_service_account(self, *, client_id: str, account: str, scopes: Sequence[str], secret: str) -> None:
        """An integration (connected app) at the CRM with a static client secret."""
        self.runtime.secrets.add(secret)
        assert self.crm.server is not None
        self.crm.server.register_client(OAuthClient(
            registration=ClientRegistration(client_id=client_id, name=client_id, redirect_uris=(),
                                            auth_method=ClientAuthMethod.CLIENT_SECRET_BASIC,
                                            client_secret_sha256=hash_client_secret(secret),
                                            grant_types=frozenset({"client_credentials"}), scopes=frozenset(scopes)),
            service_account=account))

    def crm_client(self, *, client_id: str, secret: Any, scope: str) -> ClientCredentialsClient:
        return ClientCredentialsClient(runtime=self.runtime, token_url=self.crm.url("/token"), client_id=client_id,
                                       secret=secret, scope=scope, resource=self.crm.url(CRM_API))


def build_crm(*, runtime: Runtime, name: str, data: CrmData | None) -> CrmActor:
    """A CRM with its authorization server and the administrators' integrations API."""
    base = runtime.network.base_url_for(name)
    config = ServerConfig(issuer=base, display_name="Salesforce", scopes={**CRM_SCOPES, ADMIN_SCOPE: "Administer "
                                                                          "integrations"},
                          resources=(ApiResource(uri=base + CRM_API, scopes=frozenset(CRM_SCOPES)), admin_resource(base)))
    key = runtime.new_signing_key(owner=name, purpose="as-keys", alg=Algorithm.ES256)
    server = AuthorizationServer(config=config, keyring=KeyRing.start(key), entropy=runtime.entropy_for(name))
    crm = CrmActor(name=name, runtime=runtime, base_url=base, server=server, display_name="Salesforce")
    if data is not None:
        crm.load(data)
    install_integrations_api(crm)
    return crm


def adopt_crm(crm: CrmActor) -> None:
    """Give a CRM built elsewhere the administrators' integrations API (its authorization server
    learns the admin API as one more protected resource)."""
    server = crm.server
    assert server is not None
    if server.resource(admin_resource(crm.base_url).uri) is None:
        server.config = attrs.evolve(server.config, scopes={**server.config.scopes, ADMIN_SCOPE: "Administer "
                                                            "integrations"},
                                     resources=(*server.config.resources, admin_resource(crm.base_url)))
        server.metadata = server.config.metadata()
        install_integrations_api(crm)


def _platform_client(plane_crm: CrmActor, runtime: Runtime, *, client_id: str, scopes: tuple[str, ...]) -> str:
    secret = runtime.entropy_for("control-plane").child(f"crm-client:{client_id}").token(32)
    runtime.secrets.add(secret)
    assert plane_crm.server is not None
    plane_crm.server.register_client(OAuthClient(
        registration=ClientRegistration(client_id=client_id, name=client_id, redirect_uris=(),
                                        auth_method=ClientAuthMethod.CLIENT_SECRET_BASIC,
                                        client_secret_sha256=hash_client_secret(secret),
                                        grant_types=frozenset({"client_credentials"}), scopes=frozenset(scopes)),
        service_account=f"platform-{client_id}"))
    return secret


async def start_control_plane(*, runtime: Runtime, nursery: trio.Nursery, people: Mapping[str, tuple[str, str]],
                              teams: Mapping[str, tuple[str, str]], crm: CrmActor | None = None,
                              crm_data: CrmData | None = None, databases: Mapping[str, DatabaseActor] | None = None,
                              governance_key_owner: str = "governance",
                              role_templates: Mapping[str, RoleTemplate] | None = None) -> ControlPlane:
    """``people`` / ``teams``: id → (display name, e-mail address) of who may own agents;
    ``role_templates``: the world's agent types (``World.role_templates``), else the built-in ones."""
    net = runtime.network
    own_crm = crm is None
    if crm is None:
        crm = build_crm(runtime=runtime, name="crm", data=crm_data)
    else:
        adopt_crm(crm)
    dbs = dict(databases or {})
    registry = RegistryActor(name="agent-registry", runtime=runtime, base_url=net.base_url_for("agent-registry"),
                             directory=Directory(people={k: v[0] for k, v in people.items()},
                                                 teams={k: v[0] for k, v in teams.items()}))
    mail = MailRelayActor(name="mail", runtime=runtime, base_url=net.base_url_for("mail"))
    pam = PrivilegedVaultActor(name="privileged-vault", runtime=runtime, base_url=net.base_url_for("privileged-vault"))
    discovery = DiscoveryActor(name="discovery", runtime=runtime, base_url=net.base_url_for("discovery"))
    governance = GovernanceActor(
        name="governance", runtime=runtime, base_url=net.base_url_for("governance"),
        signing_key=runtime.new_signing_key(owner=governance_key_owner, purpose="review-tokens", alg=Algorithm.ES256),
        addresses={k: v[1] for k, v in {**people, **teams}.items()},
        templates=ROLE_TEMPLATES if role_templates is None else dict(role_templates))
    actors = [registry, mail, pam, discovery, governance, *dbs.values()] + ([crm] if own_crm else [])
    for actor in actors:
        net.register(actor)
    db_admin = {}
    for name, db in dbs.items():
        password = runtime.entropy_for("control-plane").child(f"dba:{name}").token(20)
        db.create_user("dba", password=password)
        db_admin[name] = password
    # the platform's integrations at the CRM
    discovery_secret = _platform_client(crm, runtime, client_id="shadow-ai-discovery", scopes=("crm.audit",))
    admin_secret = _platform_client(crm, runtime, client_id="identity-governance", scopes=(ADMIN_SCOPE,))
    admin_client = ClientCredentialsClient(runtime=runtime, token_url=crm.url("/token"), client_id="identity-governance",
                                           secret=admin_secret, scope=ADMIN_SCOPE, resource=admin_resource(crm.base_url).uri)
    discovery.sources.append(LogSource(system=crm.name, logs_url=crm.url(CRM_API + "/audit-log"),
                                       client=ClientCredentialsClient(
                                           runtime=runtime, token_url=crm.url("/token"), client_id="shadow-ai-discovery",
                                           secret=discovery_secret, scope="crm.audit", resource=crm.url(CRM_API))))
    discovery.registry = RegistryClient(network=net, base_url=registry.base_url,
                                        token=registry.issue_operator_token(operator="shadow-ai-discovery",
                                                                            role="discovery"))
    pam.targets[crm.name] = IntegrationSecretTarget(runtime=runtime, system=crm.name, base_url=crm.base_url,
                                                    client=admin_client)
    for name, db in dbs.items():
        pam.targets[name] = DatabaseTarget(runtime=runtime, system=name, base_url=db.base_url, admin_user="dba",
                                           admin_password=db_admin[name])
    pam_token = pam.issue_operator_token()
    governance.registry = RegistryClient(network=net, base_url=registry.base_url,
                                         token=registry.issue_operator_token(operator="governance", role="governance"))
    # the privileged vault first: revoking a credential disables its account at the target, which
    # the later connectors then find gone (deprovisioning walks the connectors in this order)
    governance.connectors.append(PrivilegedVaultConnector(runtime=runtime, base_url=pam.base_url,
                                                          token=pam.issue_operator_token()))
    governance.connectors.append(IntegrationConnector(runtime=runtime, system=crm.name, base_url=crm.base_url,
                                                      client=admin_client, label="CRM (Salesforce)"))
    for name in dbs:
        governance.connectors.append(DatabaseConnector(target=pam.targets[name], label=name))  # type: ignore[arg-type]
    governance.mail_url, governance.mail_token = mail.base_url, mail.add_sender("governance@platform")
    mailboxes = {key: Mailbox(address=value[1], password=mail.add_mailbox(value[1]))
                 for key, value in {**people, **teams}.items()}
    for actor in actors:
        await nursery.start(actor.run)
    plane = ControlPlane(
        runtime=runtime, nursery=nursery, registry=registry, discovery=discovery, pam=pam, governance=governance,
        mail=mail, crm=crm, databases=dbs,
        security=RegistryClient(network=net, base_url=registry.base_url,
                                token=registry.issue_operator_token(operator="security-team", role="security")),
        discovery_token=discovery.issue_operator_token(), pam_token=pam_token,
        governance_token=governance.issue_operator_token(), mailboxes=mailboxes, db_admin=db_admin)
    return plane


INTEGRATION_TITLES = {"salesforce": "CRM (Salesforce) on a user's behalf", "google-drive": "Google Workspace (Drive)",
                      "gmail": "E-mail (Gmail)", "google-calendar": "Calendar (Google Calendar)", "slack": "Slack"}


def _resource_as_removal(server: Any, client_id: str) -> dict[str, Any]:
    """A resource AS revokes the client's live tokens. Where its resource servers introspect them
    (RFC 7662, ``server.introspection_cache`` set) that ends them there too; where they validate
    the self-contained JWTs alone, it asks governance to propagate the revocation (``propagate``)."""
    live = server.revoke_client_tokens(client_id)
    window = getattr(server, "introspection_cache", None)
    if window is None:
        return {"tokens": len(live), "mechanism": "client removed at the issuer", "revoked_jtis": live,
                "propagate": [client_id]}
    when = f"within {window} s (positive answers cached)" if window else "at once"
    mechanism = f"revoked at the issuer; its resource servers introspect each token (RFC 7662): refused {when}"
    return {"tokens": len(live), "revoked_jtis": live, "mechanism": mechanism}


def govern_systems(plane: ControlPlane, *, token_vault: Any = None, idp: Any = None, fga: Any = None,
                   authorization_servers: Sequence[tuple[Any, str]] = ()) -> dict[str, OperatorTokens]:
    """Give governance a connector for each further system that holds agents' grants, installing
    that system's administrative grant API (``actors.grant_admin``) first:

    - ``token_vault`` (``VaultActor``): the integrations each agent may obtain tokens for;
    - ``authorization_servers``: (resource AS actor, label) — the agents' client registrations there;
    - ``idp`` (``OidcProviderActor``): the agent's own sign-in registration (deprovisioning only);
    - ``fga`` (``FgaServiceActor`` with a bootstrapped store): tuples naming the agent.

    Returns each system's administrators' tokens (tests and scenarios ask the systems directly)."""
    runtime, governance = plane.runtime, plane.governance
    tokens: dict[str, OperatorTokens] = {}

    def admin(actor: Any) -> tuple[OperatorTokens, AdminApi]:
        tokens[actor.name] = OperatorTokens(runtime=runtime, owner=actor.name, prefix="adm_")
        return tokens[actor.name], AdminApi.with_token(runtime=runtime, system=actor.name, base_url=actor.base_url,
                                                       token=tokens[actor.name].issue())

    if token_vault is not None:
        keys, api = admin(token_vault)
        install_vault_grants_api(token_vault, keys)
        governance.connectors.append(TokenVaultConnector(api=api, titles=INTEGRATION_TITLES))
    for server, label in authorization_servers:
        keys, api = admin(server)
        install_clients_api(server, clients=server.server.clients, tokens=keys,
                            agent_names=lambda server=server: server.agent_names,
                            on_remove=lambda client_id, server=server: _resource_as_removal(server, client_id))
        governance.connectors.append(ClientRegistrationConnector(api=api, label=label))
    if fga is not None:
        governance.connectors.append(FgaConnector(runtime=runtime, service=fga))
    if idp is not None:
        keys, api = admin(idp)
        provider = idp.provider
        def revoke_at_idp(client_id: str) -> dict[str, Any]:
            revoked = provider.revoke_client(client_id, now=runtime.clock.now()).details["revoked"]
            return {"tokens": len(revoked), "mechanism": "revoked at the issuer (refresh tokens, access tokens)",
                    "revoked_jtis": list(revoked)}

        install_clients_api(idp, clients=provider.clients, tokens=keys, on_remove=revoke_at_idp)
        governance.connectors.append(ClientRegistrationConnector(api=api, kind="sign_in_identity",
                                                                 label="sign-in identity at the IdP"))
    return tokens
