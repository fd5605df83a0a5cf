"""The agent's approval rule: which actions need a human's approval, and what the approval grants.

SPEC capability 6 ("human in the loop"): an action whose RFC 9396 authorization details carry an
amount strictly above the rule's threshold needs the approval of a person before it may run; the
approval is requested with CIBA (OpenID CIBA Core §7) and the token issued afterwards carries only
the rule's scopes and the approved details, for a short lifetime.

Conservative by construction: an amount in a currency the rule does not price, or a type the rule
does not name, needs approval too — a rule can only waive approval for what it understands.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from protocols.rar import AuthorizationDetail, format_amount

MAX_TOKEN_LIFETIME = 3600
MAX_REQUEST_EXPIRY = 7 * 86400


def _scopes(value: object) -> tuple[str, ...]:
    scopes = tuple(value)  # type: ignore[call-overload]
    if not scopes or not all(isinstance(s, str) and s and " " not in s for s in scopes):
        raise ValueError("an approval rule grants at least one scope token")
    if "openid" in scopes:
        raise ValueError("openid is requested with the approval, not granted by it")
    return scopes


@attrs.frozen(kw_only=True)
class ApprovalRule:
    """``detail_type`` actions above ``threshold`` ``currency`` need approval; the approval grants
    ``scopes`` for ``token_lifetime`` seconds; a request waits at most ``request_expiry`` seconds."""

    detail_type: str
    threshold: Decimal = attrs.field(converter=Decimal)
    currency: str
    scopes: tuple[str, ...] = attrs.field(converter=_scopes)
    token_lifetime: int = 300
    request_expiry: int = 900

    def __attrs_post_init__(self) -> None:
        if self.threshold < 0:
            raise ValueError("the threshold must not be negative")
        if not 0 < self.token_lifetime <= MAX_TOKEN_LIFETIME:
            raise ValueError(f"an approval token lives between 1 and {MAX_TOKEN_LIFETIME} seconds")
        if not 0 < self.request_expiry <= MAX_REQUEST_EXPIRY:
            raise ValueError(f"a request waits between 1 and {MAX_REQUEST_EXPIRY} seconds")

    @property
    def threshold_text(self) -> str:
        whole, _, cents = f"{self.threshold:.2f}".partition(".")
        return f"{int(whole):,}".replace(",", " ") + f".{cents} {self.currency}"


@attrs.frozen(kw_only=True)
class ApprovalVerdict:
    required: bool
    reason: str


def evaluate(rule: ApprovalRule, detail: AuthorizationDetail) -> ApprovalVerdict:
    """Whether ``detail`` needs approval under ``rule``, and why (one sentence for the audit log)."""
    amount = format_amount(detail)
    if detail.type != rule.detail_type:
        return ApprovalVerdict(required=True, reason=f"{detail.type} is not covered by the rule for {rule.detail_type}")
    if detail.currency != rule.currency:
        return ApprovalVerdict(required=True, reason=f"{amount} is not in {rule.currency}, the rule's currency")
    if detail.amount > rule.threshold:
        return ApprovalVerdict(required=True, reason=f"{amount} is above the {rule.threshold_text} threshold")
    return ApprovalVerdict(required=False, reason=f"{amount} is within the {rule.threshold_text} threshold")
