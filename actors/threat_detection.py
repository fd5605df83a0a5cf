"""Threat detection (SPEC capability 12): per-agent behavioural baselines over the audit trail and
an explainable risk score (``protocols.behaviour``), with an alert when it reaches HIGH.

The detector reads the audit log's feed (``AuditLog.subscribe``, like a SIEM reading shipped logs).
An entry becomes an *observation* of an agent when it is a provider's ``api.called`` (or another
activity event carrying ``records``) attributed to a monitored agent — directly (``agent`` or
``subject`` is the agent or one of its accounts at a provider) or through token lineage: a token id (``jti``) that an
earlier entry issued or served to the agent (``vault.token_served``, ``token.issued``...). Resource
types are the call's path with identifiers replaced by ``*`` (a segment after a plural collection
name, or holding a digit): ``GET /crm/v1/accounts/001x/contacts`` → ``GET crm/*/accounts/*/contacts``.

Scoring is throttled per ``interval`` seconds: activity after a quiet interval is scored at once;
activity during a busy one is batched into one evaluation when the interval ends (nothing runs on
idle days, so 45 simulated days cost a few hundred evaluations and no extra clock wake-ups). Each evaluation that is not NORMAL, or changes the level, is audited as
``risk.scored`` (``details.score``, ``threshold``, ``level``, the explained factors); after each
active day a ``risk.scored`` with ``period: day`` records that day's peak. Reaching HIGH opens one
alert per agent (sent on ``alerts`` to the response orchestrator) until ``resolve`` is called.
"""

from __future__ import annotations

import math
import re
from collections import deque
from datetime import datetime
from collections.abc import Mapping
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
OWN_EVENTS = frozenset({"risk.scored", "alert.raised"})
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


@attrs.frozen(kw_only=True)
class RiskAlert:
    """Sent to the orchestrator when an agent's risk reaches HIGH."""

    agent: str
    assessment: RiskAssessment
    audit_seq: int
    """Sequence number of the ``risk.scored`` entry that crossed the threshold (evidence)."""


@attrs.define(eq=False)
class ThreatDetectionActor(Actor):
    """``agents`` maps every account an agent has at a provider (its client ids) to the agent id."""

    policy: DetectionPolicy = attrs.field(factory=DetectionPolicy)
    agents: dict[str, str] = attrs.field(factory=dict)
    interval: int = 60
    monitor_from: int = 0
    """Epoch seconds from which activity is observed (before: onboarding traffic, not behaviour)."""
    alerts: trio.MemorySendChannel | None = attrs.field(default=None, repr=False)
    history: dict[str, deque[Observation]] = attrs.field(factory=dict)
    assessments: dict[str, RiskAssessment] = attrs.field(factory=dict)
    _lineage: dict[str, str] = attrs.field(factory=dict, repr=False)
    _today: dict[str, tuple[int, int]] = attrs.field(factory=dict)
    _baselines: dict[str, tuple[int, Baseline]] = attrs.field(factory=dict)
    _dirty: set[str] = attrs.field(factory=set)
    _due: float | None = None
    _last_evaluation: float = -math.inf
    _peaks: dict[str, RiskAssessment] = attrs.field(factory=dict)
    _alerted: set[str] = attrs.field(factory=set)
    _wake: trio.Event = attrs.field(factory=trio.Event, repr=False)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        feed = self.runtime.audit.subscribe()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._ingest, feed)
            nursery.start_soon(self._scheduler)
            await nursery.start(super().run)
            task_status.started()

    async def on_message(self, message: Any) -> Any:
        if isinstance(message, Baselines):
            return {agent: self.baseline(agent, now=self.runtime.clock.now()) for agent in set(self.agents.values())}
        raise TypeError(f"{self.name} does not understand {type(message).__name__}")

    def resolve(self, agent: str) -> None:
        """The incident is closed: a new HIGH will raise a new alert."""
        self._alerted.discard(agent)

    # ------------------------------------------------------------------ ingestion

    def _agent_of(self, entry: AuditEntry) -> str | None:
        for name in (entry.agent, entry.subject):
            if name in self.agents:
                return self.agents[name]
        jti = entry.details.get("jti")
        return self._lineage.get(jti) if isinstance(jti, str) else None

    def observe(self, entry: AuditEntry) -> Observation | None:
        """Turn one audit entry into an observation (or learn token lineage from it)."""
        if entry.event in OWN_EVENTS or entry.actor == self.name or _epoch(entry.time) < self.monitor_from:
            return None
        records = entry.details.get("records")
        activity = entry.event in ACTIVITY_EVENTS or (isinstance(records, int) and not isinstance(records, bool))
        agent = self._agent_of(entry)
        if agent is None:
            return None
        jti = entry.details.get("jti")
        if not activity:
            if isinstance(jti, str):
                self._lineage[jti] = agent
            return None
        if entry.decision == "deny":
            return None
        method, _, path = (entry.reason or "").partition(" ")
        kind = resource_type(method, path) if path.startswith("/") else str(entry.details.get("resource", entry.event))
        count = records if isinstance(records, int) and not isinstance(records, bool) and records >= 0 else 1
        return Observation(time=_epoch(entry.time), agent=agent, peer=entry.actor, resource_type=kind,
                           records=max(1, count))

    async def _ingest(self, feed: trio.MemoryReceiveChannel) -> None:
        async with feed:
            async for entry in feed:
                observation = self.observe(entry)
                if observation is None:
                    continue
                agent = observation.agent
                keep = self.history.setdefault(agent, deque())
                keep.append(observation)
                horizon = observation.time - (self.policy.baseline_days + 1) * DAY
                while keep and keep[0].time < horizon:
                    keep.popleft()
                day, total = self._today.get(agent, (-1, 0))
                today = observation.time // DAY
                self._today[agent] = (today, (total if day == today else 0) + observation.records)
                self._dirty.add(agent)
                if self._due is None:
                    now = self.runtime.clock.now_float()
                    quiet = now - self._last_evaluation >= self.interval
                    self._due = now if quiet else self._last_evaluation + self.interval
                self._wake.set()

    # ------------------------------------------------------------------ evaluation

    def baseline(self, agent: str, *, now: int) -> Baseline:
        """The agent's baseline for the day of ``now`` (learned once per day)."""
        day = now // DAY
        cached = self._baselines.get(agent)
        if cached is None or cached[0] != day:
            cached = (day, learn_baseline(self.history.get(agent, ()), agent=agent, before=now, policy=self.policy))
            self._baselines[agent] = cached
        return cached[1]

    def _next_deadline(self) -> float | None:
        candidates = [self._due] if self._due is not None else []
        if self._peaks:
            candidates.append(min((a.time // DAY + 1) * DAY for a in self._peaks.values()))
        return min(candidates) if candidates else None

    async def _scheduler(self) -> None:
        while True:
            deadline = self._next_deadline()
            if deadline is None:
                await self._wake.wait()
            else:
                with trio.move_on_after(max(0.0, deadline - self.runtime.clock.now_float())):
                    await self._wake.wait()
            self._wake = trio.Event()
            now = self.runtime.clock.now_float()
            for agent, peak in sorted(self._peaks.items()):
                if now >= (peak.time // DAY + 1) * DAY:
                    del self._peaks[agent]
                    await self._record(peak, period="day")
            if self._due is not None and now >= self._due:
                self._due, self._last_evaluation = None, now
                dirty, self._dirty = sorted(self._dirty), set()
                for agent in dirty:
                    await self.evaluate(agent, now=int(now))

    async def evaluate(self, agent: str, *, now: int) -> RiskAssessment:
        """Score ``agent`` on the window ending ``now``; audit and alert as the module docstring says."""
        history = self.history.get(agent, deque())
        recent = [o for o in reversed(history) if o.time > now - self.policy.window]
        day, total = self._today.get(agent, (-1, 0))
        assessment = assess(recent=recent, today_records=total if day == now // DAY else 0,
                            baseline=self.baseline(agent, now=now), policy=self.policy, now=now)
        previous = self.assessments.get(agent)
        self.assessments[agent] = assessment
        peak = self._peaks.get(agent)
        if peak is None or assessment.score > peak.score:
            self._peaks[agent] = assessment
        changed = previous is None or previous.level is not assessment.level
        if assessment.level is not RiskLevel.NORMAL or (changed and previous is not None):
            entry = await self._record(assessment, period="window", previous=previous)
            if assessment.level is RiskLevel.HIGH and agent not in self._alerted and self.alerts is not None:
                self._alerted.add(agent)
                await self.alerts.send(RiskAlert(agent=agent, assessment=assessment, audit_seq=entry.seq))
        return assessment

    async def _record(self, assessment: RiskAssessment, *, period: str,
                      previous: RiskAssessment | None = None) -> AuditEntry:
        baseline = self.baseline(assessment.agent, now=assessment.time)
        reasons = assessment.reasons()
        details: dict[str, Any] = {
            "score": assessment.score, "threshold": self.policy.high, "elevated_threshold": self.policy.elevated,
            "level": assessment.level.value, "period": period, "window_seconds": self.policy.window,
            "window_records": assessment.window_records, "window_calls": assessment.window_calls,
            "today_records": assessment.today_records, "factors": [f.to_json() for f in assessment.factors],
            "baseline": baseline.describe(), "scored_at": assessment.time,
        }
        if previous is not None:
            details["previous_level"] = previous.level.value
        self.log.info("risk.scored", agent=assessment.agent, score=assessment.score, level=assessment.level.value)
        return await self.runtime.audit.record(
            actor=self.name, event="risk.scored", agent=assessment.agent, decision=assessment.level.value,
            reason="; ".join(reasons) if reasons else "activity within the agent's baseline", **details)


@attrs.frozen
class Baselines:
    """Ask the detector for every monitored agent's current baseline (for reports and tests)."""


def _epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def agent_accounts(agents: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """``{agent: (its client ids at providers...)}`` → the ``agents`` map of the detector."""
    accounts = {agent: agent for agent in agents}
    for agent, ids in agents.items():
        accounts.update({client_id: agent for client_id in ids})
    return accounts
