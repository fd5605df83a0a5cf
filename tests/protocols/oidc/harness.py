"""A no-I/O world for protocol tests: providers, clients, users and a tiny browser.

Keys are generated once per process (RSA generation is the slow part); every provider is fresh.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs

from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse
from protocols.jose.jwks import JwkSet
from protocols.jose.keys import Algorithm, KeyRing, SigningKey
from protocols.oauth.client_auth import ClientAuthMethod, ClientRegistration, hash_client_secret
from protocols.oidc.authentication import PasswordHash, UserAccount, parse_login_page, totp
from protocols.oidc.discovery import ProviderMetadata, discovery_url
from protocols.oidc.provider import Fetch, Handled, OpenIdProvider, ProviderConfig
from protocols.oidc.relying_party import LoginResult, PendingAuthorization, RelyingParty

NOW = 1_736_150_400  # 2025-01-06T08:00:00Z
ISSUER = "https://idp.acme.test"
GOOGLE = "https://accounts.google.test"
AGENT_REDIRECT = "https://agent.acme.test/callback"
OTHER_REDIRECT = "https://other.acme.test/cb"
BASIC_SECRET = "s3cr:et%with+odd&chars"
SARAH_PASSWORD = "correct horse battery staple"
SARAH_TOTP = b"12345678901234567890"
BOB_PASSWORD = "hunter2-but-longer"


@functools.cache
def key(label: str, alg: Algorithm = Algorithm.ES256) -> SigningKey:
    """A deterministic key per label (cached: RSA generation takes a few hundred ms)."""
    return SigningKey.generate(alg=alg, entropy=SeededEntropy.for_actor(run_seed=42, actor=label), created_at=NOW)


def jwks_of(*keys: SigningKey) -> JwkSet:
    return JwkSet.from_json({"keys": [k.public_jwk() for k in keys]})


@functools.cache
def password_hash(password: str) -> PasswordHash:
    return PasswordHash.create(password, entropy=SeededEntropy.for_actor(run_seed=1, actor=password), n=2**10)


def claims_hook(account: UserAccount) -> Mapping[str, Any]:
    return {name: account.attributes[name] for name in ("role", "territory") if name in account.attributes}


def make_provider(*, issuer: str = ISSUER, seed: int = 7, **config: Any) -> OpenIdProvider:
    provider = OpenIdProvider(config=ProviderConfig(issuer=issuer, **config),
                              keyring=KeyRing.start(key(f"op:{issuer}", Algorithm.RS256)),
                              entropy=SeededEntropy.for_actor(run_seed=seed, actor=issuer),
                              claims_hook=claims_hook)
    provider.register_client(ClientRegistration(client_id="sales-agent", name="Sales agent",
                                                redirect_uris=(AGENT_REDIRECT,), jwks=jwks_of(key("agent"))))
    provider.register_client(ClientRegistration(client_id="other-app", name="Other", redirect_uris=(OTHER_REDIRECT,),
                                                jwks=jwks_of(key("other"))))
    provider.register_client(ClientRegistration(client_id="mfa-app", name="Finance", redirect_uris=(OTHER_REDIRECT,),
                                                jwks=jwks_of(key("mfa-app")), require_mfa=True))
    provider.register_client(ClientRegistration(client_id="basic-app", name="Basic", redirect_uris=(OTHER_REDIRECT,),
                                                auth_method=ClientAuthMethod.CLIENT_SECRET_BASIC,
                                                client_secret_sha256=hash_client_secret(BASIC_SECRET)))
    provider.add_user(UserAccount(subject="u-sarah", username="sarah", name="Sarah Johnson",
                                  email="sarah@acme.test", password=password_hash(SARAH_PASSWORD),
                                  totp_secret=SARAH_TOTP, attributes={"role": "sales_rep", "territory": "EMEA"}))
    provider.add_user(UserAccount(subject="u-bob", username="bob", name="Bob", email="bob@acme.test",
                                  password=password_hash(BOB_PASSWORD)))
    return provider


def metadata_of(provider: OpenIdProvider, *, now: int = NOW) -> ProviderMetadata:
    handled = provider.handle(HttpRequest.get(discovery_url(provider.issuer)), now=now)
    assert isinstance(handled, Handled)
    return ProviderMetadata.from_json(handled.response.json(), expected_issuer=provider.issuer)


def make_rp(provider: OpenIdProvider, *, client_id: str = "sales-agent", redirect_uri: str = AGENT_REDIRECT,
            signing_key: SigningKey | None = None) -> RelyingParty:
    return RelyingParty(client_id=client_id, redirect_uri=redirect_uri, metadata=metadata_of(provider),
                        signing_key=signing_key or key("agent"))


def provider_keys(provider: OpenIdProvider, *, now: int = NOW) -> JwkSet:
    handled = provider.handle(HttpRequest.get(provider.metadata.jwks_uri), now=now)
    assert isinstance(handled, Handled)
    return JwkSet.from_json(handled.response.body)


def call(provider: OpenIdProvider, request: HttpRequest, *, now: int = NOW) -> Handled:
    """One request that must not need a back-channel step; never a 5xx."""
    handled = provider.handle(request, now=now)
    assert isinstance(handled, Handled), handled
    assert handled.response.status < 500
    return handled


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


@attrs.define
class Browser:
    """Carries cookies per host and submits the provider's login form."""

    cookies: dict[str, str] = attrs.field(factory=dict)
    outcomes: list[Any] = attrs.field(factory=list)

    def send(self, providers: Mapping[str, OpenIdProvider], request: HttpRequest, *, now: int) -> HttpResponse:
        host = urlsplit(request.url).netloc
        provider = providers[host]
        if host in self.cookies:
            request = attrs.evolve(request, headers=request.headers + (("cookie", self.cookies[host]),))
        result = provider.handle(request, now=now)
        while isinstance(result, Fetch):  # the actor's job: deliver the back-channel request
            self.outcomes.append(result.outcome)
            upstream = providers[urlsplit(result.request.url).netloc]
            inner = upstream.handle(result.request, now=now)
            assert isinstance(inner, Handled)
            self.outcomes.append(inner.outcome)
            result = provider.resume(result, inner.response, now=now)
        self.outcomes.append(result.outcome)
        assert result.response.status < 500
        cookie = result.response.header("set-cookie")
        if cookie:
            self.cookies[host] = cookie.split(";")[0]
        return result.response

    def get(self, providers: Mapping[str, OpenIdProvider], url: str, *, now: int) -> HttpResponse:
        return self.send(providers, HttpRequest.get(url), now=now)

    def submit_login(self, providers: Mapping[str, OpenIdProvider], page: HttpResponse, *, username: str,
                     password: str, otp: str | None, now: int) -> HttpResponse:
        form = parse_login_page(page.body.decode())
        params = {**form.hidden, "username": username, "password": password}
        if otp is not None:
            params["otp"] = otp
        return self.send(providers, HttpRequest.form_post(url=form.action, params=params), now=now)


def hosts(*providers: OpenIdProvider) -> dict[str, OpenIdProvider]:
    return {urlsplit(p.issuer).netloc: p for p in providers}


def sarah_login(provider: OpenIdProvider, rp: RelyingParty, *, now: int = NOW, browser: Browser | None = None,
                entropy: SeededEntropy | None = None, **start: Any) -> tuple[PendingAuthorization, HttpResponse]:
    """Run the front channel up to the redirect back to the client."""
    browser = browser or Browser()
    entropy = entropy or SeededEntropy.for_actor(run_seed=3, actor="rp")
    pending = rp.start(entropy=entropy, now=now, **start)
    world = hosts(provider)
    page = browser.get(world, pending.url, now=now)
    assert page.status == 200, page
    back = browser.submit_login(world, page, username="sarah", password=SARAH_PASSWORD,
                                otp=totp(SARAH_TOTP, now=now), now=now)
    return pending, back


def full_login(provider: OpenIdProvider, rp: RelyingParty, *, now: int = NOW) -> tuple[LoginResult, str]:
    """The whole code flow; returns the result and the code that was redeemed."""
    entropy = SeededEntropy.for_actor(run_seed=3, actor="rp")
    pending, back = sarah_login(provider, rp, now=now, entropy=entropy)
    code = rp.parse_callback(pending, back.header("location"))
    response = call(provider, rp.token_request(pending, code=code, entropy=entropy, now=now), now=now).response
    return rp.finish(pending, response, keys=provider_keys(provider, now=now), now=now), code


def add_query_params(url: str, params: Mapping[str, str]) -> str:
    from protocols.oauth.authorization_code import add_query

    return add_query(url, params)
