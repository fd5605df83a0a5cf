"""The part of a cast every enterprise world shares: the enterprise IdP built from the world's
``[idp]`` table and its people's directory, each person's account and browser, and each agent
registered at the IdP as a ``private_key_jwt`` client (OpenID Connect Core §9, RFC 7523)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from actors.agent import AgentActor
from actors.browser import Browser, Credentials
from actors.identity_providers import DirectoryEntry, PersonSecrets, account, build_enterprise_idp
from actors.oidc_provider import OidcProviderActor
from actors.runtime.context import Runtime
from protocols.jose.jwks import JwkSet
from protocols.oauth.client_auth import ClientRegistration
from scenarios.world import World

DAY = 86400


def world_directory(world: World) -> dict[str, DirectoryEntry]:
    """The enterprise directory: every person of the world, by e-mail."""
    return {p.email: DirectoryEntry(email=p.email, name=p.name, role=p.role, territory=p.territory, team=p.team)
            for p in world.people}


def build_world_idp(*, world: World, runtime: Runtime, directory: dict[str, DirectoryEntry]) -> OidcProviderActor:
    """The enterprise IdP as the world's ``[idp]`` table describes it."""
    idp = build_enterprise_idp(
        runtime=runtime, name=world.idp.name, alg=world.idp.signing_alg, directory=directory,
        id_token_lifetime=world.idp.id_token_lifetime, access_token_lifetime=world.idp.access_token_lifetime,
        session_lifetime=world.idp.session_lifetime, rotation_period=world.idp.key_rotation_days * DAY)
    assert idp.provider is not None
    return idp


def enrol(*, runtime: Runtime, provider: OidcProviderActor, person: Any, entry: DirectoryEntry, subject: str,
          federation: str | None = None) -> Browser:
    """Give ``person`` an account at ``provider`` under ``subject`` and a browser holding the credentials
    (password, TOTP secret) to sign in there."""
    secrets = PersonSecrets.for_person(runtime, person.id)
    provider.provider.add_user(account(runtime=runtime, subject=subject, entry=entry, secrets=secrets,
                                       provider=provider.name))
    return Browser(name=f"browser:{person.id}", runtime=runtime, person=person.name, federation=federation,
                   credentials={provider.base_url: Credentials(username=person.email, password=secrets.password,
                                                               totp_secret=secrets.totp_secret)})


def enrol_at_idp(*, runtime: Runtime, idp: OidcProviderActor, people: Iterable[Any],
                 directory: dict[str, DirectoryEntry]) -> dict[str, Browser]:
    """Every person signs in at the enterprise IdP itself (no federation): their browsers, by person id."""
    return {p.id: enrol(runtime=runtime, provider=idp, person=p, entry=directory[p.email], subject=f"auth0|{p.id}")
            for p in people}


def register_agent(*, runtime: Runtime, idp: OidcProviderActor, spec: Any,
                   grant_types: frozenset[str] = frozenset({"authorization_code"})) -> AgentActor:
    """The agent of ``spec`` with its own signing key, registered at the IdP as a client authenticating
    with that key (its JWKS), allowed its world scopes and ``grant_types``."""
    key = runtime.new_signing_key(owner=spec.id, purpose="keys", alg=spec.signing_alg)
    agent = AgentActor(name=spec.id, runtime=runtime, base_url=runtime.network.base_url_for(spec.id),
                       display_name=spec.name, idp_issuer=idp.base_url, signing_key=key, scope=spec.scopes)
    idp.provider.register_client(ClientRegistration(
        client_id=spec.id, name=spec.name, redirect_uris=(agent.redirect_uri,),
        jwks=JwkSet.from_json({"keys": [key.public_jwk()]}), scopes=frozenset(spec.scopes), grant_types=grant_types))
    return agent
