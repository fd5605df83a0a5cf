"""Human approvals (CIBA) and certification campaigns, as the report counts and lists them.

Approvals: entries of the approval layer classified by the last part of the event name —
``requested``/``started``/``initiated`` → requested, ``approved``/``granted`` → approved,
``denied``/``rejected`` → denied, ``expired``/``timed_out`` → expired; a ``decided`` / ``answered``
/ ``completed`` event counts by its decision (allow → approved, deny → denied). The authorization
server's ``ciba.*`` entries are the ones counted; the approver device's ``approval.*`` entries
count only in a run without any ``ciba.*`` entry, so one approval is never counted twice.

Certifications: entries named ``certification.*`` / ``review.*``, each row with
``details.entitlement`` (or ``resource``/``system``, or the ``entitlements`` list),
``details.campaign``, the reviewer (``details.reviewer`` or the entry's ``subject``) and a verdict:
*certified* for an event ending in ``certified`` or a ``certify`` decision, *revoked* for one ending
in ``revoked`` or a ``revoke`` decision; campaign bookkeeping rows have no verdict.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from protocols.audit_chain import AuditEntry
from reports.audit_fields import detail, text_detail
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
    verdict: str | None
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


def counted_approval_entries(entries: Iterable[AuditEntry]) -> list[AuditEntry]:
    mine = [entry for entry in entries if layer_of(entry) is APPROVAL]
    ciba = [entry for entry in mine if entry.event.startswith("ciba.")]
    return ciba or mine


def count_approvals(entries: Iterable[AuditEntry]) -> Approvals:
    counts = {"requested": 0, "approved": 0, "denied": 0, "expired": 0}
    for entry in counted_approval_entries(entries):
        kind = approval_kind(entry)
        if kind:
            counts[kind] += 1
    return Approvals(**counts)


def verdict(entry: AuditEntry) -> str | None:
    word = (entry.decision or "").lower() if isinstance(entry.decision, str) else ""
    if entry.event.endswith("certified") or word in ("certify", "certified"):
        return "certified"
    if entry.event.endswith("revoked") or word in ("revoke", "revoked"):
        return "revoked"
    return None


def _entitlement(entry: AuditEntry) -> str | None:
    single = text_detail(entry, "entitlement", "resource", "system")
    if single:
        return single
    listed = detail(entry, "entitlements")
    if isinstance(listed, list) and listed:
        return ", ".join(str(item) for item in listed)
    return None


def certifications(entries: Iterable[AuditEntry]) -> tuple[CertificationRow, ...]:
    return tuple(
        CertificationRow(seq=e.seq, time=e.time, event=e.event, campaign=text_detail(e, "campaign"),
                         entitlement=_entitlement(e), reviewer=text_detail(e, "reviewer") or e.subject, agent=e.agent,
                         verdict=verdict(e), decision=e.decision, reason=e.reason)
        for e in entries if e.event.startswith(CERTIFICATION_PREFIXES))
