"""Building the two OpenID Providers of a run: the enterprise IdP and the simulated Google IdP.

Both are ``OidcProviderActor`` shells around ``protocols.oidc.provider.OpenIdProvider`` with their
own issuer, keys (seeded per actor) and accounts. Google keeps its own numeric subjects; the
enterprise IdP federates to it (its client at Google authenticates with ``private_key_jwt``),
provisions ``google-oauth2|<sub>`` accounts just in time and adds ``role``/``territory`` from the
enterprise directory through its claims hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from actors.oidc_provider import OidcProviderActor
from actors.runtime.context import Runtime
from protocols.jose.jwks import JwkSet
from protocols.jose.keys import Algorithm, KeyRing
from protocols.oauth.client_auth import ClientRegistration
from protocols.oauth.errors import TemporarilyUnavailable
from protocols.http import HttpRequest
from protocols.oidc.authentication import PasswordHash, UserAccount
from protocols.oidc.discovery import ProviderMetadata, discovery_url
from protocols.oidc.federation import Upstream, callback_uri
from protocols.oidc.provider import OpenIdProvider, ProviderConfig
from protocols.oidc.relying_party import RelyingParty

GOOGLE_SUBJECT_PREFIX = "google-oauth2"


@attrs.frozen(kw_only=True)
class PersonSecrets:
    """What a person knows: a password and the seed of their authenticator app (TOTP)."""

    password: str = attrs.field(repr=False)
    totp_secret: bytes = attrs.field(repr=False)

    @classmethod
    def for_person(cls, runtime: Runtime, person_id: str) -> PersonSecrets:
        entropy = runtime.entropy_for(f"person:{person_id}")
        secrets = cls(password=entropy.token(15), totp_secret=entropy.bytes(20))
        runtime.secrets.add(secrets.password)
        return secrets


@attrs.frozen(kw_only=True)
class DirectoryEntry:
    """An employee as the enterprise directory knows them (source of the custom claims)."""

    email: str
    name: str
    role: str
    territory: str
    team: str = ""


def _keyring(runtime: Runtime, name: str, alg: Algorithm) -> KeyRing:
    return KeyRing.start(runtime.new_signing_key(owner=name, purpose="keys", alg=alg))


def account(*, runtime: Runtime, subject: str, entry: DirectoryEntry, secrets: PersonSecrets,
            provider: str) -> UserAccount:
    return UserAccount(
        subject=subject, username=entry.email, name=entry.name, email=entry.email, email_verified=True,
        password=PasswordHash.create(secrets.password, entropy=runtime.entropy_for(provider).child(f"salt:{subject}")),
        totp_secret=secrets.totp_secret,
    )


def build_google(*, runtime: Runtime, name: str, alg: Algorithm) -> OidcProviderActor:
    """Google as a social IdP: its own issuer, keys and numeric subjects."""
    issuer = runtime.network.base_url_for(name)
    provider = OpenIdProvider(config=ProviderConfig(issuer=issuer), keyring=_keyring(runtime, name, alg),
                              entropy=runtime.entropy_for(name))
    return OidcProviderActor(name=name, runtime=runtime, base_url=issuer, provider=provider, signing_alg=alg)


def google_subject(runtime: Runtime, person_id: str) -> str:
    """Google's stable numeric ``sub`` for a person (21 digits, like Google's own)."""
    return "1" + str(runtime.entropy_for("google").child(f"sub:{person_id}").integer_below(10**20)).zfill(20)


def build_enterprise_idp(*, runtime: Runtime, name: str, alg: Algorithm, directory: Mapping[str, DirectoryEntry],
                         id_token_lifetime: int, access_token_lifetime: int, session_lifetime: int,
                         rotation_period: int) -> OidcProviderActor:
    """The enterprise identity platform; ``directory`` maps e-mail to the employee record."""
    issuer = runtime.network.base_url_for(name)

    def claims_hook(user: UserAccount) -> dict[str, Any]:
        entry = directory.get(user.email)
        if entry is None:
            return {}
        return {"role": entry.role, "territory": entry.territory}

    config = ProviderConfig(issuer=issuer, id_token_lifetime=id_token_lifetime,
                            access_token_lifetime=access_token_lifetime, session_lifetime=session_lifetime)
    provider = OpenIdProvider(config=config, keyring=_keyring(runtime, name, alg), entropy=runtime.entropy_for(name),
                              claims_hook=claims_hook)
    return OidcProviderActor(name=name, runtime=runtime, base_url=issuer, provider=provider,
                             rotation_period=rotation_period, signing_alg=alg)


async def federate(*, idp: OidcProviderActor, google: OidcProviderActor, domain: str) -> None:
    """Register the IdP as a client at Google and configure Google as its upstream.

    The IdP reads Google's discovery document and JWKS over the network, as a real deployment would.
    """
    assert idp.provider is not None and google.provider is not None
    runtime = idp.runtime
    federation_key = runtime.new_signing_key(owner=idp.name, purpose="federation", alg=Algorithm.ES256)
    redirect_uri = callback_uri(idp.provider.issuer, google.name)
    google.provider.register_client(ClientRegistration(
        client_id=idp.name, name=f"{domain} single sign-on", redirect_uris=(redirect_uri,),
        jwks=JwkSet.from_json({"keys": [federation_key.public_jwk()]})))
    network = runtime.network
    response = await network.send(HttpRequest.get(discovery_url(google.provider.issuer)))
    if response.status != 200:
        raise TemporarilyUnavailable("Google's discovery document is unavailable")
    metadata = ProviderMetadata.from_json(response.json(), expected_issuer=google.provider.issuer)
    keys = JwkSet.from_json((await network.send(HttpRequest.get(metadata.jwks_uri))).json())
    idp.provider.upstreams[google.name] = Upstream(
        name=google.name, subject_prefix=GOOGLE_SUBJECT_PREFIX,
        relying_party=RelyingParty(client_id=idp.name, redirect_uri=redirect_uri, metadata=metadata,
                                   signing_key=federation_key),
        keys=keys, allowed_email_domains=frozenset({domain}))
    await idp.audit("federation.configured", decision="allow", reason="upstream discovered and keys fetched",
                    upstream=google.provider.issuer, kids=sorted(keys.kids()))
