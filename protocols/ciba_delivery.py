"""OpenID CIBA Core 1.0: the messages that carry a request's result to the client, built by the
OpenID Provider and read by the client. Sans-IO.

- §7.3 the acknowledgement (``acknowledgement``; the client's ``Acknowledgement``): ``auth_req_id``,
  ``expires_in`` and, for poll and ping, ``interval``.
- §10.1 the token request of a poll or ping client (``token_request_params``), §11 its errors
  (``token_endpoint_error``: 400, ``access_denied`` included).
- §10.2 ping and §10.3 push notifications, §12 push error payloads: built here, sent by the actor
  (``delivered``: did the client take it); checked at the client's endpoint (``read_notification``).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from typing import Any

import attrs

from protocols.ciba import CIBA_GRANT_TYPE, DEFAULT_INTERVAL, DeliveryMode
from protocols.ciba_ledger import CibaTransaction
from protocols.http import HttpRequest, HttpResponse, MalformedBody
from protocols.oauth.errors import AccessDenied, OAuthError


# ------------------------------------------------------------------------ provider side


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
