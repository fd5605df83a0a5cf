"""Human approvals (CIBA) and certification campaigns, as the report counts and lists them.

Approvals: entries of the approval layer (``ciba.*``, ``approval.*``) classified by the last part
of the event name — ``requested``/``started``/``initiated`` → requested, ``approved``/``granted`` →
approved, ``denied``/``rejected`` → denied, ``expired``/``timed_out`` → expired; a ``decided`` /
``answered`` / ``completed`` event counts by its decision (allow → approved, deny → denied).

Certifications: entries named ``certification.*`` / ``review.*``; each decision row shows
``details.entitlement`` (or ``resource``/``system``), ``details.campaign``, the reviewer (the
entry's ``subject`` or ``details.reviewer``) and the decision (allow → certified, deny → revoked).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from protocols.audit_chain import AuditEntry
from reports.audit_fields import text_detail
from reports.classification import APPROVAL, counted_outcome, layer_of

REQUESTED = frozenset({"requested", "started", "initiated"})
APPROVED = frozenset({"approved", "granted"})
DENIED = frozenset({"denied", "rejected"})
EXPIRED = frozenset({"expired", "timed_out"})
DECIDED = frozenset({"decided", "answered", "completed"})
CERTIFICATION_PREFIXES = ("certification.", "review.")


@attrs.frozen(kw_only=True)
class Approvals:
    requested: int = 0
    approved: int = 0
    denied: int = 0
    expired: int = 0


@attrs.frozen(kw_only=True)
class CertificationRow:
    seq: int
    time: str
    event: str
    campaign: str | None
    entitlement: str | None
    reviewer: str | None
    agent: str | None
    outcome: str | None
    decision: str | None
    reason: str | None


def approval_kind(entry: AuditEntry) -> str | None:
    if layer_of(entry) is not APPROVAL:
        return None
    suffix = entry.event.rsplit(".", 1)[-1]
    for kind, words in (("requested", REQUESTED), ("approved", APPROVED), ("denied", DENIED), ("expired", EXPIRED)):
        if suffix in words:
            return kind
    if suffix in DECIDED:
        return {"allow": "approved", "deny": "denied"}.get(counted_outcome(entry) or "")
    return None


def count_approvals(entries: Iterable[AuditEntry]) -> Approvals:
    counts = {"requested": 0, "approved": 0, "denied": 0, "expired": 0}
    for entry in entries:
        kind = approval_kind(entry)
        if kind:
            counts[kind] += 1
    return Approvals(**counts)


def certifications(entries: Iterable[AuditEntry]) -> tuple[CertificationRow, ...]:
    return tuple(
        CertificationRow(seq=e.seq, time=e.time, event=e.event, campaign=text_detail(e, "campaign"),
                         entitlement=text_detail(e, "entitlement", "resource", "system"),
                         reviewer=text_detail(e, "reviewer") or e.subject, agent=e.agent,
                         outcome=counted_outcome(e), decision=e.decision, reason=e.reason)
        for e in entries if e.event.startswith(CERTIFICATION_PREFIXES))
