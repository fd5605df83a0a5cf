"""Threat detection (SPEC capability 12): per-agent behavioural baselines over the audit trail and
an explainable risk score (``protocols.behaviour``), with an alert when it reaches HIGH.

The detector reads the audit log's feed (``AuditLog.subscribe``, like a SIEM reading shipped logs).
``ActivityReader`` turns an entry into an *observation* of an agent when it is a provider's
``api.called`` (or another activity event carrying ``records``) attributed to a monitored agent —
directly (``agent`` or ``subject`` is the agent or one of its accounts at a provider) or through
token lineage: a token id (``jti``) that an earlier entry issued or served to the agent
(``vault.token_served``, ``token.issued``...). Resource types are the call's path with identifiers
replaced by ``*`` (a segment after a plural collection name, or holding a digit):
``GET /crm/v1/accounts/001x/contacts`` → ``GET crm/*/accounts/*/contacts``.

Scoring is streaming: each observation is scored as it arrives, on the window ending at it, from
the agent's history as ingested so far (entries arrive in chain order, so the scores do not depend
on task scheduling). Nothing runs on idle days: 45 simulated days cost a few hundred evaluations
and no clock wake-ups but one per active day. A change of level is audited as ``risk.scored``
(``details.score``, ``threshold``, ``level``, the explained factors); after each active day a
``risk.scored`` with ``period: day`` records that day's peak (the risk-over-time chart; a HIGH
peak is already on record as its crossing). Reaching
HIGH raises one alert per agent (sent on ``alerts`` to the response orchestrator): the agent stays
contained until people reinstate it. ``replay`` scores a finished run's audit trail exactly as the live detector did (for
threshold sweeps).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs
import trio

from actors.runtime.actor import Actor
from protocols.audit_chain import AuditEntry
from protocols.behaviour import (
    DAY, Baseline, DetectionPolicy, Observation, RiskAssessment, RiskLevel, assess, learn_baseline,
)

ACTIVITY_EVENTS = frozenset({"api.called"})
"""Events that are an agent's use of a system (any entry with numeric ``details.records`` counts too)."""
OWN_EVENTS = frozenset({"risk.scored"})
_ID_SEGMENT = re.compile(r"\d|^[^a-z]")


def resource_type(method: str, path: str) -> str:
    """``GET /crm/v1/accounts/001x/contacts`` → ``GET crm/*/accounts/*/contacts`` (module docstring)."""
    out: list[str] = []
    for segment in (s for s in path.split("/") if s):
        previous = out[-1] if out else ""
        identifier = bool(_ID_SEGMENT.search(segment)) or (previous.endswith("s") and previous != "*"
                                                            and len(out) >= 2)
        out.append("*" if identifier else segment.lower())
    return f"{method.upper()} {'/'.join(out)}"


def entry_time(entry: AuditEntry) -> float:
    """An audit entry's time in epoch seconds (millisecond precision)."""
    return datetime.fromisoformat(entry.time.replace("Z", "+00:00")).timestamp()


@attrs.define
class ActivityReader:
    """Audit entries → observations of monitored agents, learning token lineage on the way.

    ``agents`` maps every account an agent has (client ids, integration users) to the agent id;
    entries before ``monitor_from`` (onboarding traffic) and the detector's own are ignored."""

    agents: Mapping[str, str]
    monitor_from: float = 0
    ignore_actor: str = ""
    _lineage: dict[str, str] = attrs.field(factory=dict, repr=False)

    def _agent_of(self, entry: AuditEntry) -> str | None:
        for name in (entry.agent, entry.subject):
            if name in self.agents:
                return self.agents[name]
        jti = entry.details.get("jti")
        return self._lineage.get(jti) if isinstance(jti, str) else None

    def observe(self, entry: AuditEntry) -> Observation | None:
        if entry.event in OWN_EVENTS or entry.actor == self.ignore_actor:
            return None
        when = entry_time(entry)
        if when < self.monitor_from:
            return None
        records = entry.details.get("records")
        counted = isinstance(records, int) and not isinstance(records, bool) and records >= 0
        agent = self._agent_of(entry)
        if agent is None:
            return None
        if entry.event not in ACTIVITY_EVENTS and not counted:
            jti = entry.details.get("jti")
            if isinstance(jti, str):
                self._lineage[jti] = agent
            return None
        if entry.decision == "deny":
            return None
        method, _, path = (entry.reason or "").partition(" ")
        kind = resource_type(method, path) if path.startswith("/") else str(entry.details.get("resource", entry.event))
        return Observation(time=when, agent=agent, peer=entry.actor, resource_type=kind,
                           records=max(1, records) if counted else 1)


@attrs.frozen(kw_only=True)
class RiskAlert:
    """Sent to the orchestrator when an agent's risk reaches HIGH."""

    agent: str
    assessment: RiskAssessment
    audit_seq: int
    """Sequence number of the ``risk.scored`` entry that crossed the threshold (evidence)."""


@attrs.frozen
class Baselines:
    """Ask the detector for every monitored agent's current baseline (for reports and tests)."""


@attrs.define(eq=False)
class AgentState:
    """What the detector keeps per agent."""

    history: deque[Observation] = attrs.field(factory=deque)
    day: int = -1
    today: int = 0
    baseline: tuple[int, Baseline] | None = None
    assessment: RiskAssessment | None = None
    peak: RiskAssessment | None = None

    def add(self, observation: Observation, *, keep_days: int) -> None:
        self.history.append(observation)
        while self.history and self.history[0].time < observation.time - keep_days * DAY:
            self.history.popleft()
        day = int(observation.time // DAY)
        self.today = (self.today if day == self.day else 0) + observation.records
        self.day = day

    def baseline_for(self, agent: str, *, now: float, policy: DetectionPolicy) -> Baseline:
        day = int(now // DAY)
        if self.baseline is None or self.baseline[0] != day:
            self.baseline = (day, learn_baseline(self.history, agent=agent, before=now, policy=policy))
        return self.baseline[1]

    def score(self, agent: str, *, now: float, policy: DetectionPolicy) -> RiskAssessment:
        recent = [o for o in reversed(self.history) if o.time > now - policy.window]
        return assess(recent=recent, today_records=self.today if self.day == int(now // DAY) else 0,
                      baseline=self.baseline_for(agent, now=now, policy=policy), policy=policy, now=now)


@attrs.define(eq=False)
class ThreatDetectionActor(Actor):
    """``agents`` maps every account an agent has at a provider (its client ids) to the agent id."""

    policy: DetectionPolicy = attrs.field(factory=DetectionPolicy)
    agents: dict[str, str] = attrs.field(factory=dict)
    monitor_from: int = 0
    """Epoch seconds from which activity is observed (before: onboarding traffic, not behaviour)."""
    alerts: trio.MemorySendChannel | None = attrs.field(default=None, repr=False)
    states: dict[str, AgentState] = attrs.field(factory=dict)
    _reader: ActivityReader = attrs.field(init=False, repr=False)
    _alerted: set[str] = attrs.field(factory=set)
    _wake: trio.Event = attrs.field(factory=trio.Event, repr=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._reader = ActivityReader(agents=self.agents, monitor_from=self.monitor_from, ignore_actor=self.name)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        feed = self.runtime.audit.subscribe()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._ingest, feed)
            nursery.start_soon(self._scheduler)
            await nursery.start(super().run)
            task_status.started()

    async def on_message(self, message: Any) -> Any:
        if isinstance(message, Baselines):
            now = self.runtime.clock.now_float()
            return {agent: state.baseline_for(agent, now=now, policy=self.policy)
                    for agent, state in sorted(self.states.items())}
        raise TypeError(f"{self.name} does not understand {type(message).__name__}")

    async def _ingest(self, feed: trio.MemoryReceiveChannel) -> None:
        async with feed:
            async for entry in feed:
                observation = self._reader.observe(entry)
                if observation is None:
                    continue
                state = self.states.setdefault(observation.agent, AgentState())
                state.add(observation, keep_days=self.policy.baseline_days + 1)
                await self.evaluate(observation.agent, now=observation.time)
                self._wake.set()

    def _next_deadline(self) -> float | None:
        """The end of the earliest day whose peak has not been recorded yet."""
        times = [(s.peak.time // DAY + 1) * DAY for s in self.states.values() if s.peak is not None]
        return min(times) if times else None

    async def _scheduler(self) -> None:
        while True:
            deadline = self._next_deadline()
            with trio.move_on_after(max(0.0, deadline - self.runtime.clock.now_float()) if deadline else float("inf")):
                await self._wake.wait()
            self._wake = trio.Event()
            now = self.runtime.clock.now_float()
            for state in [s for _, s in sorted(self.states.items())]:
                if state.peak is not None and now >= (state.peak.time // DAY + 1) * DAY:
                    peak, state.peak = state.peak, None
                    await self._record_day(peak)

    async def evaluate(self, agent: str, *, now: float) -> RiskAssessment:
        """Score ``agent`` on the window ending ``now``; audit and alert as the module docstring says."""
        state = self.states.setdefault(agent, AgentState())
        assessment = state.score(agent, now=now, policy=self.policy)
        previous, state.assessment = state.assessment, assessment
        if state.peak is not None and int(state.peak.time // DAY) != int(now // DAY):
            peak, state.peak = state.peak, None  # a new day began before the midnight wake-up ran
            await self._record_day(peak)
        if state.peak is None or assessment.score > state.peak.score:
            state.peak = assessment
        if (previous.level if previous is not None else RiskLevel.NORMAL) is not assessment.level:
            entry = await self._record(assessment, period="change", previous=previous)
            if assessment.level is RiskLevel.HIGH and agent not in self._alerted and self.alerts is not None:
                self._alerted.add(agent)
                await self.alerts.send(RiskAlert(agent=agent, assessment=assessment, audit_seq=entry.seq))
        return assessment

    async def _record_day(self, peak: RiskAssessment) -> None:
        """The day's peak, for the risk-over-time chart — unless it was HIGH: that crossing is
        already on record (``period: change``) and must not read as a second incident."""
        if peak.level is not RiskLevel.HIGH:
            await self._record(peak, period="day")

    async def _record(self, assessment: RiskAssessment, *, period: str,
                      previous: RiskAssessment | None = None) -> AuditEntry:
        state = self.states[assessment.agent]
        baseline = state.baseline_for(assessment.agent, now=assessment.time, policy=self.policy)
        reasons = assessment.reasons()
        details: dict[str, Any] = {
            "score": assessment.score, "threshold": self.policy.high, "elevated_threshold": self.policy.elevated,
            "level": assessment.level.value, "period": period, "window_seconds": self.policy.window,
            "window_records": assessment.window_records, "window_calls": assessment.window_calls,
            "today_records": assessment.today_records, "factors": [f.to_json() for f in assessment.factors],
            "baseline": baseline.describe(), "scored_at": round(assessment.time, 3),
        }
        if previous is not None:
            details["previous_level"] = previous.level.value
        self.log.info("risk.scored", agent=assessment.agent, score=assessment.score, level=assessment.level.value)
        return await self.runtime.audit.record(
            actor=self.name, event="risk.scored", agent=assessment.agent, decision=assessment.level.value,
            reason="; ".join(reasons) if reasons else "activity within the agent's baseline", **details)


def agent_accounts(agents: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """``{agent: (its client ids at providers...)}`` → the ``agents`` map of the detector."""
    accounts = {agent: agent for agent in agents}
    for agent, ids in agents.items():
        accounts.update({client_id: agent for client_id in ids})
    return accounts


def replay(entries: Iterable[AuditEntry], *, agents: Mapping[str, str], policy: DetectionPolicy,
           monitor_from: float = 0) -> list[RiskAssessment]:
    """Every evaluation the live detector would make over ``entries`` (a finished run's audit
    trail), in order — the same observations and scores, whatever the thresholds."""
    reader = ActivityReader(agents=agents, monitor_from=monitor_from)
    states: dict[str, AgentState] = {}
    results: list[RiskAssessment] = []
    for entry in entries:
        observation = reader.observe(entry)
        if observation is None:
            continue
        state = states.setdefault(observation.agent, AgentState())
        state.add(observation, keep_days=policy.baseline_days + 1)
        results.append(state.score(observation.agent, now=observation.time, policy=policy))
    return results
