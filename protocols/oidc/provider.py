"""The OpenID Provider core: one sans-IO engine per provider that actors wrap.

Endpoints (paths below the issuer, see ``discovery``):

- ``GET /.well-known/openid-configuration`` — Discovery §4; ``GET /jwks`` — RFC 7517 §5.
- ``GET /authorize`` — OIDC Core §3.1.2, and ``POST /login`` — the sign-in form
  (``provider_sign_in``).
- ``GET /federate/<upstream>`` and ``GET /federate/<upstream>/callback`` — social login: this
  provider is the relying party of an upstream OP; the callback needs a back-channel token request,
  so it returns ``Fetch`` and the actor calls ``resume`` with the upstream's answer (sans-IO).
- ``POST /token`` — RFC 6749 §4.1.3, §5; client authentication per ``client_auth``;
  ``GET|POST /userinfo`` — OIDC Core §5.3 with RFC 6750 challenges; and ``POST /introspect`` —
  RFC 7662, for the protected resources registered here (the action gate asks whether a CIBA
  approval token is still active) (``provider_tokens``).

Every call returns a ``Handled`` (response + one ``Outcome``) or a ``Fetch``; the ``Outcome`` names
one event (``area.past_tense``), the decision, the reason, the subject and client, and lists the
secrets minted in that step so the actor can register them for redaction (DESIGN.md §5).
State (sessions, login transactions, codes, replay cache, revoked token ids) lives in this object
and changes only inside ``handle``/``resume`` and the explicit admin methods.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse
from protocols.jose.jwks import JwkSet
from protocols.jose.keys import KeyRing, SigningKey
from protocols.oauth.authorization_code import CodeLedger
from protocols.oauth.client_auth import AssertionReplayCache, AuthenticatedClient, ClientRegistration
from protocols.oauth.errors import MethodNotAllowed, NotFound
from protocols.oauth.introspection import INTROSPECTION_PATH
from protocols.oauth.introspection_endpoint import ProtectedResources
from protocols.oauth.outcome import Decision, Handled, Outcome, refused
from protocols.oauth.revocation import purge_revocations
from protocols.oauth.token_endpoint import ClientAuthenticator, GrantHandler
from protocols.oidc import federation
from protocols.oidc.authentication import Session, UserAccount
from protocols.oidc.discovery import (
    AUTHORIZE_PATH, FEDERATE_PATH, JWKS_PATH, LOGIN_PATH, TOKEN_PATH, USERINFO_PATH, WELL_KNOWN_PATH,
    ProviderMetadata,
)
from protocols.oidc.provider_sign_in import ProviderSignIn, Transaction
from protocols.oidc.provider_tokens import IssuedToken, ProviderTokens

ClaimsHook = Callable[[UserAccount], Mapping[str, Any]]
"""Rules hook: extra claims (role, territory, ...) for a user, added to ID tokens and UserInfo."""

EndpointHandler = Callable[..., "Handled"]
"""An extra endpoint below the issuer: ``handler(request=HttpRequest, now=int) -> Handled`` (e.g. CIBA's
``/bc-authorize``); it must answer every bad input with an OAuth error response, never raise."""


@attrs.frozen(kw_only=True)
class Fetch:
    """The provider needs a back-channel HTTP exchange before it can answer: send ``request``,
    then call ``provider.resume(fetch, response, now=...)``. ``outcome`` is the step so far."""

    request: HttpRequest
    continuation: str = attrs.field(repr=False)
    outcome: Outcome


@attrs.frozen(kw_only=True)
class ProviderConfig:
    """Policy knobs of one provider; lifetimes in seconds."""

    issuer: str
    code_lifetime: int = 600
    id_token_lifetime: int = 3600
    access_token_lifetime: int = 900
    session_lifetime: int = 8 * 3600
    login_transaction_lifetime: int = 600
    max_login_failures: int = 5
    accept_token_endpoint_audience: bool = False
    scopes_supported: tuple[str, ...] = ("openid", "profile", "email")

    def metadata(self) -> ProviderMetadata:
        return ProviderMetadata.for_issuer(self.issuer, scopes_supported=self.scopes_supported)


@attrs.define
class OpenIdProvider(ProviderSignIn, ProviderTokens):
    """An OpenID Provider's protocol state and handlers. See the module docstring."""

    config: ProviderConfig
    keyring: KeyRing
    entropy: SeededEntropy = attrs.field(repr=False)
    clients: dict[str, ClientRegistration] = attrs.field(factory=dict)
    claims_hook: ClaimsHook = attrs.field(default=lambda account: {})
    upstreams: dict[str, federation.Upstream] = attrs.field(factory=dict)
    metadata: ProviderMetadata = attrs.field(init=False)
    _users: dict[str, UserAccount] = attrs.field(factory=dict, init=False)
    _usernames: dict[str, str] = attrs.field(factory=dict, init=False)
    _sessions: dict[str, Session] = attrs.field(factory=dict, init=False, repr=False)
    _transactions: dict[str, Transaction] = attrs.field(factory=dict, init=False, repr=False)
    _codes: CodeLedger = attrs.field(factory=CodeLedger, init=False)
    _replay: AssertionReplayCache = attrs.field(factory=AssertionReplayCache, init=False)
    _issued: dict[str, IssuedToken] = attrs.field(factory=dict, init=False)
    _revoked: dict[str, int] = attrs.field(factory=dict, init=False)
    protected_resources: ProtectedResources = attrs.field(factory=ProtectedResources, init=False)
    _totp_steps: dict[str, int] = attrs.field(factory=dict, init=False)
    federations: federation.FederationState = attrs.field(factory=federation.FederationState, init=False)
    grant_handlers: dict[str, GrantHandler] = attrs.field(factory=dict, init=False)
    endpoints: dict[str, tuple[tuple[str, ...], EndpointHandler]] = attrs.field(factory=dict, init=False)
    _own_keys: tuple[frozenset[str], JwkSet] | None = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self.metadata = self.config.metadata()

    # ------------------------------------------------------------------ administration

    @property
    def issuer(self) -> str:
        return self.config.issuer

    def register_client(self, registration: ClientRegistration) -> None:
        self.clients[registration.client_id] = registration

    def register_grant(self, grant_type: str, handler: GrantHandler) -> None:
        """Serve another grant at the token endpoint (token exchange, JWT bearer, CIBA...) and
        advertise it in ``grant_types_supported``."""
        self.grant_handlers[grant_type] = handler
        if grant_type not in self.metadata.grant_types_supported:
            self.metadata = attrs.evolve(self.metadata,
                                         grant_types_supported=(*self.metadata.grant_types_supported, grant_type))

    def register_endpoint(self, path: str, handler: EndpointHandler, *, methods: tuple[str, ...] = ("POST",)) -> None:
        """Serve another endpoint at ``path`` below the issuer (CIBA ``/bc-authorize``, ...)."""
        if path in _ROUTES:
            raise ValueError(f"{path} is a built-in endpoint")
        self.endpoints[path] = (methods, handler)

    def authenticate_client(self, request: HttpRequest, form: Mapping[str, str], *, now: int) -> AuthenticatedClient:
        """Client authentication as at the token endpoint (RFC 6749 §2.3, RFC 7523 §3), sharing its
        assertion replay cache — for the other endpoints that need it (CIBA §7.1, RFC 7662 §2.1...)."""
        return self._client_authenticator()(request, form, now=now)

    def _client_authenticator(self) -> ClientAuthenticator:
        return ClientAuthenticator(issuer=self.issuer, token_endpoint=self.metadata.token_endpoint,
                                   lookup=self.clients.get, replay_cache=self._replay,
                                   accept_token_endpoint_audience=self.config.accept_token_endpoint_audience)

    def public_keys(self, *, now: int) -> JwkSet:
        """Our published keys as a verifier sees them (cached while the published set is unchanged)."""
        kids = self.keyring.kids(now=now)
        if self._own_keys is None or self._own_keys[0] != kids:
            self._own_keys = (kids, JwkSet.from_ring(self.keyring, now=now))
        return self._own_keys[1]

    def rotate_key(self, new_key: SigningKey, *, now: int, retire_after: int) -> Outcome:
        """Sign with ``new_key`` from now on; the old key stays published (OIDC Core §10.1.1)."""
        old = self.keyring.active.kid
        self.keyring = self.keyring.rotate(new_key=new_key, now=now, retire_after=retire_after)
        return Outcome(event="key.rotated", decision=Decision.ALLOW,
                       details={"old_kid": old, "new_kid": new_key.kid, "retire_after": retire_after})

    def purge(self, *, now: int) -> None:
        """Drop state that expired (sessions, transactions, codes, replay entries, revocations)."""
        self._purge_sign_in(now=now)
        purge_revocations(self._issued, self._revoked, now=now)  # kept a minute past expiry (clock leeway)
        self._codes.purge(now=now)
        self._replay.purge(now=now)
        self.federations.purge(now=now)

    # ------------------------------------------------------------------ dispatch

    def handle(self, request: HttpRequest, *, now: int) -> Handled | Fetch:
        """Answer one HTTP request addressed to this provider."""
        self.purge(now=now)
        base = urlsplit(self.issuer).path.rstrip("/")
        path = request.path[len(base):] if request.path.startswith(base) else request.path
        route = _ROUTES.get(path)
        if route is None and path in self.endpoints:
            methods, endpoint = self.endpoints[path]
            if request.method not in methods:
                return refused(MethodNotAllowed(f"use {' or '.join(methods)}"), event="http.refused")
            return endpoint(request=request, now=now)
        if route is None and path.startswith(FEDERATE_PATH + "/"):
            route = (("GET",), "_federate")
        if route is None:
            return refused(NotFound("no such endpoint"), event="http.refused")
        methods, handler = route
        if request.method not in methods:
            return refused(MethodNotAllowed(f"use {' or '.join(methods)}"), event="http.refused")
        return getattr(self, handler)(request, now)

    def resume(self, fetch: Fetch, response: HttpResponse, *, now: int) -> Handled | Fetch:
        """Continue a step that returned ``Fetch`` with the upstream's ``response``."""
        return federation.resume(self, fetch.continuation, response=response, now=now)

    # ------------------------------------------------------------------ discovery, JWKS

    def _discovery(self, request: HttpRequest, now: int) -> Handled:
        return Handled(response=self.metadata.to_response(),
                       outcome=Outcome(event="discovery.served", decision=Decision.ALLOW))

    def _jwks(self, request: HttpRequest, now: int) -> Handled:
        document = self.keyring.jwks(now=now)
        response = HttpResponse.json_body(document, headers={"cache-control": "max-age=300"})
        return Handled(response=response, outcome=Outcome(
            event="jwks.served", decision=Decision.ALLOW, details={"kids": [k["kid"] for k in document["keys"]]}))

    # ------------------------------------------------------------------ federation

    def _federate(self, request: HttpRequest, now: int) -> Handled | Fetch:
        return federation.handle(self, request, now=now)


_ROUTES: dict[str, tuple[tuple[str, ...], str]] = {
    WELL_KNOWN_PATH: (("GET",), "_discovery"),
    JWKS_PATH: (("GET",), "_jwks"),
    AUTHORIZE_PATH: (("GET",), "_authorize"),
    LOGIN_PATH: (("POST",), "_login"),
    TOKEN_PATH: (("POST",), "_token"),
    USERINFO_PATH: (("GET", "POST"), "_userinfo"),
    INTROSPECTION_PATH: (("POST",), "_introspect"),
}
"""Path below the issuer → (allowed methods, handler method name)."""

