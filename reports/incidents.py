"""Risk over time and incidents: detection, containment, how long it took, what was read meanwhile.

Detail keys read:

* ``details.score`` (number) on an entry of the threat layer — typically ``risk.scored`` — is a
  point of the risk series of the entry's ``agent`` (or ``details.agent_id``); ``details.threshold``
  (number) is the threshold in force; ``details.level`` (``NORMAL``, ``HIGH``...) is shown when
  present. (Scores elsewhere, e.g. a shadow-AI discovery rating, are not behavioural risk.)
* An incident **opens** at the first score at or above its threshold while none is open for that
  agent, or at an ``incident.opened`` / ``threat.detected`` / ``anomaly.detected`` entry.
* It is **contained** by the next containment entry for the same agent: ``agent.suspended``,
  ``incident.contained``, ``threat.contained``, ``logout.universal``, or any entry with
  ``details.containment: true``.
* Records read before containment: ``details.records_read`` on the containment (or opening) entry
  if given, else the sum of ``details.records`` over the agent's entries since its last score
  *below* threshold (the last time it was known normal; the whole log if never) up to the
  containment — the attack usually starts before it is detected.
* The first read of that window — ``details.reads_began_at`` (an audit time) on the containment
  or opening entry if given, else the first entry counted above — dates the activity the incident is about, so
  an incident has two durations: time to detect (first read → opening) and time to contain, counted
  from detection (``seconds_to_contain``, the usual MTTC convention) and from the first read
  (``seconds_from_first_read``: how long the reads went on, whatever noticed them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from protocols.audit_chain import AuditEntry
from reports.audit_fields import detail, number_detail, parse_time, text_detail
from reports.classification import RUN, THREAT, layer_of

OPENING_EVENTS = frozenset({"incident.opened", "threat.detected", "anomaly.detected"})
CONTAINMENT_EVENTS = frozenset({"agent.suspended", "incident.contained", "threat.contained", "logout.universal"})


@attrs.frozen(kw_only=True)
class RiskPoint:
    seq: int
    time: str
    agent: str
    score: float
    threshold: float | None
    level: str | None


@attrs.frozen(kw_only=True)
class Incident:
    agent: str
    opened_seq: int
    opened_at: str
    opened_by: str
    peak_score: float | None
    threshold: float | None
    contained_seq: int | None = None
    contained_at: str | None = None
    contained_by: str | None = None
    records_read: int | None = None
    reads_began_at: str | None = None

    @property
    def seconds_to_contain(self) -> float | None:
        """From detection (the opening entry) to containment."""
        return _seconds(self.opened_at, self.contained_at)

    @property
    def seconds_to_detect(self) -> float | None:
        """From the first record read in the incident's window to detection."""
        return _seconds(self.reads_began_at, self.opened_at)

    @property
    def seconds_from_first_read(self) -> float | None:
        """From the first record read in the incident's window to containment."""
        return _seconds(self.reads_began_at, self.contained_at)


def _seconds(start: str | None, end: str | None) -> float | None:
    if start is None or end is None:
        return None
    return (parse_time(end) - parse_time(start)).total_seconds()


def agent_of(entry: AuditEntry) -> str:
    return entry.agent or text_detail(entry, "agent_id") or entry.actor


def risk_series(entries: Iterable[AuditEntry]) -> tuple[RiskPoint, ...]:
    points = []
    for entry in entries:
        score = number_detail(entry, "score")
        if score is None or layer_of(entry) is not THREAT:
            continue
        points.append(RiskPoint(seq=entry.seq, time=entry.time, agent=agent_of(entry), score=score,
                                threshold=number_detail(entry, "threshold"), level=text_detail(entry, "level")))
    return tuple(points)


def _is_containment(entry: AuditEntry) -> bool:
    return entry.event in CONTAINMENT_EVENTS or detail(entry, "containment") is True


def _records(entry: AuditEntry, key: str) -> int | None:
    value = number_detail(entry, key)
    return int(value) if value is not None else None


def find_incidents(entries: Sequence[AuditEntry]) -> tuple[Incident, ...]:
    open_by_agent: dict[str, Incident] = {}
    reads: dict[str, int] = {}
    first_read: dict[str, str] = {}
    done: list[Incident] = []
    for entry in entries:
        if layer_of(entry) is RUN:
            continue
        agent = agent_of(entry)
        score, threshold = number_detail(entry, "score"), number_detail(entry, "threshold")
        if layer_of(entry) is not THREAT:
            score = threshold = None
        incident = open_by_agent.get(agent)
        if incident is None and score is not None and threshold is not None and score < threshold:
            reads[agent] = 0
            first_read.pop(agent, None)
        records = _records(entry, "records") or 0
        reads[agent] = reads.get(agent, 0) + records
        if records:
            first_read.setdefault(agent, entry.time)
        if incident is not None:
            if score is not None and (incident.peak_score is None or score > incident.peak_score):
                incident = attrs.evolve(incident, peak_score=score)
            if _is_containment(entry):
                given = _records(entry, "records_read")
                if given is None:
                    given = incident.records_read if incident.records_read is not None else reads[agent]
                began = text_detail(entry, "reads_began_at") or incident.reads_began_at or first_read.get(agent)
                done.append(attrs.evolve(incident, contained_seq=entry.seq, contained_at=entry.time,
                                         contained_by=entry.event, records_read=given, reads_began_at=began))
                del open_by_agent[agent]
                reads[agent] = 0
                first_read.pop(agent, None)
            else:
                open_by_agent[agent] = incident
            continue
        crossing = score is not None and threshold is not None and score >= threshold
        if crossing or entry.event in OPENING_EVENTS:
            open_by_agent[agent] = Incident(agent=agent, opened_seq=entry.seq, opened_at=entry.time,
                                            opened_by=entry.event, peak_score=score, threshold=threshold,
                                            records_read=_records(entry, "records_read"),
                                            reads_began_at=text_detail(entry, "reads_began_at")
                                            or first_read.get(agent))
    done.extend(open_by_agent.values())
    return tuple(sorted(done, key=lambda incident: incident.opened_seq))
