"""OAuth 2.0 / OIDC error codes as exception classes, one per code, each with its HTTP status.

RFC 6749 §5.2 (token endpoint), §4.1.2.1 (authorization endpoint), RFC 6750 §3.1 (resource
servers), RFC 8707 §2 (``invalid_target``), RFC 9396 §5 (``invalid_authorization_details``),
OIDC Core §3.1.2.6, CIBA §11 and §13. ``to_response()`` renders the RFC 6749 §5.2 JSON body;
``from_response()`` lets a client raise the remote counterpart of an error it received.
"""

from __future__ import annotations

import re
from typing import ClassVar

from protocols.http import HttpResponse, parse_json, MalformedBody

_UNSAFE_DESCRIPTION = re.compile(r'[^\x20-\x21\x23-\x5b\x5d-\x7e]')


def safe_description(text: str) -> str:
    """RFC 6749 §5.2: ``error_description`` uses printable ASCII except ``"`` and ``\\``."""
    return _UNSAFE_DESCRIPTION.sub("?", text)


class OAuthError(Exception):
    """Base of every protocol error; subclasses fix ``error`` and ``status``."""

    error: ClassVar[str] = "server_error"
    status: ClassVar[int] = 500

    def __init__(self, description: str = "") -> None:
        super().__init__(description or self.error)
        self.description = safe_description(description)

    def to_json(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body

    def to_response(self) -> HttpResponse:
        return HttpResponse.json_body(self.to_json(), status=self.status, no_store=True)

    @staticmethod
    def from_response(response: HttpResponse) -> OAuthError:
        """The exception matching an error response received from a peer."""
        try:
            body = parse_json(response.body)
            code = body.get("error") if isinstance(body, dict) else None
            description = body.get("error_description", "") if isinstance(body, dict) else ""
        except MalformedBody:
            code, description = None, ""
        cls = ERRORS_BY_CODE.get(code or "", ServerError)
        return cls(str(description) if description else f"HTTP {response.status}")


# RFC 6749 §5.2 and §4.1.2.1
class InvalidRequest(OAuthError):
    error, status = "invalid_request", 400


class InvalidClient(OAuthError):
    error, status = "invalid_client", 401

    def to_response(self) -> HttpResponse:
        base = super().to_response()
        return HttpResponse(status=base.status, body=base.body,
                            headers=base.headers + (("www-authenticate", 'Basic realm="token"'),))


class InvalidGrant(OAuthError):
    error, status = "invalid_grant", 400


class UnauthorizedClient(OAuthError):
    error, status = "unauthorized_client", 400


class UnsupportedGrantType(OAuthError):
    error, status = "unsupported_grant_type", 400


class UnsupportedResponseType(OAuthError):
    error, status = "unsupported_response_type", 400


class InvalidScope(OAuthError):
    error, status = "invalid_scope", 400


class AccessDenied(OAuthError):
    error, status = "access_denied", 403


class ServerError(OAuthError):
    error, status = "server_error", 500


class TemporarilyUnavailable(OAuthError):
    error, status = "temporarily_unavailable", 503


# RFC 8707 §2, RFC 9396 §5
class InvalidTarget(OAuthError):
    error, status = "invalid_target", 400


class InvalidAuthorizationDetails(OAuthError):
    error, status = "invalid_authorization_details", 400


# RFC 6750 §3.1 (resource servers)
class InvalidToken(OAuthError):
    error, status = "invalid_token", 401


class InsufficientScope(OAuthError):
    error, status = "insufficient_scope", 403


# OIDC Core §3.1.2.6
class LoginRequired(OAuthError):
    error, status = "login_required", 400


class InteractionRequired(OAuthError):
    error, status = "interaction_required", 400


class ConsentRequired(OAuthError):
    error, status = "consent_required", 400


# CIBA §11 (token endpoint) and §13 (authentication endpoint)
class AuthorizationPending(OAuthError):
    error, status = "authorization_pending", 400


class SlowDown(OAuthError):
    error, status = "slow_down", 400


class ExpiredToken(OAuthError):
    error, status = "expired_token", 400


class UnknownUserId(OAuthError):
    error, status = "unknown_user_id", 400


class TransactionFailed(OAuthError):
    error, status = "transaction_failed", 400


class ExpiredLoginHintToken(OAuthError):
    error, status = "expired_login_hint_token", 400


class MissingUserCode(OAuthError):
    error, status = "missing_user_code", 400


class InvalidUserCode(OAuthError):
    error, status = "invalid_user_code", 400


class InvalidBindingMessage(OAuthError):
    error, status = "invalid_binding_message", 400


# RFC 7009 §2.2.1 (revocation endpoint)
class UnsupportedTokenType(OAuthError):
    error, status = "unsupported_token_type", 400


# Generic HTTP-level errors that are not OAuth codes but keep the same JSON shape.
class NotFound(OAuthError):
    error, status = "not_found", 404


class MethodNotAllowed(OAuthError):
    error, status = "method_not_allowed", 405


ERRORS_BY_CODE: dict[str, type[OAuthError]] = {
    cls.error: cls
    for cls in (
        InvalidRequest, InvalidClient, InvalidGrant, UnauthorizedClient, UnsupportedGrantType,
        UnsupportedResponseType, InvalidScope, AccessDenied, ServerError, TemporarilyUnavailable,
        InvalidTarget, InvalidAuthorizationDetails, InvalidToken, InsufficientScope, LoginRequired,
        InteractionRequired, ConsentRequired, AuthorizationPending, SlowDown, ExpiredToken,
        UnknownUserId, TransactionFailed, ExpiredLoginHintToken, MissingUserCode, InvalidUserCode,
        InvalidBindingMessage, UnsupportedTokenType, NotFound, MethodNotAllowed,
    )
}
