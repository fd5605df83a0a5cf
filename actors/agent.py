"""An AI agent as a confidential OIDC client (``private_key_jwt``) that acts on a user's behalf.

The agent discovers its identity provider (OIDC Discovery §4), sends the person's browser to it
with ``state``, ``nonce`` and PKCE (``/login``), takes the code on its ``redirect_uri``
(``/callback``), redeems it with a signed client assertion (RFC 7523 §2.2), validates the ID token
(OIDC Core §3.1.3.7) and checks UserInfo's ``sub`` against it (§5.3.2). From then on it holds a
``Delegation``: the user it acts for and the ID token it received for them.
"""

from __future__ import annotations

import html
from typing import Any

import attrs

from actors.agent_context import AgentContext
from actors.runtime.actor import HttpActor
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.jose.errors import JwtRejected, UnknownKeyId
from protocols.jose.jwks import InvalidJwkSet, JwkSet
from protocols.jose.keys import SigningKey
from protocols.oauth.errors import InvalidRequest, OAuthError, TemporarilyUnavailable
from protocols.oauth.token_response import TokenResponseRejected
from protocols.oidc.discovery import DiscoveryRejected, ProviderMetadata, discovery_url
from protocols.oidc.id_token import IdTokenClaims
from protocols.oidc.relying_party import CallbackRejected, PendingAuthorization, RelyingParty
from protocols.oidc.userinfo import UserInfoRejected, parse_userinfo_response, userinfo_request
from protocols.rar import AuthorizationDetail

LOGIN_PATH = "/login"
CALLBACK_PATH = "/callback"


@attrs.frozen(kw_only=True)
class Delegation:
    """The user the agent acts for, established by a validated ID token."""

    subject: str
    name: str
    email: str
    claims: IdTokenClaims
    id_token: str = attrs.field(repr=False)
    access_token: str = attrs.field(repr=False)


@attrs.define(eq=False)
class AgentActor(HttpActor):
    """``idp_issuer`` is the enterprise IdP it trusts; ``signing_key`` authenticates it there."""

    display_name: str = ""
    idp_issuer: str = ""
    signing_key: SigningKey | None = attrs.field(default=None, repr=False)
    scope: tuple[str, ...] = ("openid", "profile", "email")
    delegations: dict[str, Delegation] = attrs.field(factory=dict)
    contexts: dict[str, AgentContext] = attrs.field(factory=dict)
    """Per user: the context assembled for the current task (``actors.mcp_client.gather_context``)."""
    approved: dict[str, list[AuthorizationDetail]] = attrs.field(factory=dict)
    """Per user: the authorization details of approvals granted to the agent (CIBA token responses,
    ``actors.approval_client``) — what the approver saw and approved."""
    _rp: RelyingParty | None = attrs.field(default=None, init=False)
    _idp_keys: JwkSet | None = attrs.field(default=None, init=False, repr=False)
    _pending: dict[str, PendingAuthorization] = attrs.field(factory=dict, init=False, repr=False)
    _entropy: SeededEntropy = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._entropy = self.runtime.entropy_for(self.name).child("oidc")
        self.route("GET", LOGIN_PATH, self.start_login)
        self.route("GET", CALLBACK_PATH, self.callback)

    @property
    def client_id(self) -> str:
        return self.name

    @property
    def redirect_uri(self) -> str:
        return self.url(CALLBACK_PATH)

    async def _get_json(self, url: str) -> Any:
        response = await self.runtime.network.send(HttpRequest.get(url, headers={"accept": "application/json"}))
        if response.status != 200:
            raise TemporarilyUnavailable(f"{url} answered {response.status}")
        return response.json()

    async def discover(self) -> RelyingParty:
        """Read the IdP's discovery document and JWKS (cached; re-read on demand)."""
        if self._rp is None:
            document = await self._get_json(discovery_url(self.idp_issuer))
            metadata = ProviderMetadata.from_json(document, expected_issuer=self.idp_issuer)
            assert self.signing_key is not None
            self._rp = RelyingParty(client_id=self.client_id, redirect_uri=self.redirect_uri, metadata=metadata,
                                    signing_key=self.signing_key, scope=self.scope)
            self._idp_keys = JwkSet.from_json(await self._get_json(metadata.jwks_uri))
        return self._rp

    async def start_login(self, request: HttpRequest) -> HttpResponse:
        rp = await self.discover()
        pending = rp.start(entropy=self._entropy, now=self.runtime.clock.now())
        self.runtime.secrets.add(*pending.secrets)
        self._pending[pending.state] = pending
        await self.audit("agent.login_started", agent=self.name, decision="allow",
                         reason="user sent to the identity provider", issuer=rp.issuer)
        return HttpResponse.redirect(pending.url)

    async def callback(self, request: HttpRequest) -> HttpResponse:
        rp = await self.discover()
        state = request.query_params().get("state", "")
        pending = self._pending.pop(state, None)
        if pending is None:
            await self.audit("agent.login_failed", agent=self.name, decision="deny", reason="unknown or reused state")
            raise InvalidRequest("no login is pending for this state")
        try:
            code = rp.parse_callback(pending, request)
            self.runtime.secrets.add(code)
            token_request = rp.token_request(pending, code=code, entropy=self._entropy, now=self.runtime.clock.now())
            self.runtime.secrets.add(token_request.form()["client_assertion"])
            response = await self.runtime.network.send(token_request)
            try:
                result = rp.finish(pending, response, keys=self._idp_keys, now=self.runtime.clock.now())
            except UnknownKeyId:  # the IdP rotated its signing key since we read its JWKS: read it again
                self._idp_keys = JwkSet.from_json(await self._get_json(rp.metadata.jwks_uri))
                result = rp.finish(pending, response, keys=self._idp_keys, now=self.runtime.clock.now())
            self.runtime.secrets.add(result.tokens.access_token, result.tokens.id_token or "")
            info = parse_userinfo_response(
                await self.runtime.network.send(userinfo_request(url=rp.metadata.userinfo_endpoint,
                                                                 access_token=result.tokens.access_token)),
                expected_subject=result.id_token.subject)
        except (CallbackRejected, OAuthError, TokenResponseRejected, JwtRejected, UserInfoRejected,
                MalformedBody, DiscoveryRejected, InvalidJwkSet) as error:
            await self.audit("agent.login_failed", agent=self.name, decision="deny",
                             reason=f"{type(error).__name__}: {error}")
            return HttpResponse.html(f"<p>Sign-in failed: {html.escape(type(error).__name__)}</p>", status=400)
        claims = result.id_token
        delegation = Delegation(subject=claims.subject, name=str(info.get("name", "")), email=str(info.get("email", "")),
                                claims=claims, id_token=result.tokens.id_token or "",
                                access_token=result.tokens.access_token)
        self.delegations[claims.subject] = delegation
        await self.audit("agent.acting_for_user", agent=self.name, subject=claims.subject, decision="allow",
                         reason="ID token validated and UserInfo subject matches",
                         amr=list(claims.amr), role=claims.claims.get("role"),
                         territory=claims.claims.get("territory"), id_token_jti=claims.jti, kid=claims.kid)
        return HttpResponse.html(f"<p>{html.escape(self.display_name)} now acts for "
                                 f"{html.escape(delegation.name)}.</p>")
