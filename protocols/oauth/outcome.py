"""What a sans-IO server core returns for one request: the response and one auditable outcome.

Every authorization-server core (``protocols.oauth.authorization_server``,
``protocols.oidc.provider``, ``protocols.resource_authorization_server``) answers a request with a
``Handled``: the HTTP response to send and an ``Outcome`` naming one event (``area.past_tense``), the
decision, the reason, the subject and client, and the secrets minted or received in that step, so
the actor can log it and register the secrets for redaction (DESIGN.md §5). A refused request is an
RFC 6749 §5.2-shaped error response (:func:`refused`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from protocols.http import HttpResponse
from protocols.oauth.errors import OAuthError


class Decision(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"


@attrs.frozen(kw_only=True)
class Outcome:
    """One auditable step: what happened, to whom, for which client, allowed or not and why.

    ``details`` holds non-secret context (jti, scope, amr, revoked ids...). ``secrets`` lists every
    secret value minted or received in the step (codes, tokens, cookies, PKCE verifiers) for the
    actor's redaction registry; it is excluded from ``repr``.
    """

    event: str
    decision: Decision
    reason: str = ""
    subject: str | None = None
    client_id: str | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict)
    secrets: tuple[str, ...] = attrs.field(default=(), repr=False)


@attrs.frozen(kw_only=True)
class Handled:
    """The response to send and the outcome to log; ``also``: further outcomes of the same step, logged
    after it in order (a CIBA push approval also issues a token: ``ciba.approved`` then ``token.issued``)."""

    response: HttpResponse
    outcome: Outcome
    also: tuple[Outcome, ...] = ()


def refused(error: OAuthError, *, event: str, client_id: str | None = None, subject: str | None = None,
            details: Mapping[str, Any] | None = None) -> Handled:
    """``error`` as its response (RFC 6749 §5.2, RFC 6750 §3.1...), logged as a denial: the reason is
    the error code, the description goes into ``details``."""
    return Handled(response=error.to_response(), outcome=Outcome(
        event=event, decision=Decision.DENY, reason=error.error, client_id=client_id, subject=subject,
        details={"description": error.description, **(details or {})}))


def message_page(text: str, *, status: int) -> HttpResponse:
    """A minimal HTML page telling the person at the browser what went wrong."""
    return HttpResponse.html(f"<!doctype html><html><body><p>{text}</p></body></html>", status=status)


def refused_explained(error: OAuthError, *, event: str, client_id: str | None = None, subject: str | None = None,
                      details: Mapping[str, Any] | None = None) -> Handled:
    """Like :func:`refused`, but the audit reason carries the description too (``code: description``)
    and ``details`` the error code — the shape of the cross-domain refusals (ID-JAG, token exchange)."""
    return Handled(response=error.to_response(), outcome=Outcome(
        event=event, decision=Decision.DENY, reason=f"{error.error}: {error.description}", client_id=client_id,
        subject=subject, details={"error": error.error, **(details or {})}))
