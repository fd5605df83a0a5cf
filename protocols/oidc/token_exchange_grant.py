"""The enterprise IdP's RFC 8693 token-exchange grant, registered at its token endpoint through
``OpenIdProvider.register_grant`` (called after client authentication and the client's grant-type
check). Two profiles, chosen by ``requested_token_type``:

**ID-JAG** (``urn:ietf:params:oauth:token-type:id-jag``, draft-ietf-oauth-identity-assertion-authz-grant
§4.3): the user's ID token → an ID-JAG for another trust domain's authorization server, under the
managed-connection policy. Steps and errors in ``protocols.id_jag`` (subject-token failures are
``invalid_grant`` on this path, as the draft says).

**Delegation** (absent or ``...:access_token``, RFC 8693 §2.1–§2.2, §4): the user's token plus the
agent's actor token → an RFC 9068 ``at+jwt`` access token for one named target (an MCP server's
resource identifier, or another agent), with ``act`` naming the agent (nested over the subject
token's own ``act`` for chains, §4.1) and ``may_act`` when the target is an agent allowed to
continue the chain (§4.4). Platform policy on this path:

- subject: an ID token issued to the requesting client, or an access token of ours whose ``aud``
  is the requesting client and whose ``may_act`` names it (a delegated hop); anything else →
  ``invalid_request`` (RFC 8693 §2.2.2);
- actor: required (no impersonation); ``actor_token_type`` ``...:jwt``; a JWT the actor signs with
  its registered key (``iss`` = ``sub`` = its client id, ``aud`` = our issuer, short-lived, ``jti``
  once) — the RFC 7523 client-assertion shape; the actor must be the authenticated client;
- target: ``audience``/``resource`` values must all name the same registered target, else
  ``invalid_target``; scope ⊆ target scopes ∩ subject token scope, else ``invalid_scope``;
- lifetime: never beyond the subject token's ``exp``.

Every call returns a ``Handled`` whose ``Outcome`` names agent, user (once known), decision and
reason; refusals are rendered here (not by the provider) so the user is part of the audit line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from protocols.access_token import access_token_claims, mint_access_token
from protocols.entropy import SeededEntropy
from protocols.id_jag import (
    decide, id_jag_claims, id_jag_response, mint_id_jag, validate_subject_id_token,
)
from protocols.jose.errors import JwtRejected, WrongAudience
from protocols.jose.jwt import verify_jwt
from protocols.jose.profiles import TokenProfile
from protocols.jwt_bearer import peek
from protocols.managed_connections import ManagedConnection, ManagedConnections
from protocols.oauth.client_auth import AssertionReplayCache, AuthenticatedClient
from protocols.oauth.errors import InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget, OAuthError
from protocols.oauth.outcome import Decision, Handled, Outcome, refused_explained
from protocols.oidc.provider import OpenIdProvider
from protocols.token_exchange import (
    GRANT_TYPE_TOKEN_EXCHANGE, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_BEARER, TOKEN_TYPE_ID_JAG, TOKEN_TYPE_ID_TOKEN,
    TOKEN_TYPE_JWT, ActClaim, InvalidActClaim, MayAct, TokenExchangeRequest, TokenExchangeResponse, delegate,
    scopes_outside,
)

MAX_ACTOR_TOKEN_LIFETIME = 300


@attrs.frozen(kw_only=True)
class DelegationTarget:
    """A target the IdP issues delegated access tokens for: a resource server (``identifier`` = its
    RFC 8707 resource URI) or an agent (``identifier`` = its client id, ``agent=True``: the token
    carries ``may_act`` so that agent may continue the chain)."""

    identifier: str
    name: str
    scopes: frozenset[str] = attrs.field(converter=frozenset)
    agent: bool = False


@attrs.frozen(kw_only=True)
class _Subject:
    claims: Mapping[str, Any]
    scope: tuple[str, ...] | None  # None: an ID token, which carries no scope authority
    prior_act: ActClaim | None
    may_act: MayAct | None


class _Refused(Exception):
    """An ``OAuthError`` plus what the audit line needs (the user, once the subject was read)."""

    def __init__(self, error: OAuthError, *, subject: str | None, details: Mapping[str, Any]) -> None:
        super().__init__(error.error)
        self.error, self.subject, self.details = error, subject, details


@attrs.define
class TokenExchangeGrant:
    """The grant's state: policy (managed connections, targets, approvals) and the actor-token
    replay cache. ``install`` registers it with the provider and advertises the ID-JAG type."""

    provider: OpenIdProvider
    entropy: SeededEntropy = attrs.field(repr=False)
    connections: ManagedConnections = attrs.field(factory=ManagedConnections)
    access_token_lifetime: int = 300
    targets: dict[str, DelegationTarget] = attrs.field(factory=dict)
    approvals: set[tuple[str, str, str, str]] = attrs.field(factory=set)
    _actor_replay: AssertionReplayCache = attrs.field(factory=AssertionReplayCache, repr=False)

    @classmethod
    def installed(cls, provider: OpenIdProvider, *, entropy: SeededEntropy) -> TokenExchangeGrant:
        """The grant already serving ``provider``'s token endpoint, or a new one installed now."""
        grant = getattr(provider.grant_handlers.get(GRANT_TYPE_TOKEN_EXCHANGE), "__self__", None)
        return grant if isinstance(grant, cls) else cls(provider=provider, entropy=entropy).install()

    def install(self) -> TokenExchangeGrant:
        self.provider.register_grant(GRANT_TYPE_TOKEN_EXCHANGE, self.handle)
        metadata = self.provider.metadata
        chaining = metadata.identity_chaining_requested_token_types_supported
        if TOKEN_TYPE_ID_JAG not in chaining:
            self.provider.metadata = attrs.evolve(
                metadata, identity_chaining_requested_token_types_supported=(*chaining, TOKEN_TYPE_ID_JAG))
        return self

    # -- administration ------------------------------------------------------------------------

    def add_connection(self, connection: ManagedConnection) -> None:
        self.connections = self.connections.with_connection(connection)

    def register_target(self, target: DelegationTarget) -> None:
        self.targets[target.identifier] = target

    def record_approval(self, *, agent: str, subject: str, target_issuer: str, scope: str) -> None:
        """An approval-required scope was approved for this agent, user and target."""
        self.approvals.add((agent, subject, target_issuer, scope))

    # -- the grant -----------------------------------------------------------------------------

    def handle(self, *, client: AuthenticatedClient, form: Mapping[str, Any], now: int) -> Handled:
        """The token-endpoint handler (``register_grant`` signature)."""
        self._actor_replay.purge(now=now)
        id_jag = form.get("requested_token_type") == TOKEN_TYPE_ID_JAG
        denied = "id_jag.denied" if id_jag else "token.exchange_denied"
        try:
            try:
                request = TokenExchangeRequest.from_form(form)
            except OAuthError as exc:
                raise _Refused(exc, subject=None, details={}) from None
            if id_jag:
                return self._issue_id_jag(request, client=client, now=now)
            if request.requested_token_type not in (None, TOKEN_TYPE_ACCESS_TOKEN):
                raise _Refused(InvalidRequest("requested_token_type is not issued here"), subject=None,
                               details={"requested_token_type": request.requested_token_type})
            return self._delegate(request, client=client, now=now)
        except _Refused as refused:
            return refused_explained(refused.error, event=denied, subject=refused.subject, client_id=client.client_id,
                                     details=refused.details)

    # -- ID-JAG (draft §4.3) -------------------------------------------------------------------

    def _issue_id_jag(self, request: TokenExchangeRequest, *, client: AuthenticatedClient, now: int) -> Handled:
        provider = self.provider
        asked = {"audience": list(request.audience), "scope": " ".join(request.scope),
                 "resource": list(request.resource)}
        if request.subject_token_type != TOKEN_TYPE_ID_TOKEN:
            raise _Refused(InvalidRequest("an ID-JAG is issued for an ID token subject (subject_token_type id_token)"),
                           subject=None, details=asked)
        try:
            subject_claims = validate_subject_id_token(
                request.subject_token, issuer=provider.issuer, client_id=client.client_id,
                keys=provider.public_keys(now=now), now=now, revoked=provider.revoked_jtis)
        except OAuthError as exc:
            raise _Refused(exc, subject=None, details=asked) from None
        subject = subject_claims["sub"]
        try:
            decision = decide(request, client_id=client.client_id, subject=subject, connections=self.connections,
                              approvals=self.approvals)
        except OAuthError as exc:
            connection = next((c for c in self.connections.for_agent(client.client_id)
                               if request.audience and c.answers_to(request.audience[0])), None)
            raise _Refused(exc, subject=subject,
                           details={**asked, "connection": connection.name if connection else None}) from None
        claims = id_jag_claims(decision=decision, subject_claims=subject_claims, issuer=provider.issuer, now=now,
                               jti=self.entropy.token(16))
        key = provider.keyring.active
        token = mint_id_jag(claims, key=key)
        provider.record_issued(jti=claims.jti, subject=subject, client_id=client.client_id,
                               expires_at=claims.expires_at)
        return Handled(response=id_jag_response(token, claims).to_response(), outcome=Outcome(
            event="id_jag.issued", decision=Decision.ALLOW, reason=decision.verdict.explain(), subject=subject,
            client_id=client.client_id,
            details={"connection": decision.connection.name, "audience": claims.audience,
                     "client_id_at_target": claims.client_id, "scope": " ".join(claims.scope),
                     "resource": list(claims.resource), "requested_scope": asked["scope"], "jti": claims.jti,
                     "subject_token_jti": subject_claims.get("jti"), "kid": key.kid,
                     "expires_in": claims.expires_at - claims.issued_at},
            secrets=(token, request.subject_token)))

    # -- delegation (RFC 8693 §2, §4) ----------------------------------------------------------

    def _delegate(self, request: TokenExchangeRequest, *, client: AuthenticatedClient, now: int) -> Handled:
        provider = self.provider
        asked = {"audience": list(request.audience), "resource": list(request.resource),
                 "scope": " ".join(request.scope)}
        try:
            subject = self._subject(request, client_id=client.client_id, now=now)
        except OAuthError as exc:
            raise _Refused(exc, subject=None, details=asked) from None
        user = subject.claims["sub"]
        try:
            actor = self._actor(request, client_id=client.client_id, now=now)
            if subject.may_act is not None and not subject.may_act.permits(actor_sub=actor, actor_iss=provider.issuer):
                raise InvalidRequest("the subject token's may_act does not name this actor (RFC 8693 sec. 4.4)")
            target = self._target(request)
            allowed = [s for s in sorted(target.scopes) if subject.scope is None or s in subject.scope]
            outside = scopes_outside(requested=request.scope, allowed=allowed)
            if outside:
                raise InvalidScope(f"scope {' '.join(outside)} exceeds what the subject token and the target allow")
            scope = request.scope or tuple(allowed)
            if not scope:
                raise InvalidScope("no scope can be granted for this target")
            act = delegate(actor_sub=actor, actor_iss=provider.issuer, prior=subject.prior_act)
        except (OAuthError, InvalidActClaim) as exc:
            error = exc if isinstance(exc, OAuthError) else InvalidRequest(f"act claim rejected: {exc}")
            raise _Refused(error, subject=user, details=asked) from None
        expires_at = min(now + self.access_token_lifetime, int(subject.claims["exp"]))
        jti = self.entropy.token(16)
        auth_time = subject.claims.get("auth_time")
        claims = access_token_claims(
            issuer=provider.issuer, subject=user, audience=target.identifier, client_id=client.client_id, scope=scope,
            issued_at=now, expires_at=expires_at, jti=jti, act=act,
            auth_time=auth_time if isinstance(auth_time, int) else None,
            may_act=MayAct(sub=target.identifier, iss=provider.issuer) if target.agent else None)
        key = provider.keyring.active
        token = mint_access_token(claims=claims, key=key)
        provider.record_issued(jti=jti, subject=user, client_id=client.client_id, expires_at=expires_at)
        response = TokenExchangeResponse(access_token=token, issued_token_type=TOKEN_TYPE_ACCESS_TOKEN,
                                         token_type=TOKEN_TYPE_BEARER, expires_in=expires_at - now, scope=scope)
        return Handled(response=response.to_response(), outcome=Outcome(
            event="token.exchanged", decision=Decision.ALLOW, reason="delegation within the subject's authority",
            subject=user, client_id=client.client_id,
            details={"target": target.name, "audience": target.identifier, "scope": " ".join(scope),
                     "act_chain": list(act.chain_subjects()), "jti": jti, "kid": key.kid,
                     "subject_jti": subject.claims.get("jti"),  # lineage: the token this one derives from
                     "subject_token_type": request.subject_token_type, "expires_in": expires_at - now},
            secrets=tuple(t for t in (token, request.subject_token, request.actor_token) if t)))

    def _subject(self, request: TokenExchangeRequest, *, client_id: str, now: int) -> _Subject:
        """RFC 8693 §2.1: validate the subject token for its type; failures are ``invalid_request``."""
        provider = self.provider
        keys = provider.public_keys(now=now)
        if request.subject_token_type == TOKEN_TYPE_ID_TOKEN:
            try:
                claims = validate_subject_id_token(request.subject_token, issuer=provider.issuer, client_id=client_id,
                                                   keys=keys, now=now, revoked=provider.revoked_jtis)
            except InvalidGrant as exc:
                raise InvalidRequest(exc.description) from None
            return _Subject(claims=claims, scope=None, prior_act=None, may_act=None)
        if request.subject_token_type != TOKEN_TYPE_ACCESS_TOKEN:
            raise InvalidRequest("subject_token_type must be id_token or access_token here")
        profile = TokenProfile.access_token(issuer=provider.issuer, audience=client_id)
        try:
            claims = verify_jwt(request.subject_token, keys=keys, profile=profile, now=now).claims
        except WrongAudience:
            raise InvalidRequest("subject_token is not addressed to this client") from None
        except JwtRejected as exc:
            raise InvalidRequest(f"subject_token rejected: {exc.reason}") from None
        if provider.is_revoked(claims["jti"]):
            raise InvalidRequest("subject_token has been revoked")
        scope = claims.get("scope", "")
        if not isinstance(scope, str) or not isinstance(claims.get("sub"), str):
            raise InvalidRequest("subject_token claims are malformed")
        try:
            prior = ActClaim.from_claim(claims["act"]) if "act" in claims else None
            may_act = MayAct.from_claim(claims["may_act"]) if "may_act" in claims else None
        except InvalidActClaim as exc:
            raise InvalidRequest(f"subject_token delegation claims rejected: {exc}") from None
        if may_act is None:
            raise InvalidRequest("an access token subject must name the next actor in may_act (RFC 8693 sec. 4.4)")
        return _Subject(claims=claims, scope=tuple(scope.split()), prior_act=prior, may_act=may_act)

    def _actor(self, request: TokenExchangeRequest, *, client_id: str, now: int) -> str:
        """The actor token: the requesting agent proves itself with a JWT signed by its own key."""
        if request.actor_token is None:
            raise InvalidRequest("actor_token is required: this IdP issues delegation, not impersonation")
        if request.actor_token_type != TOKEN_TYPE_JWT:
            raise InvalidRequest("actor_token_type must be urn:ietf:params:oauth:token-type:jwt")
        try:
            actor = peek(request.actor_token).issuer
        except OAuthError:
            raise InvalidRequest("actor_token is malformed") from None
        registration = self.provider.clients.get(actor) if actor else None
        if registration is None or registration.jwks is None:
            raise InvalidRequest("actor_token is not issued by a registered agent")
        profile = TokenProfile.client_assertion(audience=self.provider.issuer, client_id=actor,
                                                max_lifetime=MAX_ACTOR_TOKEN_LIFETIME)
        try:
            claims = verify_jwt(request.actor_token, keys=registration.jwks, profile=profile, now=now).claims
        except JwtRejected as exc:
            raise InvalidRequest(f"actor_token rejected: {exc.reason}") from None
        if claims.get("sub") != actor:
            raise InvalidRequest("actor_token iss and sub must both name the actor")
        if actor != client_id:
            raise InvalidRequest("the actor must be the authenticated client")
        if not self._actor_replay.remember(issuer=actor, jti=str(claims["jti"]), expires_at=int(claims["exp"]) + 30,
                                           now=now):
            raise InvalidRequest("actor_token was already used")
        return actor

    def _target(self, request: TokenExchangeRequest) -> DelegationTarget:
        """All ``audience`` and ``resource`` values must name one registered target (RFC 8707 §2)."""
        names = (*request.audience, *request.resource)
        if not names:
            raise InvalidRequest("audience or resource is required: tokens are issued for one named target")
        found = {self.targets.get(name) for name in names}
        if None in found:
            raise InvalidTarget("the requested audience or resource is not a target of this IdP")
        if len(found) != 1:
            raise InvalidTarget("one access token is issued per target (RFC 9068 sec. 3)")
        (target,) = found
        assert target is not None
        return target

