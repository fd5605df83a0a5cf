"""The agent's side of CIBA (OpenID CIBA Core §7, §10, §11) with RFC 9396 authorization details.

``ApprovalRequester`` is attached to an ``AgentActor``: it adds the agent's client notification
endpoint (``POST /ciba/notify``, §10.2 / §10.3) and asks the identity provider for a person's
approval: ``/bc-authorize`` with the agent's ``private_key_jwt`` assertion, one hint, a binding
message, the authorization details and the resource; then, per the registered delivery mode,

- poll: token requests every ``interval`` seconds, 5 s more after each ``slow_down`` (§11);
- ping: waits for the ping (checking the bearer ``client_notification_token`` in constant time),
  then one token request; a slow safety-net poll covers a ping that never arrives;
- push: waits for the pushed token response, whose ID token must name the ``auth_req_id`` and
  carry the access token's ``at_hash`` (§10.3.1); push errors follow §12.

The wait runs in the caller's task, never in the agent's mailbox, so the agent keeps serving
requests (and doing other work) meanwhile. A woken waiter reacts ``REACTION_DELAY`` later, so the
notifier's own bookkeeping always completes first (deterministic order, DESIGN.md §2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import attrs
import trio

from actors.agent import AgentActor
from actors.runtime.network import Unreachable
from protocols.ciba import AUTH_REQ_ID_CLAIM, SLOW_DOWN_STEP, DeliveryMode
from protocols.ciba_delivery import Acknowledgement, NotificationRejected, read_notification, token_request_params
from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.jose.errors import JwtRejected
from protocols.jose.jwks import JwkSet
from protocols.jose.keys import Algorithm
from protocols.oauth.client_auth import client_assertion_params
from protocols.oauth.errors import (
    AccessDenied, AuthorizationPending, ExpiredToken, InvalidAuthorizationDetails, InvalidRequest, OAuthError,
    SlowDown,
)
from protocols.oauth.token_response import TokenResponse, TokenResponseRejected
from protocols.oidc.id_token import validate_id_token
from protocols.rar import AuthorizationDetail, encode, parse_authorization_details, to_json

NOTIFY_PATH = "/ciba/notify"
REACTION_DELAY = 0.001
PING_SAFETY_NET = 300
"""Ping mode: poll this often anyway, in case a ping is lost (the OP may fail to reach us)."""
PUSH_GRACE = 5


@attrs.frozen(kw_only=True)
class ApprovalOutcome:
    """How an approval request ended: ``approved`` (with the token), ``denied``, ``expired``,
    ``refused`` (the provider would not even ask) or ``failed`` (unusable answer, unreachable)."""

    status: str
    reason: str
    mode: str
    requested_at: int
    answered_at: int
    polls: int = 0
    slow_downs: int = 0
    notifications: int = 0
    approver: str | None = None
    access_token: str | None = attrs.field(default=None, repr=False)
    expires_in: int | None = None
    scope: tuple[str, ...] = ()
    authorization_details: tuple[AuthorizationDetail, ...] = ()
    error: str = ""

    @property
    def approved(self) -> bool:
        return self.status == "approved"

    @property
    def waited(self) -> int:
        return self.answered_at - self.requested_at


@attrs.define(eq=False)
class _Waiter:
    auth_req_id: str = attrs.field(repr=False)
    token: str = attrs.field(repr=False)
    event: trio.Event = attrs.field(factory=trio.Event)
    payload: dict[str, Any] | None = None
    count: int = 0


def _at_hash(access_token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(access_token.encode("ascii")).digest()[:16]).rstrip(b"=").decode()


@attrs.define(eq=False)
class ApprovalRequester:
    agent: AgentActor
    mode: DeliveryMode
    ping_safety_net: int = PING_SAFETY_NET
    _waiting: dict[str, _Waiter] = attrs.field(factory=dict, init=False, repr=False)
    _keys: JwkSet | None = attrs.field(default=None, init=False, repr=False)
    _entropy: SeededEntropy = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._entropy = self.agent.runtime.entropy_for(self.agent.name).child("ciba")

    @classmethod
    def attach(cls, *, agent: AgentActor, mode: DeliveryMode) -> ApprovalRequester:
        requester = cls(agent=agent, mode=mode)
        agent.route("POST", NOTIFY_PATH, requester.notification)
        return requester

    @property
    def notification_endpoint(self) -> str:
        return self.agent.url(NOTIFY_PATH)

    # ------------------------------------------------------------------ the notification endpoint

    async def notification(self, request: HttpRequest) -> HttpResponse:
        """§10.2 / §10.3: accept a ping or push for a request we are waiting on; 204, else 401."""
        try:
            body = request.json()
        except MalformedBody as exc:
            raise InvalidRequest(str(exc)) from None
        auth_req_id = body.get("auth_req_id") if isinstance(body, dict) else None
        waiter = self._waiting.get(auth_req_id) if isinstance(auth_req_id, str) else None
        try:
            if waiter is None:
                raise NotificationRejected("no request of ours is waiting for this notification")
            read_notification(request, expected_token=waiter.token, auth_req_id=waiter.auth_req_id)
        except NotificationRejected as error:
            await self.agent.audit("agent.notification_rejected", agent=self.agent.name, decision="deny",
                                   reason=str(error))
            return HttpResponse(status=401, headers={"www-authenticate": 'Bearer realm="ciba"'})
        assert waiter is not None and isinstance(body, dict)
        waiter.payload, waiter.count = body, waiter.count + 1
        kind = "push" if ("access_token" in body or "error" in body) else "ping"
        await self.agent.audit("agent.notified", agent=self.agent.name, decision="allow",
                               reason=f"CIBA {kind} from the identity provider", kind=kind)
        waiter.event.set()
        return HttpResponse(status=204)

    # ------------------------------------------------------------------ asking

    async def request(self, *, on_behalf_of: str, hint: tuple[str, str], details: tuple[AuthorizationDetail, ...],
                      scope: tuple[str, ...], binding_message: str, resource: str, requested_expiry: int,
                      why: str) -> ApprovalOutcome:
        """Ask for approval and wait for the answer (module docstring). ``hint`` is (parameter, value)."""
        agent, runtime = self.agent, self.agent.runtime
        started = runtime.clock.now()

        def ended(status: str, reason: str, **fields: Any) -> ApprovalOutcome:
            return ApprovalOutcome(status=status, reason=reason, mode=self.mode.value, requested_at=started,
                                   answered_at=runtime.clock.now(), **fields)

        try:
            rp = await agent.discover()
        except (OAuthError, Unreachable) as error:
            return ended("failed", f"the identity provider cannot be discovered ({type(error).__name__})")
        metadata = rp.metadata
        if metadata.backchannel_authentication_endpoint is None or \
                self.mode.value not in metadata.backchannel_token_delivery_modes_supported:
            return ended("refused", f"the identity provider offers no CIBA {self.mode.value} mode", error="unsupported")
        form = {"scope": " ".join(("openid", *scope)), hint[0]: hint[1], "binding_message": binding_message,
                "authorization_details": encode(details), "resource": resource,
                "requested_expiry": str(requested_expiry)}
        notification_token = None
        if self.mode is not DeliveryMode.POLL:
            notification_token = self._entropy.token(32)
            runtime.secrets.add(notification_token)
            form["client_notification_token"] = notification_token
        form.update(self._client_auth(audience=metadata.issuer))
        await agent.audit("agent.approval_requested", agent=agent.name, subject=on_behalf_of, decision="allow",
                          reason=why, mode=self.mode.value, hint=hint[0], binding_message=binding_message,
                          scope=" ".join(scope), authorization_details=to_json(details), resource=resource)
        try:
            response = await runtime.network.send(HttpRequest.form_post(
                url=metadata.backchannel_authentication_endpoint, params=form))
            ack = Acknowledgement.from_response(response)
        except (OAuthError, NotificationRejected, Unreachable) as error:
            code = error.error if isinstance(error, OAuthError) else type(error).__name__
            outcome = ended("refused", f"the identity provider refused the request: {code}", error=code)
            await self._audit_end(outcome, on_behalf_of)
            return outcome
        runtime.secrets.add(ack.auth_req_id)
        waiter = _Waiter(auth_req_id=ack.auth_req_id, token=notification_token or "")
        self._waiting[ack.auth_req_id] = waiter
        try:
            if self.mode is DeliveryMode.PUSH:
                outcome = await self._await_push(ack, waiter, metadata=metadata, ended=ended)
            else:
                outcome = await self._await_token(ack, waiter, metadata=metadata, ended=ended)
        finally:
            del self._waiting[ack.auth_req_id]
        if outcome.approved:  # what the approver approved: the output filter reads it (approved recipients)
            agent.approved.setdefault(on_behalf_of, []).extend(outcome.authorization_details)
        await self._audit_end(outcome, on_behalf_of)
        return outcome

    def _client_auth(self, *, audience: str) -> dict[str, str]:
        agent = self.agent
        params = client_assertion_params(client_id=agent.client_id, audience=audience, key=agent.signing_key,
                                         now=agent.runtime.clock.now(), entropy=self._entropy)
        agent.runtime.secrets.add(params["client_assertion"])
        return params

    async def _await_token(self, ack: Acknowledgement, waiter: _Waiter, *, metadata: Any, ended: Any) -> ApprovalOutcome:
        """Poll mode, or ping mode (wait for the ping, with a slow safety net), then the token request."""
        interval, polls, slow_downs = ack.interval, 0, 0
        expires_at = trio.current_time() + ack.expires_in
        while True:
            if self.mode is DeliveryMode.POLL:
                await trio.sleep(interval)
            else:
                # Near the end, wait past the expiry: the OP pings then too (and we learn expired_token).
                remaining = expires_at - trio.current_time()
                wait = remaining + 1 if remaining <= self.ping_safety_net else self.ping_safety_net
                with trio.move_on_after(max(interval, wait)):
                    await waiter.event.wait()
                if waiter.event.is_set():
                    waiter.event = trio.Event()
                    await trio.sleep(REACTION_DELAY)
            polls += 1
            try:
                response = await self.agent.runtime.network.send(HttpRequest.form_post(
                    url=metadata.token_endpoint,
                    params={**token_request_params(ack.auth_req_id), **self._client_auth(audience=metadata.issuer)}))
            except Unreachable:
                return ended("failed", "the token endpoint is unreachable", polls=polls, slow_downs=slow_downs,
                             notifications=waiter.count)
            if response.status == 200:
                return await self._accept(response.json() if _is_json(response) else {}, response=response,
                                          ack=ack, metadata=metadata, ended=ended, push=False, polls=polls,
                                          slow_downs=slow_downs, notifications=waiter.count)
            error = OAuthError.from_response(response)
            if isinstance(error, AuthorizationPending):
                continue
            if isinstance(error, SlowDown):
                interval, slow_downs = interval + SLOW_DOWN_STEP, slow_downs + 1
                continue
            return self._refusal(error, ended=ended, polls=polls, slow_downs=slow_downs, notifications=waiter.count)

    async def _await_push(self, ack: Acknowledgement, waiter: _Waiter, *, metadata: Any, ended: Any) -> ApprovalOutcome:
        with trio.move_on_after(ack.expires_in + PUSH_GRACE):
            await waiter.event.wait()
        if waiter.payload is None:
            return ended("expired", "no answer was pushed before the request expired", error="expired_token")
        await trio.sleep(REACTION_DELAY)
        payload = waiter.payload
        if "error" in payload:
            error = OAuthError.from_response(HttpResponse.json_body(payload, status=400))
            return self._refusal(error, ended=ended, notifications=waiter.count)
        return await self._accept(payload, response=None, ack=ack, metadata=metadata, ended=ended, push=True,
                                  notifications=waiter.count)

    @staticmethod
    def _refusal(error: OAuthError, *, ended: Any, **counts: int) -> ApprovalOutcome:
        if isinstance(error, AccessDenied):
            return ended("denied", "the approver denied the request", error=error.error, **counts)
        if isinstance(error, ExpiredToken):
            return ended("expired", "nobody answered before the request expired", error=error.error, **counts)
        return ended("failed", f"the identity provider answered {error.error}", error=error.error, **counts)

    async def _accept(self, body: Mapping[str, Any], *, response: HttpResponse | None, ack: Acknowledgement,
                      metadata: Any, ended: Any, push: bool, **counts: int) -> ApprovalOutcome:
        """Check the token response (RFC 6749 §5.1, OIDC Core §3.1.3.7, CIBA §10.3.1, RFC 9396 §7)."""
        runtime = self.agent.runtime
        try:
            if response is None:
                response = HttpResponse.json_body(dict(body), no_store=True)
            tokens = TokenResponse.from_response(response, require_id_token=True)
            runtime.secrets.add(tokens.access_token, tokens.id_token or "")
            keys = await self._idp_keys(metadata)
            claims = validate_id_token(tokens.id_token or "", issuer=metadata.issuer, client_id=self.agent.client_id,
                                       keys=keys, now=runtime.clock.now(), nonce=None,
                                       algorithms=frozenset(Algorithm))
            if not hmac.compare_digest(str(claims.claims.get("at_hash", "")), _at_hash(tokens.access_token)):
                raise TokenResponseRejected("the ID token's at_hash does not match the access token")
            if push and (claims.claims.get(AUTH_REQ_ID_CLAIM) != ack.auth_req_id or body.get("auth_req_id") != ack.auth_req_id):
                raise TokenResponseRejected("the pushed ID token is not bound to our auth_req_id")
            details = parse_authorization_details(body["authorization_details"]) if "authorization_details" in body else ()
        except (OAuthError, TokenResponseRejected, JwtRejected, InvalidAuthorizationDetails, MalformedBody,
                Unreachable) as error:
            return ended("failed", f"the token response was not usable: {type(error).__name__}: {error}",
                         error="invalid_response", **counts)
        return ended("approved", "the approver approved the request", approver=claims.subject,
                     access_token=tokens.access_token, expires_in=tokens.expires_in, scope=tokens.scope,
                     authorization_details=details, **counts)

    async def _idp_keys(self, metadata: Any) -> JwkSet:
        response = await self.agent.runtime.network.send(HttpRequest.get(metadata.jwks_uri))
        if response.status != 200:
            raise TokenResponseRejected("the identity provider's keys are unavailable")
        self._keys = JwkSet.from_json(response.json())
        return self._keys

    async def _audit_end(self, outcome: ApprovalOutcome, on_behalf_of: str) -> None:
        events = {"approved": "agent.approval_granted", "denied": "agent.approval_denied",
                  "expired": "agent.approval_expired"}
        fields: dict[str, Any] = {"mode": outcome.mode, "waited": outcome.waited, "polls": outcome.polls,
                                  "slow_downs": outcome.slow_downs, "notifications": outcome.notifications}
        if outcome.approved:
            fields.update(approver=outcome.approver, scope=" ".join(outcome.scope), expires_in=outcome.expires_in,
                          authorization_details=to_json(outcome.authorization_details))
        await self.agent.audit(events.get(outcome.status, "agent.approval_failed"), agent=self.agent.name,
                               subject=on_behalf_of, decision="allow" if outcome.approved else "deny",
                               reason=outcome.reason, **fields)

    # ------------------------------------------------------------------ using the approval

    async def perform(self, *, gate: str, outcome: ApprovalOutcome, detail: AuthorizationDetail, action: str,
                      on_behalf_of: str) -> HttpResponse:
        """Ask the system behind ``gate`` to perform one approved ``action`` on ``detail``."""
        assert outcome.access_token is not None
        request = HttpRequest.json_post(url=gate, payload={"action": action, "detail": detail.to_json()},
                                        headers={"authorization": f"Bearer {outcome.access_token}"})
        try:
            response = await self.agent.runtime.network.send(request)
        except Unreachable:
            response = HttpResponse.json_body({"error": "temporarily_unavailable"}, status=503)
        ok = response.status in (200, 201)
        await self.agent.audit("agent.action_performed" if ok else "agent.action_refused", agent=self.agent.name,
                               subject=on_behalf_of, decision="allow" if ok else "deny",
                               reason=f"{action} answered HTTP {response.status}", action=action,
                               reference=detail.identifier)
        return response


def _is_json(response: HttpResponse) -> bool:
    return (response.header("content-type") or "").startswith("application/json")
