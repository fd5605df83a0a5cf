"""OpenID CIBA Core 1.0 at the OpenID Provider, with RFC 9396 authorization details. Sans-IO.

``Backchannel`` plugs into an ``OpenIdProvider`` (``install``) through its two extension hooks:

- ``POST /bc-authorize`` (``register_endpoint``) — §7.1 request, §7.2 validation, §7.3
  acknowledgement, §13 errors: client authentication as at the token endpoint (§7.1, RFC 7523
  §3), the client's CIBA registration (§4, else ``unauthorized_client``), request validation
  (``protocols.ciba``), the user resolved from the one hint (``unknown_user_id``,
  ``expired_login_hint_token``; ``backchannel_user``), the approver policy (``access_denied``),
  ``user_code`` (``invalid_user_code``), the request opened in the ``protocols.ciba_ledger``. The
  user's authentication device gets an ``ApprovalPrompt`` and their mailbox an e-mail
  (``protocols.device_approval``, ``backchannel_user``).
- ``POST /bc-device/decision`` — the device's signed answer, bound to the prompt it displayed.
- ``grant_type=urn:openid:params:grant-type:ciba`` at ``/token`` (``register_grant``) — §10.1,
  §11 for poll and ping clients; push clients are ``unauthorized_client`` (§10.3).
- Ping (§10.2) and push (§10.3.1, §12 errors) notifications and the device/e-mail messages go to an
  outbox; the actor delivers them and reports with ``delivered``. ``expire_due`` ends requests
  whose time is up (notifying ping and push clients). A push that fails ends its request and
  revokes the tokens it carried (``ciba.push_failed`` with ``revoked``: their jtis).

The token issued after approval is ``protocols.approval_token``: exactly the approved scopes and
authorization details, the approval token lifetime of the client's registration, one audience
(``backchannel_tokens``). The token response echoes ``authorization_details`` (RFC 9396 §7); a pushed
response carries ``auth_req_id`` and an ID token with ``urn:openid:params:jwt:claim:auth_req_id`` and
``at_hash``. Every mode audits the issued token the same way — one ``token.issued`` entry (``kind``
``approval_token``, ``jti``, ``id_token_jti``, ``aud``, ``scope``, ``mode``) — after the token
request for poll and ping, right after ``ciba.approved`` for push, so the report's token lineage
sees it whichever way it was delivered.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from protocols.ciba import BC_AUTHORIZE_PATH, CIBA_GRANT_TYPE, BackchannelRequest, CibaClient, DeliveryMode
from protocols.ciba_delivery import (
    acknowledgement, delivered, ping_request, push_error_payload, push_request, token_endpoint_error,
)
from protocols.ciba_ledger import Approval, CibaLedger, CibaState, CibaTransaction
from protocols.device_approval import DECISION_PATH, ApprovalPrompt, Decision, DeviceRegistration, verify_decision
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.oauth.client_auth import AssertionReplayCache, AuthenticatedClient
from protocols.oauth.errors import (
    AccessDenied, AuthorizationPending, ExpiredToken, InvalidGrant, InvalidRequest, InvalidUserCode, OAuthError,
    SlowDown, TransactionFailed, UnauthorizedClient,
)
from protocols.oidc.backchannel_tokens import approval_token_response, issued_outcome
from protocols.oidc.backchannel_user import approval_prompt, prompt_messages, resolve_user
from protocols.rar import DETAIL_TYPES, to_json

if TYPE_CHECKING:
    from protocols.oidc.provider import Handled, OpenIdProvider, Outcome

DELIVERY_MODES = ("poll", "ping", "push")


@attrs.frozen(kw_only=True)
class Outbound:
    """A message the provider wants sent: to a device, a mailbox, or a client (ping / push)."""

    kind: str
    request: HttpRequest = attrs.field(repr=False)
    txn: str
    client_id: str
    subject: str
    auth_req_id: str = attrs.field(repr=False)


@attrs.define
class Backchannel:
    """CIBA state of one provider: registrations, requests, prompts and the outbox."""

    provider: OpenIdProvider
    clients: dict[str, CibaClient] = attrs.field(factory=dict)
    devices: dict[str, DeviceRegistration] = attrs.field(factory=dict)
    login_hints: dict[str, str] = attrs.field(factory=dict)
    """Login hint (e-mail or username, lower-cased) → subject."""
    user_code_supported: bool = True
    ledger: CibaLedger = attrs.field(factory=CibaLedger)
    _user_codes: dict[str, bytes] = attrs.field(factory=dict, repr=False)
    _prompts: dict[str, ApprovalPrompt] = attrs.field(factory=dict, repr=False)
    _outbox: list[Outbound] = attrs.field(factory=list, repr=False)
    _device_replay: AssertionReplayCache = attrs.field(factory=AssertionReplayCache, repr=False)

    # ------------------------------------------------------------------ setup

    def install(self) -> Backchannel:
        """Serve the endpoints and the grant; advertise CIBA and RAR in the metadata (§4, RFC 9396 §10)."""
        provider = self.provider
        provider.register_endpoint(BC_AUTHORIZE_PATH, self.bc_authorize)
        provider.register_endpoint(DECISION_PATH, self.device_decision)
        provider.register_grant(CIBA_GRANT_TYPE, self.token_grant)
        provider.metadata = attrs.evolve(
            provider.metadata,
            backchannel_authentication_endpoint=provider.issuer.rstrip("/") + BC_AUTHORIZE_PATH,
            backchannel_token_delivery_modes_supported=DELIVERY_MODES,
            backchannel_user_code_parameter_supported=self.user_code_supported,
            authorization_details_types_supported=tuple(sorted(DETAIL_TYPES)))
        return self

    def register_client(self, client: CibaClient) -> None:
        """Record the client's CIBA metadata and allow it the CIBA grant at the token endpoint."""
        registration = self.provider.clients.get(client.client_id)
        if registration is None:
            raise ValueError(f"{client.client_id} is not a registered client")
        if client.user_code_parameter and not self.user_code_supported:
            raise ValueError("this provider does not support user_code")
        self.provider.register_client(attrs.evolve(registration,
                                                   grant_types=registration.grant_types | {CIBA_GRANT_TYPE}))
        self.clients[client.client_id] = client

    def register_device(self, device: DeviceRegistration) -> None:
        self.devices[device.device_id] = device

    def register_user_code(self, *, subject: str, user_code: str) -> None:
        self._user_codes[subject] = hashlib.sha256(user_code.encode("utf-8")).digest()

    def add_login_hint(self, *, hint: str, subject: str) -> None:
        self.login_hints[hint.lower()] = subject

    def device_of(self, subject: str) -> DeviceRegistration | None:
        return next((d for d in self.devices.values() if d.subject == subject), None)

    def has_outbox(self) -> bool:
        return bool(self._outbox)

    def take_outbox(self) -> list[Outbound]:
        items, self._outbox = self._outbox, []
        return items

    def next_deadline(self) -> int | None:
        return self.ledger.next_deadline()

    def purge(self, *, now: int) -> None:
        self.ledger.purge(now=now)
        for txn in [t for t in self._prompts if self.ledger.by_txn(t) is None]:
            del self._prompts[txn]
        self._device_replay.purge(now=now)

    def _outcome(self, event: str, *, allow: bool, reason: str = "", subject: str | None = None,
                 client_id: str | None = None, details: Mapping[str, Any] | None = None,
                 secrets: tuple[str, ...] = ()) -> Outcome:
        from protocols.oidc.provider import Decision, Outcome

        return Outcome(event=event, decision=Decision.ALLOW if allow else Decision.DENY, reason=reason,
                       subject=subject, client_id=client_id, details=dict(details or {}), secrets=secrets)

    def _handled(self, response: HttpResponse, outcome: Outcome, *, also: tuple[Outcome, ...] = ()) -> Handled:
        from protocols.oidc.provider import Handled

        return Handled(response=response, outcome=outcome, also=also)

    # ------------------------------------------------------------------ /bc-authorize

    def bc_authorize(self, *, request: HttpRequest, now: int) -> Handled:
        """CIBA §7: authenticate the client, validate, resolve the user, notify their device."""
        self.purge(now=now)
        client_id: str | None = None
        secrets: tuple[str, ...] = ()
        try:
            try:
                form = request.form()
            except MalformedBody as exc:
                raise InvalidRequest(str(exc)) from None
            secrets = tuple(form[k] for k in ("id_token_hint", "login_hint_token", "client_notification_token",
                                              "user_code") if k in form)
            client = self.provider.authenticate_client(request, form, now=now)
            client_id = client.client_id
            ciba = self.clients.get(client_id)
            if ciba is None or CIBA_GRANT_TYPE not in client.registration.grant_types:
                raise UnauthorizedClient("the client is not registered for CIBA")
            breq = BackchannelRequest.from_form(form, client=ciba)
            subject = resolve_user(breq.hint, provider=self.provider, login_hints=self.login_hints, client=client,
                                   now=now)
            if ciba.approvers and subject not in ciba.approvers:
                raise AccessDenied("this user may not approve requests of this client")
            if ciba.user_code_parameter:
                expected = self._user_codes.get(subject)
                given = hashlib.sha256((breq.user_code or "").encode("utf-8")).digest()
                if expected is None or not hmac.compare_digest(expected, given):
                    raise InvalidUserCode("the user_code is not the user's")
            device = self.device_of(subject)
            if device is None:
                raise AccessDenied("the user has no registered authentication device")
            txn = self.ledger.open(request=breq, client=ciba, subject=subject, now=now,
                                   entropy=self.provider.entropy)
        except OAuthError as exc:
            return self._handled(exc.to_response(), self._outcome(
                "ciba.request_refused", allow=False, reason=exc.error, client_id=client_id,
                details={"description": exc.description}, secrets=secrets))
        prompt = approval_prompt(txn, provider=self.provider)
        self._prompts[txn.txn] = prompt
        for kind, message in prompt_messages(txn, prompt=prompt, device=device, provider=self.provider):
            self._queue(kind, message, txn)
        return self._handled(acknowledgement(txn), self._outcome(
            "ciba.requested", allow=True, reason="approval requested from the user's authentication device",
            subject=subject, client_id=client_id, secrets=(txn.auth_req_id, *secrets),
            details={"txn": txn.txn, "mode": txn.mode.value, "hint": breq.hint.kind, "scope": " ".join(breq.scope),
                     "binding_message": breq.binding_message, "authorization_details": to_json(breq.authorization_details),
                     "expires_in": txn.expires_at - now, "device": device.device_id, "resource": breq.resource}))

    def _queue(self, kind: str, request: HttpRequest, txn: CibaTransaction) -> None:
        self._outbox.append(Outbound(kind=kind, request=request, txn=txn.txn, client_id=txn.client_id,
                                     subject=txn.subject, auth_req_id=txn.auth_req_id))

    # ------------------------------------------------------------------ the device's answer

    def device_decision(self, *, request: HttpRequest, now: int) -> Handled:
        """Verify the device's signed answer and record it; notify ping and push clients."""
        self.purge(now=now)
        subject: str | None = None
        try:
            try:
                form = request.form()
            except MalformedBody as exc:
                raise InvalidRequest(str(exc)) from None
            token = form.get("approval")
            if not token:
                raise InvalidRequest("approval is required")
            answer = verify_decision(token, devices=self.devices, issuer=self.provider.issuer, now=now,
                                     replay=self._device_replay)
            subject = answer.device.subject
            prompt = self._prompts.get(answer.txn)
            if prompt is None or prompt.subject != subject:
                raise InvalidGrant("unknown transaction")
            if not hmac.compare_digest(prompt.hash, answer.prompt_hash):
                raise InvalidGrant("the answer is for different content than the request shown")
            approval = Approval(approved=answer.decision is Decision.APPROVE, decided_at=now,
                                device_id=answer.device.device_id, device_kid=answer.kid, amr=answer.amr,
                                reason=answer.reason)
            txn = self.ledger.decide(txn_id=answer.txn, subject=subject, approval=approval, now=now)
        except OAuthError as exc:
            return self._handled(exc.to_response(), self._outcome(
                "ciba.decision_refused", allow=False, reason=exc.error, subject=subject,
                details={"description": exc.description}))
        account = self.provider.user(txn.subject)
        details = {"txn": txn.txn, "approver": account.name if account else txn.subject,
                   "approver_email": account.email if account else None, "device": approval.device_id,
                   "device_kid": approval.device_kid, "amr": list(approval.amr), "scope": " ".join(txn.request.scope),
                   "binding_message": txn.request.binding_message,
                   "authorization_details": to_json(txn.request.authorization_details),
                   "waited": now - txn.created_at}
        also: tuple[Outcome, ...] = ()
        if approval.reason:
            details["answer"] = approval.reason
        if txn.mode is DeliveryMode.PING:
            self._queue("ping", self._ping(txn), txn)
        elif txn.mode is DeliveryMode.PUSH:
            payload: dict[str, Any]
            if approval.approved:
                try:
                    payload, issued, secrets = self._issue(txn, now=now, push=True)
                    also = (issued_outcome(txn, client_id=txn.client_id, issued=issued, secrets=secrets),)
                except OAuthError as exc:
                    payload = push_error_payload(auth_req_id=txn.auth_req_id, error=TransactionFailed(exc.description))
            else:
                payload = push_error_payload(auth_req_id=txn.auth_req_id, error=AccessDenied("the user denied the request"))
            txn = self.ledger.mark(txn, CibaState.REDEEMED)
            self._queue("push", push_request(endpoint=self._endpoint(txn), notification_token=self._token_of(txn),
                                             payload=payload), txn)
        event = "ciba.approved" if approval.approved else "ciba.denied"
        reason = "the user approved on their authentication device" if approval.approved \
            else "the user denied on their authentication device"
        response = HttpResponse.json_body({"status": "approved" if approval.approved else "denied"}, no_store=True)
        return self._handled(response, self._outcome(event, allow=approval.approved, reason=reason,
                                                     subject=txn.subject, client_id=txn.client_id, details=details),
                             also=also)

    def _endpoint(self, txn: CibaTransaction) -> str:
        endpoint = self.clients[txn.client_id].notification_endpoint
        assert endpoint is not None
        return endpoint

    @staticmethod
    def _token_of(txn: CibaTransaction) -> str:
        assert txn.request.client_notification_token is not None
        return txn.request.client_notification_token

    def _ping(self, txn: CibaTransaction) -> HttpRequest:
        return ping_request(endpoint=self._endpoint(txn), notification_token=self._token_of(txn),
                            auth_req_id=txn.auth_req_id)

    # ------------------------------------------------------------------ tokens

    def _issue(self, txn: CibaTransaction, *, now: int, push: bool) -> tuple[dict[str, Any], dict[str, Any], tuple[str, ...]]:
        """The token response for an approved request (``backchannel_tokens``); the request is redeemed."""
        body, issued, secrets = approval_token_response(txn, provider=self.provider, ciba=self.clients[txn.client_id],
                                                        now=now, push=push)
        self.ledger.mark(txn, CibaState.REDEEMED, token_jtis=(issued["jti"], issued["id_token_jti"]))
        return body, issued, secrets

    def token_grant(self, *, client: AuthenticatedClient, form: Mapping[str, str], now: int) -> Handled:
        """CIBA §10.1 / §11: the poll (or post-ping) token request."""
        self.purge(now=now)
        ciba = self.clients.get(client.client_id)
        auth_req_id = form.get("auth_req_id", "")
        known = self.ledger.get(auth_req_id)
        subject = known.subject if known is not None and known.client_id == client.client_id else None
        try:
            if ciba is None:
                raise UnauthorizedClient("the client is not registered for CIBA")
            if ciba.delivery_mode is DeliveryMode.PUSH:
                raise UnauthorizedClient("push clients receive their tokens at their notification endpoint")
            if not auth_req_id:
                raise InvalidRequest("auth_req_id is required")
            txn = self.ledger.poll(auth_req_id=auth_req_id, client_id=client.client_id, now=now)
            body, issued, secrets = self._issue(txn, now=now, push=False)
        except OAuthError as exc:
            event = {AuthorizationPending: "ciba.pending", SlowDown: "ciba.slowed_down",
                     ExpiredToken: "ciba.expired_token", AccessDenied: "ciba.denial_delivered"}.get(type(exc), "token.denied")
            details: dict[str, Any] = {"description": exc.description, "grant_type": CIBA_GRANT_TYPE}
            if isinstance(exc, SlowDown) and known is not None:
                details["interval"] = self.ledger.get(auth_req_id).interval  # type: ignore[union-attr]
            return self._handled(token_endpoint_error(exc), self._outcome(
                event, allow=False, reason=exc.error, subject=subject, client_id=client.client_id, details=details,
                secrets=(auth_req_id,) if auth_req_id else ()))
        return self._handled(HttpResponse.json_body(body, no_store=True),
                             issued_outcome(txn, client_id=client.client_id, issued=issued, secrets=secrets))

    # ------------------------------------------------------------------ deliveries and expiry

    def delivered(self, item: Outbound, *, status: int | None, now: int) -> Outcome:
        """What became of one outbound message (``status`` None: unreachable).

        A push that failed ends its request (``failed``; a push client may not poll for it, §10.3)
        and revokes the tokens it carried at once: the client never received them, so nobody should
        hold them — a failing endpoint may have logged the body. The ``ciba.push_failed`` entry lists
        them under ``revoked`` (jtis, which the report's token lineage marks revoked)."""
        ok = delivered(status)
        events = {"device": ("ciba.device_notified", "ciba.notification_failed"),
                  "email": ("ciba.email_sent", "ciba.notification_failed"),
                  "ping": ("ciba.pinged", "ciba.ping_failed"), "push": ("ciba.pushed", "ciba.push_failed")}
        event = events[item.kind][0 if ok else 1]
        details: dict[str, Any] = {"txn": item.txn, "channel": item.kind, "status": status}
        reason = "delivered" if ok else ("unreachable" if status is None else f"answered HTTP {status}")
        if not ok and item.kind == "ping":
            details["recovery"] = "the request stays answerable: the client may still poll the token endpoint"
        if not ok and item.kind == "push":
            txn = self.ledger.get(item.auth_req_id)
            if txn is not None:
                self.ledger.mark(txn, CibaState.FAILED)
                if txn.token_jtis:
                    details["revoked"] = self.provider.revoke_issued(txn.token_jtis, now=now)
                    details["recovery"] = "the undelivered tokens are revoked; the client may send a new request"
        return self._outcome(event, allow=ok, reason=reason, subject=item.subject, client_id=item.client_id,
                             details=details)

    def expire_due(self, *, now: int) -> list[Outcome]:
        """End unanswered requests whose time is up; ping and push clients are told (§12)."""
        outcomes = []
        for txn in self.ledger.expire_due(now=now):
            if txn.mode is DeliveryMode.PING:
                self._queue("ping", self._ping(txn), txn)
            elif txn.mode is DeliveryMode.PUSH:
                payload = push_error_payload(auth_req_id=txn.auth_req_id,
                                             error=ExpiredToken("the authentication request expired"))
                self._queue("push", push_request(endpoint=self._endpoint(txn), notification_token=self._token_of(txn),
                                                 payload=payload), txn)
            outcomes.append(self._outcome(
                "ciba.expired", allow=False, reason="expired_token", subject=txn.subject, client_id=txn.client_id,
                details={"txn": txn.txn, "waited": txn.expires_at - txn.created_at,
                         "authorization_details": to_json(txn.request.authorization_details)}))
        return outcomes
