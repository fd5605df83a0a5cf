"""Social login: the provider acts as the relying party of an upstream OpenID Provider.

The user picks "Sign in with <upstream>" on our login page; we send them to the upstream with our
own ``state``/``nonce``/PKCE (``relying_party``), take the code on our callback, redeem it over the
back channel, validate the upstream ID token (OIDC Core §3.1.3.7) and map the upstream ``sub`` to a
local subject ``<prefix>|<upstream sub>`` (e.g. ``google-oauth2|1084...``), provisioned just in time.
The session's ``amr`` is ``["fed"]`` (RFC 8176 §2), plus ``mfa`` when the upstream asserted it.

Sans-IO: the callback cannot answer before the upstream token endpoint has, so it returns a
``Fetch`` carrying the token request; the actor sends it and calls ``provider.resume``. When the
upstream ID token names a ``kid`` we do not hold, one more ``Fetch`` re-reads the upstream
``jwks_uri`` — once per login, so a bad token cannot make us fetch in a loop (OIDC Core §10.1.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.jose.errors import JwtRejected, UnknownKeyId
from protocols.jose.jwks import InvalidJwkSet, JwkSet
from protocols.oauth.authorization_code import AuthorizationRequest, RedirectableError
from protocols.oauth.errors import AccessDenied, NotFound, OAuthError
from protocols.oauth.outcome import Decision, Handled, Outcome, message_page
from protocols.oauth.token_response import TokenResponseRejected
from protocols.oidc.authentication import AMR_FEDERATED, AMR_MFA, UserAccount
from protocols.oidc.discovery import FEDERATE_PATH
from protocols.oidc.relying_party import CallbackRejected, PendingAuthorization, RelyingParty

if TYPE_CHECKING:
    from protocols.oidc.provider import Fetch, OpenIdProvider

FEDERATION_LIFETIME = 600
"""How long a redirect to the upstream may take before its state is forgotten."""


@attrs.frozen(kw_only=True)
class Upstream:
    """An upstream OpenID Provider we federate to, and how we are registered there.

    ``relying_party.redirect_uri`` must be ``<our issuer>/federate/<name>/callback``.
    ``allowed_email_domains`` (empty: any) admits only users with a verified e-mail there.
    """

    name: str
    subject_prefix: str
    relying_party: RelyingParty
    keys: JwkSet
    allowed_email_domains: frozenset[str] = frozenset()


@attrs.frozen(kw_only=True)
class _Started:
    txn: str
    upstream: str
    pending: PendingAuthorization
    expires_at: int


@attrs.frozen(kw_only=True)
class _InFlight:
    started: _Started
    stage: str  # "token": waiting for the token response; "jwks": waiting for the upstream key set
    token_response: HttpResponse | None = None


@attrs.define
class FederationState:
    """Redirects in progress (by our ``state``) and back-channel steps awaiting a response."""

    started: dict[str, _Started] = attrs.field(factory=dict, repr=False)
    in_flight: dict[str, _InFlight] = attrs.field(factory=dict, repr=False)

    def purge(self, *, now: int) -> None:
        for key in [k for k, v in self.started.items() if v.expires_at <= now]:
            del self.started[key]
        for key in [k for k, v in self.in_flight.items() if v.started.expires_at <= now]:
            del self.in_flight[key]


def callback_uri(issuer: str, name: str) -> str:
    """Where the upstream sends the user back to us."""
    return f"{issuer.rstrip('/')}{FEDERATE_PATH}/{name}/callback"


def _failed(reason: str, response: HttpResponse, *, client_id: str | None = None,
            details: Mapping[str, Any] | None = None) -> Handled:
    return Handled(response=response, outcome=Outcome(event="federation.failed", decision=Decision.DENY,
                                                      reason=reason, client_id=client_id, details=details or {}))


def _deny_to_client(provider: OpenIdProvider, areq: AuthorizationRequest, *, txn: str, reason: str,
                    upstream: str) -> Handled:
    """End the login transaction and report ``access_denied`` to the client (RFC 6749 §4.1.2.1)."""
    provider.finish_transaction(txn)
    error = RedirectableError(AccessDenied(f"sign-in with {upstream} failed"), redirect_uri=areq.redirect_uri,
                              state=areq.state)
    return _failed(reason, error.to_response(issuer=provider.issuer), client_id=areq.client_id,
                   details={"upstream": upstream})


def handle(provider: OpenIdProvider, request: HttpRequest, *, now: int) -> Handled | Fetch:
    """``GET /federate/<name>`` (start) or ``GET /federate/<name>/callback``."""
    from protocols.oidc.provider import Fetch

    base = request.path.rsplit(FEDERATE_PATH + "/", 1)[-1]
    name, _, rest = base.partition("/")
    upstream = provider.upstreams.get(name)
    if upstream is None or rest not in ("", "callback"):
        error = NotFound("no such federation endpoint")
        return _failed("unknown_upstream", error.to_response())
    try:
        params = request.query_params()
    except MalformedBody:
        return _failed("malformed_request", message_page("The request could not be read.", status=400))

    if rest == "":
        txn = params.get("txn", "")
        areq = provider.login_transaction(txn, now=now)
        if areq is None:
            return _failed("unknown_transaction", message_page("This sign-in has expired. Start again.", status=400))
        pending = upstream.relying_party.start(entropy=provider.entropy, now=now, login_hint=areq.login_hint)
        provider.federations.started[pending.state] = _Started(txn=txn, upstream=name, pending=pending,
                                                               expires_at=now + FEDERATION_LIFETIME)
        return Handled(response=HttpResponse.redirect(pending.url), outcome=Outcome(
            event="federation.started", decision=Decision.ALLOW, client_id=areq.client_id,
            details={"upstream": name}, secrets=pending.secrets))

    started = provider.federations.started.pop(params.get("state", ""), None)
    if started is None or started.upstream != name:
        return _failed("unknown_state",
                       message_page("This sign-in is unknown or has expired. Start again.", status=400))
    areq = provider.login_transaction(started.txn, now=now)
    if areq is None:
        return _failed("unknown_transaction", message_page("This sign-in has expired. Start again.", status=400))
    try:
        code = upstream.relying_party.parse_callback(started.pending, request)
    except CallbackRejected as exc:
        provider.finish_transaction(started.txn)
        return _failed(exc.reason, message_page("The sign-in response was not valid.", status=400),
                       client_id=areq.client_id, details={"upstream": name})
    except OAuthError as exc:
        return _deny_to_client(provider, areq, txn=started.txn, reason=f"upstream_{exc.error}", upstream=name)
    token_request = upstream.relying_party.token_request(started.pending, code=code, entropy=provider.entropy,
                                                         now=now)
    continuation = provider.entropy.token(16)
    provider.federations.in_flight[continuation] = _InFlight(started=started, stage="token")
    assertion = token_request.form().get("client_assertion", "")
    return Fetch(request=token_request, continuation=continuation, outcome=Outcome(
        event="federation.code_received", decision=Decision.ALLOW, client_id=areq.client_id,
        details={"upstream": name}, secrets=(code, assertion)))


def resume(provider: OpenIdProvider, continuation: str, *, response: HttpResponse, now: int) -> Handled | Fetch:
    """Continue a federated login with the upstream's back-channel ``response``."""
    from protocols.oidc.provider import Fetch

    flight = provider.federations.in_flight.pop(continuation, None)
    if flight is None:
        return _failed("unknown_continuation", message_page("This sign-in is unknown or has expired.", status=400))
    started = flight.started
    upstream = provider.upstreams.get(started.upstream)
    areq = provider.login_transaction(started.txn, now=now)
    if areq is None:
        return _failed("unknown_transaction", message_page("This sign-in has expired. Start again.", status=400))
    if upstream is None:
        return _deny_to_client(provider, areq, txn=started.txn, reason="unknown_upstream", upstream=started.upstream)
    token_response = response
    if flight.stage == "jwks":
        assert flight.token_response is not None
        token_response = flight.token_response
        try:
            if response.status != 200:
                raise InvalidJwkSet(f"JWKS fetch answered HTTP {response.status}")
            upstream = attrs.evolve(upstream, keys=JwkSet.from_json(response.body))
        except InvalidJwkSet:
            return _deny_to_client(provider, areq, txn=started.txn, reason="upstream_jwks_unusable",
                                   upstream=started.upstream)
        provider.upstreams[started.upstream] = upstream
    try:
        result = upstream.relying_party.finish(started.pending, token_response, keys=upstream.keys, now=now)
    except UnknownKeyId:
        if flight.stage == "jwks":
            return _deny_to_client(provider, areq, txn=started.txn, reason="unknown_key_id", upstream=started.upstream)
        continuation = provider.entropy.token(16)
        provider.federations.in_flight[continuation] = _InFlight(started=started, stage="jwks",
                                                                 token_response=response)
        return Fetch(request=HttpRequest.get(upstream.relying_party.metadata.jwks_uri), continuation=continuation,
                     outcome=Outcome(event="federation.keys_refreshed", decision=Decision.ALLOW,
                                     client_id=areq.client_id, details={"upstream": started.upstream}))
    except JwtRejected as exc:
        return _deny_to_client(provider, areq, txn=started.txn, reason=exc.reason, upstream=started.upstream)
    except OAuthError as exc:
        return _deny_to_client(provider, areq, txn=started.txn, reason=f"upstream_{exc.error}",
                               upstream=started.upstream)
    except TokenResponseRejected:
        return _deny_to_client(provider, areq, txn=started.txn, reason="bad_token_response", upstream=started.upstream)

    claims = result.id_token.claims
    email = claims.get("email") if isinstance(claims.get("email"), str) else ""
    verified = claims.get("email_verified") is True
    domain = email.rpartition("@")[2]
    if upstream.allowed_email_domains and (not verified or domain not in upstream.allowed_email_domains):
        return _deny_to_client(provider, areq, txn=started.txn, reason="email_domain_not_allowed",
                               upstream=started.upstream)
    subject = f"{upstream.subject_prefix}|{result.id_token.subject}"
    name = claims.get("name") if isinstance(claims.get("name"), str) else ""
    account = provider.provision_federated(UserAccount(subject=subject, username=subject, name=name, email=email,
                                                       email_verified=verified, federated_from=upstream.name))
    amr = (AMR_FEDERATED, AMR_MFA) if AMR_MFA in result.id_token.amr else (AMR_FEDERATED,)
    provider.finish_transaction(started.txn)
    secrets = tuple(t for t in (result.tokens.access_token, result.tokens.id_token) if t)
    return provider.complete_federated_login(areq, account=account, amr=amr, now=now,
                                             details={"upstream": upstream.name, "upstream_jti": result.id_token.jti},
                                             extra_secrets=secrets)
