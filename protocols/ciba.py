"""OpenID CIBA Core 1.0 (Client-Initiated Backchannel Authentication): request validation, the
per-request state machine, and the client's side of the exchange. Sans-IO.

- §4 client metadata (``CibaClient``): ``backchannel_token_delivery_mode`` poll / ping / push,
  ``backchannel_client_notification_endpoint`` (required for ping and push),
  ``backchannel_user_code_parameter``; plus the RFC 9396 §10 ``authorization_details_types`` and
  the platform policy (scopes and resources an approval may grant, who may approve, lifetimes).
- §7.1 the authentication request (``BackchannelRequest.from_form``), §7.2 validation, §13 errors:
  ``scope`` must include ``openid``; exactly one of ``login_hint``, ``id_token_hint``,
  ``login_hint_token``; ``binding_message`` short plain text; ``requested_expiry`` a positive
  integer; ``client_notification_token`` a bearer token (RFC 6750 §2.1, ≤ 1024 characters) for
  ping and push; ``user_code`` when the client registered it; ``authorization_details`` (RFC 9396
  §3); ``resource`` (RFC 8707). Signed request objects (§7.1.1) are not supported (metadata says so).
- §7.3 the acknowledgement: ``auth_req_id`` (192 bits, base64url), ``expires_in``, ``interval``.
- §10 / §11 the token endpoint (``CibaLedger.poll``): ``authorization_pending``, ``slow_down`` (a
  poll sooner than ``interval`` after the previous one; the interval then grows by 5 s, §7.3),
  ``expired_token``, ``access_denied``, ``invalid_grant`` (unknown, another client's, or already
  redeemed — an ``auth_req_id`` is single use).
- §10.2 ping and §10.3 push notifications, §12 push error payloads: built here, sent by the actor.

State per ``auth_req_id``: ``pending → approved | denied | expired | failed``; ``approved`` and
``denied`` become ``redeemed`` once the client has been told. Terminal records stay a while as
tombstones so a replay is answered precisely, then are purged.
"""

from __future__ import annotations

import enum
import hmac
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import attrs

from protocols.entropy import SeededEntropy
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.jose.jwt import sign_jwt
from protocols.jose.keys import SigningKey
from protocols.oauth.errors import (
    AccessDenied, AuthorizationPending, ExpiredToken, InvalidBindingMessage, InvalidGrant, InvalidRequest,
    InvalidScope, InvalidTarget, MissingUserCode, OAuthError, SlowDown,
)
from protocols.rar import AuthorizationDetail, parse_authorization_details

CIBA_GRANT_TYPE = "urn:openid:params:grant-type:ciba"
AUTH_REQ_ID_CLAIM = "urn:openid:params:jwt:claim:auth_req_id"
"""ID-token claim binding a pushed token response to its request (§10.3.1)."""

BC_AUTHORIZE_PATH = "/bc-authorize"
DEFAULT_INTERVAL = 5
"""Clients poll every 5 s when the OP gives no ``interval`` (§7.3)."""
SLOW_DOWN_STEP = 5
"""A client told ``slow_down`` adds at least 5 s to its interval (§11, RFC 8628 §3.5)."""
MAX_BINDING_MESSAGE = 100
MAX_NOTIFICATION_TOKEN = 1024
MIN_NOTIFICATION_TOKEN = 22
"""22 base64url characters carry 128 bits: a shorter bearer token cannot have "high entropy" (§7.1)."""
MAX_PENDING_PER_USER = 5
"""Pending requests one client may hold for one person: more is push-bombing (§6 / §15 considerations)."""
TOMBSTONE_SECONDS = 3600
LOGIN_HINT_TOKEN_TYP = "login-hint+jwt"

_B64TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")
HINT_PARAMETERS = ("login_hint", "id_token_hint", "login_hint_token")


class DeliveryMode(enum.Enum):
    """``backchannel_token_delivery_mode`` (§5)."""

    POLL = "poll"
    PING = "ping"
    PUSH = "push"


def _endpoint(value: str | None) -> str | None:
    if value is not None and not re.match(r"^https?://[^\s#]+$", value):
        raise ValueError("the client notification endpoint must be an absolute http(s) URL without fragment")
    return value


@attrs.frozen(kw_only=True)
class CibaClient:
    """A client's CIBA registration (§4) and what approvals may grant it.

    ``scopes``: scope values an approval may grant (``openid`` is implied); ``resources``: the
    resource indicators (RFC 8707) the approval token may be addressed to, the first being the
    default; ``approvers``: subjects allowed to approve (empty: any user the hint resolves to);
    ``token_lifetime``: seconds the approval token lives; ``max_expiry``: longest wait accepted.
    """

    client_id: str
    delivery_mode: DeliveryMode
    notification_endpoint: str | None = attrs.field(default=None, converter=_endpoint)
    user_code_parameter: bool = False
    scopes: frozenset[str] = attrs.field(converter=frozenset)
    authorization_details_types: frozenset[str] = attrs.field(default=frozenset(), converter=frozenset)
    resources: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    approvers: frozenset[str] = attrs.field(default=frozenset(), converter=frozenset)
    token_lifetime: int = 300
    max_expiry: int = 900
    interval: int = DEFAULT_INTERVAL

    def __attrs_post_init__(self) -> None:
        if self.delivery_mode is not DeliveryMode.POLL and self.notification_endpoint is None:
            raise ValueError("ping and push clients need backchannel_client_notification_endpoint (§4)")
        if self.token_lifetime <= 0 or self.max_expiry <= 0 or self.interval <= 0:
            raise ValueError("lifetimes and the interval must be positive")

    def to_metadata(self) -> dict[str, Any]:
        """The client metadata members (§4, RFC 9396 §10)."""
        out: dict[str, Any] = {"backchannel_token_delivery_mode": self.delivery_mode.value,
                               "backchannel_user_code_parameter": self.user_code_parameter}
        if self.notification_endpoint:
            out["backchannel_client_notification_endpoint"] = self.notification_endpoint
        if self.authorization_details_types:
            out["authorization_details_types"] = sorted(self.authorization_details_types)
        return out


# ------------------------------------------------------------------------ §7.1 request


def validate_binding_message(value: str) -> str:
    """§7.1: short, plain text shown on both devices; control and format characters are refused."""
    if not value.strip():
        raise InvalidBindingMessage("binding_message is empty")
    if len(value) > MAX_BINDING_MESSAGE:
        raise InvalidBindingMessage(f"binding_message is longer than {MAX_BINDING_MESSAGE} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") for ch in value):
        raise InvalidBindingMessage("binding_message must be plain text without control characters")
    return value


def _requested_expiry(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or int(raw) <= 0:
        raise InvalidRequest("requested_expiry must be a positive integer number of seconds")
    return int(raw)


def _notification_token(raw: str | None, mode: DeliveryMode) -> str | None:
    if mode is DeliveryMode.POLL:
        return None
    if raw is None:
        raise InvalidRequest("client_notification_token is required in ping and push modes")
    if len(raw) > MAX_NOTIFICATION_TOKEN or not _B64TOKEN.match(raw):
        raise InvalidRequest("client_notification_token must be a bearer token of at most 1024 characters")
    if len(raw) < MIN_NOTIFICATION_TOKEN:
        raise InvalidRequest("client_notification_token has too little entropy")
    return raw


@attrs.frozen(kw_only=True)
class Hint:
    """The one hint identifying the user (§7.1): its parameter name and value."""

    kind: str
    value: str = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class BackchannelRequest:
    """A validated authentication request (§7.1, §7.2) — the user is resolved by the provider."""

    scope: tuple[str, ...]
    hint: Hint
    binding_message: str | None
    user_code: str | None = attrs.field(repr=False)
    requested_expiry: int | None
    client_notification_token: str | None = attrs.field(repr=False)
    authorization_details: tuple[AuthorizationDetail, ...]
    resource: str | None

    @property
    def granted_scope(self) -> tuple[str, ...]:
        """The access token's scope: what was asked, minus ``openid`` (which yields the ID token)."""
        return tuple(s for s in self.scope if s != "openid")

    @classmethod
    def from_form(cls, form: Mapping[str, str], *, client: CibaClient) -> BackchannelRequest:
        if "request" in form or "request_uri" in form:
            raise InvalidRequest("signed request objects are not supported here")
        raw_scope = form.get("scope")
        if not raw_scope:
            raise InvalidRequest("scope is required")
        scope = tuple(dict.fromkeys(raw_scope.split(" ")))
        if "" in scope:
            raise InvalidRequest("scope is malformed")
        if "openid" not in scope:
            raise InvalidScope("a CIBA request must include the openid scope")
        refused = [s for s in scope if s != "openid" and s not in client.scopes]
        if refused:
            raise InvalidScope(f"scope {refused[0][:40]!r} may not be requested by this client")
        hints = [name for name in HINT_PARAMETERS if name in form]
        if len(hints) != 1:
            raise InvalidRequest("exactly one of login_hint, id_token_hint, login_hint_token is required"
                                 + (f" ({len(hints)} given)" if hints else ""))
        binding = form.get("binding_message")
        expiry = form.get("requested_expiry")
        user_code = form.get("user_code")
        if client.user_code_parameter and user_code is None:
            raise MissingUserCode("this client must send the user_code")
        details: tuple[AuthorizationDetail, ...] = ()
        if "authorization_details" in form:
            details = parse_authorization_details(form["authorization_details"],
                                                  allowed_types=client.authorization_details_types)
        resource = form.get("resource")
        if resource is not None and resource not in client.resources:
            raise InvalidTarget("the resource is not one this client may obtain approvals for")
        if resource is None and client.resources:
            resource = client.resources[0]
        return cls(scope=scope, hint=Hint(kind=hints[0], value=form[hints[0]]),
                   binding_message=validate_binding_message(binding) if binding is not None else None,
                   user_code=user_code if client.user_code_parameter else None,
                   requested_expiry=_requested_expiry(expiry) if expiry is not None else None,
                   client_notification_token=_notification_token(form.get("client_notification_token"),
                                                                 client.delivery_mode),
                   authorization_details=details, resource=resource)


# ------------------------------------------------------------------------ state machine


class CibaState(enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    REDEEMED = "redeemed"
    FAILED = "failed"


ACTIVE_STATES = frozenset({CibaState.PENDING, CibaState.APPROVED})


@attrs.frozen(kw_only=True)
class Approval:
    """Who decided, how they authenticated, and when (the evidence kept with the request)."""

    approved: bool
    decided_at: int
    device_id: str
    device_kid: str
    amr: tuple[str, ...]
    reason: str = ""


@attrs.frozen(kw_only=True)
class CibaTransaction:
    """One authentication request: ``auth_req_id`` is the client's handle, ``txn`` the device's."""

    auth_req_id: str = attrs.field(repr=False)
    txn: str
    client_id: str
    mode: DeliveryMode
    subject: str
    request: BackchannelRequest
    created_at: int
    expires_at: int
    interval: int
    state: CibaState = CibaState.PENDING
    last_poll_at: int | None = None
    approval: Approval | None = None
    token_jtis: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


@attrs.define
class CibaLedger:
    """Every request by ``auth_req_id`` (and by device-facing ``txn``)."""

    _by_id: dict[str, CibaTransaction] = attrs.field(factory=dict, repr=False)
    _by_txn: dict[str, str] = attrs.field(factory=dict, repr=False)

    def open(self, *, request: BackchannelRequest, client: CibaClient, subject: str, now: int,
             entropy: SeededEntropy) -> CibaTransaction:
        """Accept a validated request (§7.3): expiry is the shorter of the asked and allowed waits."""
        pending = sum(1 for t in self._by_id.values()
                      if t.client_id == client.client_id and t.subject == subject and t.active and t.expires_at > now)
        if pending >= MAX_PENDING_PER_USER:
            raise AccessDenied("too many pending requests for this user")
        lifetime = min(request.requested_expiry or client.max_expiry, client.max_expiry)
        txn = CibaTransaction(auth_req_id=entropy.token(24), txn=entropy.token(12), client_id=client.client_id,
                              mode=client.delivery_mode, subject=subject, request=request, created_at=now,
                              expires_at=now + lifetime, interval=client.interval)
        self._by_id[txn.auth_req_id] = txn
        self._by_txn[txn.txn] = txn.auth_req_id
        return txn

    def get(self, auth_req_id: str) -> CibaTransaction | None:
        return self._by_id.get(auth_req_id)

    def by_txn(self, txn: str) -> CibaTransaction | None:
        auth_req_id = self._by_txn.get(txn)
        return self._by_id.get(auth_req_id) if auth_req_id else None

    def _put(self, txn: CibaTransaction) -> CibaTransaction:
        self._by_id[txn.auth_req_id] = txn
        return txn

    def _expire_if_due(self, txn: CibaTransaction, now: int) -> CibaTransaction:
        if txn.active and now >= txn.expires_at:
            return self._put(attrs.evolve(txn, state=CibaState.EXPIRED))
        return txn

    def poll(self, *, auth_req_id: str, client_id: str, now: int) -> CibaTransaction:
        """A token request (§10.1): the approved transaction (now redeemed), or the error to answer."""
        txn = self._by_id.get(auth_req_id)
        if txn is None or txn.client_id != client_id:
            raise InvalidGrant("unknown auth_req_id")
        txn = self._expire_if_due(txn, now)
        if txn.state is CibaState.EXPIRED:
            raise ExpiredToken("the authentication request expired")
        if txn.state in (CibaState.REDEEMED, CibaState.FAILED):
            raise InvalidGrant("the auth_req_id was already used")
        if txn.state is CibaState.DENIED:
            self._put(attrs.evolve(txn, state=CibaState.REDEEMED))
            raise AccessDenied("the user denied the request")
        if txn.state is CibaState.APPROVED:
            return self._put(attrs.evolve(txn, state=CibaState.REDEEMED, last_poll_at=now))
        if txn.last_poll_at is not None and now - txn.last_poll_at < txn.interval:
            self._put(attrs.evolve(txn, last_poll_at=now, interval=txn.interval + SLOW_DOWN_STEP))
            raise SlowDown(f"poll at most every {txn.interval + SLOW_DOWN_STEP} seconds")
        self._put(attrs.evolve(txn, last_poll_at=now))
        raise AuthorizationPending("the user has not answered yet")

    def decide(self, *, txn_id: str, subject: str, approval: Approval, now: int) -> CibaTransaction:
        """Record the user's answer from their authentication device."""
        txn = self.by_txn(txn_id)
        if txn is None or txn.subject != subject:
            raise InvalidGrant("unknown transaction")
        if txn.state is CibaState.EXPIRED or (txn.active and now >= txn.expires_at):
            # Left active: the expiry sweep ends it and tells ping and push clients.
            raise ExpiredToken("the authentication request expired before the answer")
        if txn.state is not CibaState.PENDING:
            raise InvalidGrant("the request was already answered")
        state = CibaState.APPROVED if approval.approved else CibaState.DENIED
        return self._put(attrs.evolve(txn, state=state, approval=approval))

    def mark(self, txn: CibaTransaction, state: CibaState, *, token_jtis: tuple[str, ...] = ()) -> CibaTransaction:
        """Move a transaction on after a delivery (push redeemed or failed, ping answered)."""
        current = self._by_id.get(txn.auth_req_id, txn)
        return self._put(attrs.evolve(current, state=state, token_jtis=token_jtis or current.token_jtis))

    def expire_due(self, *, now: int) -> list[CibaTransaction]:
        """Active requests whose time is up, now expired (oldest first)."""
        due = sorted((t for t in self._by_id.values() if t.active and now >= t.expires_at),
                     key=lambda t: (t.expires_at, t.created_at, t.txn))
        return [self._put(attrs.evolve(t, state=CibaState.EXPIRED)) for t in due]

    def next_deadline(self) -> int | None:
        deadlines = [t.expires_at for t in self._by_id.values() if t.active]
        return min(deadlines) if deadlines else None

    def purge(self, *, now: int) -> None:
        for auth_req_id, txn in list(self._by_id.items()):
            if not txn.active and now >= txn.expires_at + TOMBSTONE_SECONDS:
                del self._by_id[auth_req_id]
                self._by_txn.pop(txn.txn, None)

    def __len__(self) -> int:
        return len(self._by_id)


# ------------------------------------------------------------------------ responses


def acknowledgement(txn: CibaTransaction) -> HttpResponse:
    """§7.3: ``auth_req_id``, ``expires_in`` and, for poll and ping, ``interval``."""
    body: dict[str, Any] = {"auth_req_id": txn.auth_req_id, "expires_in": txn.expires_at - txn.created_at}
    if txn.mode is not DeliveryMode.PUSH:
        body["interval"] = txn.interval
    return HttpResponse.json_body(body, no_store=True)


def token_endpoint_error(error: OAuthError) -> HttpResponse:
    """CIBA token-endpoint errors are 400 (§11, RFC 6749 §5.2) — ``access_denied`` included."""
    status = 400 if isinstance(error, AccessDenied) else error.status
    return HttpResponse.json_body(error.to_json(), status=status, no_store=True)


def ping_request(*, endpoint: str, notification_token: str, auth_req_id: str) -> HttpRequest:
    """§10.2: POST ``{"auth_req_id"}`` with the client's bearer ``client_notification_token``."""
    return HttpRequest.json_post(url=endpoint, payload={"auth_req_id": auth_req_id},
                                 headers={"authorization": f"Bearer {notification_token}"})


def push_request(*, endpoint: str, notification_token: str, payload: Mapping[str, Any]) -> HttpRequest:
    """§10.3.1 (token) or §12 (error): POST the payload with the client's bearer token."""
    return HttpRequest.json_post(url=endpoint, payload=dict(payload),
                                 headers={"authorization": f"Bearer {notification_token}"})


def push_error_payload(*, auth_req_id: str, error: OAuthError) -> dict[str, str]:
    """§12: ``access_denied``, ``expired_token`` or ``transaction_failed`` for a push client."""
    return {"auth_req_id": auth_req_id, **error.to_json()}


def delivered(status: int | None) -> bool:
    """§10.2 / §10.3: the client answers 204 (200 accepted); redirects are not followed."""
    return status in (200, 204)


# ------------------------------------------------------------------------ client side


class NotificationRejected(ValueError):
    """A notification the client must ignore (wrong bearer token, unknown request, bad body)."""


@attrs.frozen(kw_only=True)
class Acknowledgement:
    """What the client keeps after ``/bc-authorize`` (§7.3)."""

    auth_req_id: str = attrs.field(repr=False)
    expires_in: int
    interval: int

    @classmethod
    def from_response(cls, response: HttpResponse) -> Acknowledgement:
        if response.status != 200:
            raise OAuthError.from_response(response)
        try:
            body = response.json()
        except MalformedBody as exc:
            raise NotificationRejected(str(exc)) from None
        auth_req_id = body.get("auth_req_id") if isinstance(body, dict) else None
        expires_in = body.get("expires_in") if isinstance(body, dict) else None
        interval = body.get("interval", DEFAULT_INTERVAL) if isinstance(body, dict) else None
        if not isinstance(auth_req_id, str) or not re.match(r"^[A-Za-z0-9\-_.]{16,}$", auth_req_id):
            raise NotificationRejected("the acknowledgement lacks a well-formed auth_req_id")
        for value in (expires_in, interval):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise NotificationRejected("expires_in and interval must be positive integers")
        return cls(auth_req_id=auth_req_id, expires_in=expires_in, interval=interval)


def build_login_hint_token(*, client_id: str, audience: str, email: str, key: SigningKey, now: int,
                           entropy: SeededEntropy, lifetime: int = 300) -> str:
    """A ``login_hint_token`` (§7.1; its format is deployment-defined): a JWT the client signs with its
    registered key, ``typ`` ``login-hint+jwt``, naming the user with an RFC 9493 §3.2.2 ``email``
    subject identifier in ``sub_id``."""
    claims = {"iss": client_id, "aud": audience, "iat": now, "exp": now + lifetime, "jti": entropy.token(12),
              "sub_id": {"format": "email", "email": email}}
    return sign_jwt(claims=claims, key=key, typ=LOGIN_HINT_TOKEN_TYP)


def token_request_params(auth_req_id: str) -> dict[str, str]:
    """§10.1: the token request of a poll or ping client (client authentication added by the caller)."""
    return {"grant_type": CIBA_GRANT_TYPE, "auth_req_id": auth_req_id}


def read_notification(request: HttpRequest, *, expected_token: str, auth_req_id: str) -> dict[str, Any]:
    """Check a ping or push at the client's endpoint (§10.2, §10.3): the bearer token is the one
    sent with the request (constant-time compare) and the body names the same ``auth_req_id``."""
    header = request.header("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected_token.encode()):
        raise NotificationRejected("the notification does not carry our client_notification_token")
    try:
        body = request.json()
    except MalformedBody as exc:
        raise NotificationRejected(str(exc)) from None
    if not isinstance(body, dict) or body.get("auth_req_id") != auth_req_id:
        raise NotificationRejected("the notification is for another request")
    return body
