"""The system that performs approved high-value actions (sends the proposal, places the order): an
OAuth resource server (RFC 6750, RFC 9068 §4) that executes an action only with an approval token
bound to exactly that action (``protocols.approval_token``, RFC 9396 §9.1).

``POST /actions`` with ``Authorization: Bearer <approval token>`` and a JSON body
``{"action": "place_order", "detail": {<authorization details object>}}``. The token must be
valid here (issuer, audience = this gate, signature, expiry), grant the action's scope, carry
authorization details covering ``detail`` exactly (same party, amount, currency, reference,
products and recipients) with ``action`` among the approved actions, and not have been used for
this action before. Then, because the token is a self-contained JWT the IdP may have revoked since
(a CIBA push that could not deliver it, the approver's or the agent's tokens revoked), the gate asks
the IdP (RFC 7662, ``actors.token_introspection``, never cached: approvals are single-use and
high-value), authenticating as the protected resource registered there: inactive is ``401
invalid_token``; an IdP that cannot answer is ``503 temporarily_unavailable`` (fail closed).
Anything else is refused (401 / 403 / 400) and audited; nothing is executed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from actors.runtime.actor import HttpActor
from actors.token_introspection import TokenIntrospector
from protocols.access_token import challenge
from protocols.approval_token import ApprovedAction, check_approved_action
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.jose.jwks import JwkSet
from protocols.oauth.errors import InvalidRequest, InvalidToken, OAuthError, TemporarilyUnavailable
from protocols.oidc.discovery import ProviderMetadata, discovery_url
from protocols.oidc.userinfo import MissingBearerToken, extract_bearer_token
from protocols.rar import parse_detail, to_json

ACTIONS_PATH = "/actions"
ACTION_SCOPES: Mapping[str, str] = {"send_email": "email:send", "save_to_drive": "drive:write",
                                    "update_crm": "crm:update", "place_order": "purchase:order"}
"""The scope each action needs (the platform's action vocabulary, RFC 9396 ``actions``)."""


@attrs.frozen(kw_only=True)
class Executed:
    receipt: str
    action: str
    reference: str | None
    approver: str
    client_id: str
    jti: str
    detail: Mapping[str, Any]
    at: str


@attrs.define(eq=False)
class ActionGate(HttpActor):
    idp_issuer: str = ""
    title: str = ""
    executed: list[Executed] = attrs.field(factory=list)
    introspector: TokenIntrospector = attrs.field(kw_only=True)
    """Our registration at the IdP as a protected resource (``cache_seconds`` 0)."""
    _used: set[tuple[str, str]] = attrs.field(factory=set, init=False, repr=False)
    _keys: JwkSet | None = attrs.field(default=None, init=False, repr=False)
    _metadata: ProviderMetadata | None = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if self.introspector.cache_seconds:
            raise ValueError("approval tokens are single-use: the gate introspects every one (cache 0)")
        self.route("POST", ACTIONS_PATH, self.perform)

    @property
    def resource(self) -> str:
        """Our resource identifier (RFC 8707): the audience approval tokens must name."""
        return self.base_url

    @property
    def actions_endpoint(self) -> str:
        return self.url(ACTIONS_PATH)

    async def _idp_keys(self, *, refresh: bool = False) -> JwkSet:
        network = self.runtime.network
        if self._metadata is None:
            response = await network.send(HttpRequest.get(discovery_url(self.idp_issuer)))
            if response.status != 200:
                raise TemporarilyUnavailable("the identity provider's metadata is unavailable")
            self._metadata = ProviderMetadata.from_json(response.json(), expected_issuer=self.idp_issuer)
        if self._keys is None or refresh:
            response = await network.send(HttpRequest.get(self._metadata.jwks_uri))
            if response.status != 200:
                raise TemporarilyUnavailable("the identity provider's keys are unavailable")
            self._keys = JwkSet.from_json(response.json())
        return self._keys

    async def perform(self, request: HttpRequest) -> HttpResponse:
        realm = self.resource
        approved: ApprovedAction | None = None
        try:
            token = extract_bearer_token(request)
            try:
                body = request.json()
            except MalformedBody as exc:
                raise InvalidRequest(str(exc)) from None
            if not isinstance(body, dict) or not isinstance(body.get("action"), str):
                raise InvalidRequest("the body needs an action and a detail")
            action = body["action"]
            scope = ACTION_SCOPES.get(action)
            if scope is None:
                raise InvalidRequest("unknown action")
            requested = parse_detail(body.get("detail"))
            keys = await self._idp_keys()
            check = dict(issuer=self.idp_issuer, audience=self.resource, now=self.runtime.clock.now(),
                         requested=requested, action=action, required_scope=scope, used=self._used)
            try:
                approved = check_approved_action(token, keys=keys, **check)
            except InvalidToken as error:
                if "unknown_key_id" not in error.description:
                    raise
                approved = check_approved_action(token, keys=await self._idp_keys(refresh=True), **check)
            assert self._metadata is not None
            self._used.add((approved.jti, action))  # held while the IdP is asked: a concurrent replay is refused
            try:
                confirmed = await self.introspector.confirm(token, approved,
                                                            endpoint=self._metadata.introspection_endpoint)
            except OAuthError:
                self._used.discard((approved.jti, action))
                raise
        except MissingBearerToken:
            await self.audit("action.refused", decision="deny", reason="missing_token")
            return challenge(realm=realm)
        except OAuthError as error:
            checked = {} if approved is None else {"agent": approved.client_id, "subject": approved.approver,
                                                   "jti": approved.jti, "check": "introspection"}
            await self.audit("action.refused", decision="deny", reason=error.error, description=error.description,
                             **checked)
            if error.status in (401, 403):
                return challenge(realm=realm, error=error)
            return error.to_response()
        receipt = f"{self.name}-{len(self.executed) + 1:04d}"
        self.executed.append(Executed(receipt=receipt, action=action, reference=requested.identifier,
                                      approver=approved.approver, client_id=approved.client_id, jti=approved.jti,
                                      detail=requested.to_json(), at=self.runtime.clock.iso()))
        await self.audit("action.executed", agent=approved.client_id, subject=approved.approver, decision="allow",
                         reason=f"{action} covered by the approval, {confirmed}", action=action, receipt=receipt,
                         jti=approved.jti, authorization_details=to_json([requested]))
        return HttpResponse.json_body({"receipt": receipt, "action": action, "reference": requested.identifier},
                                      status=201)
