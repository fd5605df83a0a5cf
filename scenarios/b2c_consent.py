"""The cast of the B2C-consent scenario (SPEC.md "Other scenarios": B2C consent versus B2B /
employee access governed by IT policy), built from the world's ``[consent]`` section.

- **Google** (``settings.google``): one authorization server for consumers and for the employer's
  Workspace tenant, as Google's is — a ``ConsentingAuthorizationServer`` (``protocols.
  consent_policy``) whose tenant policy covers the organization's domain — in front of the
  Calendar API (``actors.saas.google_workspace``). Every person of the world has an account there
  (consumers at their own address, employees in the company domain), with a few calendar events.
- **The fitness tracker** (``settings.fitness``): its own authorization server with a consent
  screen and the fitness API (``actors.saas.fitness_tracker``); the consumers have accounts there.
- **The applications** of ``[[consent.apps]]`` (TravelBot, the meal planner, the employee's
  scheduling agent): confidential OAuth clients with PKCE (``actors.oauth_app``), each registered at
  its provider for every scope it could ask for.
- **Browsers**: each person's, knowing their passwords and authenticators at both providers.
"""

from __future__ import annotations

import attrs
import trio

from actors.browser import Browser, Credentials
from actors.identity_providers import DirectoryEntry, PersonSecrets, account
from actors.oauth_app import OAuthApp
from actors.runtime.context import Runtime
from actors.saas import fitness_tracker, google_workspace
from actors.saas.base import SaasProvider
from actors.saas.fitness_tracker import FitnessActor
from actors.saas.google_workspace import GoogleWorkspaceActor, WorkspaceData, WorkspaceUser
from actors.saas.workspace_calendar import CalendarEvent
from protocols.consent_policy import ConsentingAuthorizationServer, TenantPolicy
from protocols.jose.keys import Algorithm, KeyRing
from protocols.oauth.authorization_server import ApiResource, OAuthClient, ServerConfig
from protocols.oauth.client_auth import ClientAuthMethod, ClientRegistration, hash_client_secret
from protocols.oauth.refresh import REFRESH_TOKEN
from scenarios.consent_world import SCOPES, ConsentSettings
from scenarios.world import World

HOUR = 3600


@attrs.define(eq=False)
class ConsentCast:
    world: World
    runtime: Runtime
    settings: ConsentSettings
    google: GoogleWorkspaceActor
    fitness: FitnessActor
    apps: dict[str, OAuthApp]
    browsers: dict[str, Browser]

    def provider(self, kind: str) -> SaasProvider:
        return self.google if kind == "google" else self.fitness

    def services(self) -> list[tuple[str, str, str]]:
        return [(a.name, a.base_url, "") for a in (self.google, self.fitness, *self.apps.values())]


def _server(runtime: Runtime, *, name: str, title: str, module, policies: dict[str, TenantPolicy]
            ) -> ConsentingAuthorizationServer:
    base = runtime.network.base_url_for(name)
    config = ServerConfig(issuer=base, display_name=title, scopes=module.SCOPES,
                          resources=tuple(ApiResource(uri=base + api, scopes=scopes)
                                          for api, scopes in module.APIS.items()))
    return ConsentingAuthorizationServer(
        config=config, entropy=runtime.entropy_for(name).child("as"), policies=policies,
        keyring=KeyRing.start(runtime.new_signing_key(owner=name, purpose="keys", alg=Algorithm.RS256)))


def consent_settings(world: World) -> ConsentSettings:
    settings = getattr(world, "consent", None)
    if settings is None:
        raise world.error("consent", "the b2c-consent scenario needs a [consent] section")
    return settings


async def start_consent_cast(*, world: World, runtime: Runtime, nursery: trio.Nursery) -> ConsentCast:
    settings = consent_settings(world)
    policy = settings.policy
    policies = {policy.domain: TenantPolicy(domain=policy.domain, users_may_consent=policy.users_may_consent,
                                            approved={a: frozenset(s) for a, s in policy.approved.items()})}
    gname, fname = settings.google, settings.fitness
    google = GoogleWorkspaceActor(name=gname, runtime=runtime, base_url=runtime.network.base_url_for(gname),
                                  server=_server(runtime, name=gname, title="Google", module=google_workspace,
                                                 policies=policies), display_name="Google", domain=policy.domain)
    fitness = FitnessActor(name=fname, runtime=runtime, base_url=runtime.network.base_url_for(fname),
                           server=_server(runtime, name=fname, title=settings.fitness_title, module=fitness_tracker,
                                          policies={}), display_name=settings.fitness_title)
    start = int(world.epoch.timestamp())
    users, events, browsers = [], [], {}
    for n, person in enumerate(world.people, start=1):
        user_id = f"{100000 + n}"
        users.append(WorkspaceUser(id=user_id, email=person.email, name=person.name))
        events += [CalendarEvent(id=f"ev{n}a", calendar=person.email, summary="Dentist", organizer=person.email,
                                 start=start + 26 * HOUR, end=start + 27 * HOUR),
                   CalendarEvent(id=f"ev{n}b", calendar=person.email, summary="Weekend in Lisbon",
                                 organizer=person.email, start=start + 4 * 24 * HOUR, end=start + 6 * 24 * HOUR)]
        entry = DirectoryEntry(email=person.email, name=person.name, role=person.role, territory=person.territory)
        google_secrets = PersonSecrets.for_person(runtime, person.id)
        fitness_secrets = PersonSecrets.for_person(runtime, f"{person.id}@{fname}")
        assert google.server is not None and fitness.server is not None
        google.server.add_user(account(runtime=runtime, subject=user_id, entry=entry, secrets=google_secrets,
                                       provider=gname))
        fitness.server.add_user(account(runtime=runtime, subject=user_id, entry=entry, secrets=fitness_secrets,
                                        provider=fname))
        fitness.seed_user(user_id, start=start)
        browsers[person.id] = Browser(name=f"browser:{person.id}", runtime=runtime, person=person.name, credentials={
            google.base_url: Credentials(username=person.email, password=google_secrets.password,
                                         totp_secret=google_secrets.totp_secret),
            fitness.base_url: Credentials(username=person.email, password=fitness_secrets.password,
                                          totp_secret=fitness_secrets.totp_secret)})
    google.load(WorkspaceData(users=tuple(users), events=tuple(events)))
    apps = {}
    for spec in settings.apps:
        provider = google if spec.provider == "google" else fitness
        secret = runtime.entropy_for(spec.agent).child("client-secret").token(32)
        runtime.secrets.add(secret)
        app = OAuthApp(name=spec.agent, runtime=runtime, base_url=runtime.network.base_url_for(spec.agent),
                       display_name=world.agent(spec.agent).name, issuer=provider.base_url, client_id=spec.agent,
                       client_secret=secret, scope=spec.scopes)
        assert provider.server is not None
        provider.server.register_client(OAuthClient(registration=ClientRegistration(
            client_id=spec.agent, name=app.display_name, redirect_uris=(app.redirect_uri,),
            auth_method=ClientAuthMethod.CLIENT_SECRET_BASIC, client_secret_sha256=hash_client_secret(secret),
            grant_types=frozenset({"authorization_code", REFRESH_TOKEN}), scopes=SCOPES[spec.provider])))
        apps[spec.agent] = app
    for actor in (google, fitness, *apps.values()):
        runtime.network.register(actor)
    for actor in (google, fitness, *apps.values(), *browsers.values()):
        await nursery.start(actor.run)
    await nursery.start(runtime.network.serve)
    return ConsentCast(world=world, runtime=runtime, settings=settings, google=google, fitness=fitness, apps=apps,
                       browsers=browsers)
