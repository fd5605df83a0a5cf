"""OpenID CIBA Core 1.0 (Client-Initiated Backchannel Authentication): the client's registration and
the authentication request. Sans-IO.

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
  The client's side: ``build_login_hint_token`` (a signed ``login_hint_token``).

The provider's per-request state machine is ``protocols.ciba_ledger``; the acknowledgement, the
token request and the ping / push notifications (§7.3, §10 – §12) are ``protocols.ciba_delivery``.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import attrs

from protocols.entropy import SeededEntropy
from protocols.jose.jwt import sign_jwt
from protocols.jose.keys import SigningKey
from protocols.oauth.errors import InvalidBindingMessage, InvalidRequest, InvalidScope, InvalidTarget, MissingUserCode
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


# ------------------------------------------------------------------------ client side


def build_login_hint_token(*, client_id: str, audience: str, email: str, key: SigningKey, now: int,
                           entropy: SeededEntropy, lifetime: int = 300) -> str:
    """A ``login_hint_token`` (§7.1; its format is deployment-defined): a JWT the client signs with its
    registered key, ``typ`` ``login-hint+jwt``, naming the user with an RFC 9493 §3.2.2 ``email``
    subject identifier in ``sub_id``."""
    claims = {"iss": client_id, "aud": audience, "iat": now, "exp": now + lifetime, "jti": entropy.token(12),
              "sub_id": {"format": "email", "email": email}}
    return sign_jwt(claims=claims, key=key, typ=LOGIN_HINT_TOKEN_TYP)
