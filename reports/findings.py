"""What an auditor should read first: findings derived from the evidence, most severe first.

Rules (``severity``: critical, high, medium, info):

* critical — every integrity problem (tampered or inconsistent audit evidence);
* high — a phase that did not meet the scenario (``run.json``); an incident (risk over threshold)
  with its containment time, or not contained; a discovery entry rating an account ``HIGH`` or
  ``CRITICAL`` (``discovery.*`` / ``shadow_ai.*`` with ``details.level`` or ``details.risk``);
* medium — an approval denied or expired (as counted in the summary); an output-filter entry
  (``output.*``, ``output_filter.*``) that blocked something;
* info — each group of denials with the same layer, event and reason: a control that held.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import attrs

from protocols.audit_chain import AuditEntry
from reports.audit_fields import day_time_label, duration_label, text_detail
from reports.classification import OUTPUT_FILTER_PREFIXES, counted_outcome, layer_of
from reports.governance import approval_kind, counted_approval_entries
from reports.incidents import Incident
from reports.integrity import Integrity

SEVERITIES = ("critical", "high", "medium", "info")
HIGH_RISK = frozenset({"HIGH", "CRITICAL"})
REASON_LIMIT = 160


@attrs.frozen(kw_only=True)
class Finding:
    severity: str
    title: str
    detail: str
    seq: int | None = None


def _incident_finding(incident: Incident) -> Finding:
    opened = day_time_label(incident.opened_at)
    if incident.contained_at is None:
        return Finding(severity="high", title=f"Incident on {incident.agent} not contained",
                       detail=f"opened at {opened} by {incident.opened_by}; no containment entry follows",
                       seq=incident.opened_seq)
    took = duration_label(incident.seconds_to_contain or 0)
    records = "" if incident.records_read is None else f"; {incident.records_read} records read before containment"
    began = ("" if incident.seconds_from_first_read is None else
             f", {duration_label(incident.seconds_from_first_read)} after the first record read "
             f"({day_time_label(incident.reads_began_at)})")
    return Finding(severity="high", title=f"Incident on {incident.agent} contained {took} after detection",
                   detail=f"opened at {opened} by {incident.opened_by}, contained by {incident.contained_by}"
                          f"{began}{records}",
                   seq=incident.opened_seq)


def find_findings(*, integrity: Integrity, phases: Sequence[dict[str, Any]], entries: Sequence[AuditEntry],
                  incidents: Sequence[Incident]) -> tuple[Finding, ...]:
    found: list[Finding] = [Finding(severity="critical", title="Audit evidence failed verification", detail=problem,
                                    seq=integrity.broken_seq)
                            for problem in integrity.problems]
    for phase in phases:
        if not phase.get("ok", False):
            found.append(Finding(severity="high", title=f"Phase {phase.get('number')} did not meet the scenario",
                                 detail=str(phase.get("outcome", ""))))
    found.extend(_incident_finding(incident) for incident in incidents)
    for entry in entries:
        level = (text_detail(entry, "level", "risk") or "").upper()
        if entry.event.startswith(("discovery.", "shadow_ai.")) and level in HIGH_RISK:
            who = text_detail(entry, "account", "account_id") or entry.agent or entry.subject or "an account"
            found.append(Finding(severity="high", title=f"Unregistered agent found: {who}",
                                 detail=f"risk {level}" + (f": {entry.reason}" if entry.reason else ""), seq=entry.seq))
        if entry.event.startswith(OUTPUT_FILTER_PREFIXES) and counted_outcome(entry) == "deny":
            title = ("Internal data stopped on its way out" if entry.event == "output_filter.egress_blocked"
                     else "Credential caught in agent output")
            found.append(Finding(severity="medium", title=title, detail=entry.reason or entry.event, seq=entry.seq))
    for entry in counted_approval_entries(entries):
        kind = approval_kind(entry)
        if kind in ("denied", "expired"):
            found.append(Finding(severity="medium", title=f"Approval {kind}",
                                 detail=f"{entry.event} for {entry.agent or entry.actor}"
                                        + (f": {entry.reason}" if entry.reason else ""), seq=entry.seq))
    denials: Counter[tuple[str, str, str]] = Counter()
    first_seq: dict[tuple[str, str, str], int] = {}
    for entry in entries:
        if counted_outcome(entry) == "deny":
            group = (layer_of(entry).label, entry.event, entry.reason or "no reason given")
            denials[group] += 1
            first_seq.setdefault(group, entry.seq)
    for (label, event, reason), count in denials.items():
        shown = reason if len(reason) <= REASON_LIMIT else reason[: REASON_LIMIT - 1] + "…"
        found.append(Finding(severity="info", title=f"Control held: {label}",
                             detail=f"{event} denied {count}× — {shown}", seq=first_seq[(label, event, reason)]))
    return tuple(sorted(found, key=lambda f: (SEVERITIES.index(f.severity), f.seq if f.seq is not None else 0)))
