"""The report as frozen values, built once from a run record and rendered three ways (HTML, Markdown,
JSON). Everything here is derived from ``run.json`` and the audit entries; nothing is re-run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import attrs

from protocols.audit_chain import AuditEntry
from reports.audit_fields import duration_label, parse_time
from reports.classification import LAYERS, RUN, counted_outcome, layer_of
from reports.findings import Finding, find_findings
from reports.governance import Approvals, CertificationRow, certifications, count_approvals
from reports.incidents import Incident, RiskPoint, find_incidents, risk_series
from reports.integrity import Integrity, check_integrity, run_started_details
from reports.lineage import Lineage, build_lineage
from reports.messages import Message, messages
from reports.narrative import Step, paragraph, steps
from reports.phases import SETUP, split_by_phase
from reports.run_reader import RunRecord

HEADER_FIELDS = ("scenario", "title", "seed", "transport", "world_file", "world_sha256", "epoch", "started",
                 "finished")


@attrs.frozen(kw_only=True)
class Header:
    scenario: str
    title: str
    seed: int | None
    transport: str
    world_file: str
    world_sha256: str
    epoch: str
    started: str
    finished: str

    @property
    def period(self) -> str:
        seconds = (parse_time(self.finished) - parse_time(self.started)).total_seconds()
        return duration_label(max(seconds, 0))


@attrs.frozen(kw_only=True)
class DecisionRow:
    seq: int
    time: str
    phase: int | None
    layer: str
    event: str
    actor: str
    agent: str | None
    subject: str | None
    decision: str | None
    outcome: str
    reason: str | None


@attrs.frozen(kw_only=True)
class LayerSummary:
    key: str
    label: str
    defence: bool
    counted: bool
    events: int
    allowed: int
    denied: int
    decisions: tuple[DecisionRow, ...]


@attrs.frozen(kw_only=True)
class PhaseSection:
    number: int
    name: str
    ok: bool | None
    outcome: str
    facts: tuple[tuple[str, str], ...]
    started_at: str | None
    finished_at: str | None
    entries: tuple[AuditEntry, ...]
    flow: tuple[Message, ...]
    steps: tuple[Step, ...]
    paragraph: str
    allowed: int
    denied: int

    @property
    def anchor(self) -> str:
        return "setup" if self.number == SETUP else f"phase-{self.number}"

    @property
    def title(self) -> str:
        return self.name if self.number == SETUP else f"Phase {self.number} — {self.name}"

    @property
    def chart_key(self) -> str:
        return f"{self.anchor}-sequence"


@attrs.frozen(kw_only=True)
class Report:
    header: Header
    integrity: Integrity
    phases: tuple[PhaseSection, ...]
    layers: tuple[LayerSummary, ...]
    approvals: Approvals
    incidents: tuple[Incident, ...]
    risk: tuple[RiskPoint, ...]
    certifications: tuple[CertificationRow, ...]
    lineage: Lineage
    findings: tuple[Finding, ...]
    entries: tuple[AuditEntry, ...]
    phase_of: dict[int, int | None] = attrs.field(repr=False)

    @property
    def events(self) -> int:
        return sum(1 for entry in self.entries if layer_of(entry) is not RUN)

    @property
    def allowed(self) -> int:
        return sum(layer.allowed for layer in self.layers)

    @property
    def denied(self) -> int:
        return sum(layer.denied for layer in self.layers)

    @property
    def defence_layers(self) -> tuple[LayerSummary, ...]:
        return tuple(layer for layer in self.layers if layer.defence)

    @property
    def other_layers(self) -> tuple[LayerSummary, ...]:
        return tuple(layer for layer in self.layers if not layer.defence and layer.counted and layer.events)

    @property
    def run_phases(self) -> tuple[PhaseSection, ...]:
        return tuple(phase for phase in self.phases if phase.number != SETUP)

    def findings_by_severity(self) -> dict[str, int]:
        counts = Counter(finding.severity for finding in self.findings)
        return {severity: counts.get(severity, 0) for severity in ("critical", "high", "medium", "info")}


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _header(record: RunRecord) -> Header:
    meta, started = record.metadata, run_started_details(record.entries)
    entries = record.entries

    def pick(key: str, default: Any) -> Any:
        value = meta.get(key, started.get(key))
        return default if value is None else value

    seed = pick("seed", None)
    return Header(
        scenario=str(pick("scenario", "unknown")), title=str(pick("title", pick("scenario", "trustbench run"))),
        seed=seed if isinstance(seed, int) else None, transport=str(pick("transport", "unknown")),
        world_file=str(pick("world_file", "")), world_sha256=str(pick("world_sha256", "")),
        epoch=str(pick("epoch", "")),
        started=str(pick("started", entries[0].time if entries else "")),
        finished=str(pick("finished", entries[-1].time if entries else "")))


def _layers(entries: Sequence[AuditEntry], phase_of: dict[int, int | None]) -> tuple[LayerSummary, ...]:
    summaries = []
    for layer in LAYERS:
        mine = [entry for entry in entries if layer_of(entry) is layer]
        rows = tuple(
            DecisionRow(seq=e.seq, time=e.time, phase=phase_of.get(e.seq), layer=layer.key, event=e.event,
                        actor=e.actor, agent=e.agent, subject=e.subject, decision=e.decision,
                        outcome=counted_outcome(e) or "", reason=e.reason)
            for e in mine if counted_outcome(e) is not None)
        summaries.append(LayerSummary(
            key=layer.key, label=layer.label, defence=layer.defence, counted=layer.counted, events=len(mine),
            allowed=sum(1 for row in rows if row.outcome == "allow"),
            denied=sum(1 for row in rows if row.outcome == "deny"), decisions=rows))
    return tuple(summaries)


def _section(*, number: int, name: str, ok: bool | None, outcome: str, facts: dict[str, Any],
             group: Any) -> PhaseSection:
    entries = group.entries if group else ()
    outcomes = Counter(counted_outcome(entry) for entry in entries)
    return PhaseSection(
        number=number, name=name, ok=ok, outcome=outcome,
        facts=tuple((str(key), _text(value)) for key, value in facts.items()),
        started_at=group.started_at if group else None, finished_at=group.finished_at if group else None,
        entries=entries, flow=messages(entries), steps=steps(entries),
        paragraph=paragraph(entries=entries), allowed=outcomes["allow"], denied=outcomes["deny"])


def build_report(record: RunRecord) -> Report:
    entries = record.entries
    integrity = check_integrity(record)
    groups = split_by_phase(entries)
    phase_of = {entry.seq: number for number, group in groups.items() for entry in group.entries}
    phase_meta = [phase for phase in record.metadata.get("phases", []) if isinstance(phase, dict)]
    sections = []
    if groups[SETUP].entries:
        sections.append(_section(number=SETUP, name="Platform setup and background events", ok=None,
                                 outcome="Events recorded outside every phase: the platform starting up and work "
                                         "running in the background between phases.",
                                 facts={}, group=groups[SETUP]))
    for phase in phase_meta:
        number = phase.get("number")
        number = number if isinstance(number, int) else -1
        facts = phase.get("facts") if isinstance(phase.get("facts"), dict) else {}
        sections.append(_section(number=number, name=str(phase.get("name", f"Phase {number}")),
                                 ok=bool(phase.get("ok", False)), outcome=str(phase.get("outcome", "")),
                                 facts=facts, group=groups.get(number)))
    incidents = find_incidents(entries)
    return Report(
        header=_header(record), integrity=integrity, phases=tuple(sections), layers=_layers(entries, phase_of),
        approvals=count_approvals(entries), incidents=incidents, risk=risk_series(entries),
        certifications=certifications(entries), lineage=build_lineage(entries),
        findings=find_findings(integrity=integrity, phases=phase_meta, entries=entries, incidents=incidents),
        entries=entries, phase_of={seq: (None if number == SETUP else number) for seq, number in phase_of.items()})

