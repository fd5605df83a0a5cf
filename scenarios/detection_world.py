"""World-file sections for threat detection and universal logout (SPEC capability 12, phase 8).

```toml
[detection]
enabled = true              # false: no detector, no automated response (the ablation run)
start = "2025-01-07T00:00:00Z"   # agents are monitored from then on (before: onboarding traffic)
window = 600                # seconds: the sliding window the volume is scored over (each call is scored)
elevated = 35               # risk score (0-100) from which the level is ELEVATED
high = 60                   # ... HIGH: the automated response starts
baseline_days = 30          # days of history a baseline is learned from
min_baseline_days = 7       # fewer days: the baseline is still learning (prior values)
security_team = "security@acmecorp.example"   # where incident alerts go

[routine]                   # the agent's normal work, as real API calls, every day from `start`
agent = "sales-agent-prod-001"
reads_per_day = [10, 15]    # customer records read a day (uniform between the bounds)
hours = [9, 18]             # UTC hours the reads happen in

[attack]                    # the credential-theft drill of the threat-detection phase
records = 500               # customer records the attacker tries to read ...
duration = 600              # ... in this many seconds (one record per call, as fast as the API allows)
retry_every = 30            # after a refusal: seconds between rounds of trying every stolen credential
retry_rounds = 10
```

``parse_security`` returns ``None`` for a world without ``[detection]``; problems raise
``SecuritySectionError`` naming the field, which ``scenarios.world`` turns into a ``WorldError``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from protocols.behaviour import DetectionPolicy


class SecuritySectionError(ValueError):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


@attrs.frozen(kw_only=True)
class DetectionSettings:
    enabled: bool
    start: datetime | None
    policy: DetectionPolicy
    security_team: str


@attrs.frozen(kw_only=True)
class RoutineSettings:
    agent: str
    reads_per_day: tuple[int, int]
    hours: tuple[int, int]


@attrs.frozen(kw_only=True)
class AttackSettings:
    records: int
    duration: int
    retry_every: int
    retry_rounds: int


@attrs.frozen(kw_only=True)
class SecuritySettings:
    detection: DetectionSettings
    routine: RoutineSettings | None
    attack: AttackSettings | None


def _int(table: dict[str, Any], key: str, *, where: str, default: int | None = None, minimum: int = 1) -> int:
    value = table.get(key, default)
    if value is None:
        raise SecuritySectionError(f"{where}.{key}", "missing")
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SecuritySectionError(f"{where}.{key}", f"expected an integer >= {minimum}, got {value!r}")
    return value


def _number(table: dict[str, Any], key: str, *, where: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SecuritySectionError(f"{where}.{key}", f"expected a number, got {value!r}")
    if not 0 < value <= 100:
        raise SecuritySectionError(f"{where}.{key}", f"a risk score threshold must be above 0 and at most 100, "
                                                     f"got {value!r}")
    return float(value)


def _pair(table: dict[str, Any], key: str, *, where: str, default: tuple[int, int], low: int,
          high: int) -> tuple[int, int]:
    value = table.get(key, list(default))
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or not low <= value[0] <= value[1] <= high):
        raise SecuritySectionError(f"{where}.{key}", f"expected [min, max] with {low} <= min <= max <= {high}")
    return value[0], value[1]


def _table(data: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = data.get(key)
    if value is not None and not isinstance(value, dict):
        raise SecuritySectionError(key, "expected a table")
    return value


def parse_security(data: dict[str, Any], *, agent_ids: set[str]) -> SecuritySettings | None:
    detection = _table(data, "detection")
    if detection is None:
        for other in ("routine", "attack"):
            if _table(data, other) is not None:
                raise SecuritySectionError(other, "needs a [detection] section")
        return None
    enabled = detection.get("enabled", True)
    if not isinstance(enabled, bool):
        raise SecuritySectionError("detection.enabled", "expected true or false")
    start = None
    if "start" in detection:
        raw = detection["start"]
        try:
            start = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            raise SecuritySectionError("detection.start", f"not an ISO 8601 time: {raw!r}") from None
        if start.tzinfo is None:
            raise SecuritySectionError("detection.start", "needs a time zone (e.g. a trailing Z)")
    try:
        policy = DetectionPolicy(
            window=_int(detection, "window", where="detection", default=600),
            elevated=_number(detection, "elevated", where="detection", default=35.0),
            high=_number(detection, "high", where="detection", default=60.0),
            baseline_days=_int(detection, "baseline_days", where="detection", default=30),
            min_baseline_days=_int(detection, "min_baseline_days", where="detection", default=7))
    except ValueError as error:
        if isinstance(error, SecuritySectionError):
            raise
        raise SecuritySectionError("detection", str(error)) from None
    team = detection.get("security_team", "")
    if not isinstance(team, str) or "@" not in team:
        raise SecuritySectionError("detection.security_team", "expected an e-mail address")
    settings = DetectionSettings(enabled=enabled, start=start, policy=policy, security_team=team)
    routine = _table(data, "routine")
    routine_settings = None
    if routine is not None:
        agent = routine.get("agent")
        if agent not in agent_ids:
            raise SecuritySectionError("routine.agent", f"unknown agent {agent!r}")
        reads = _pair(routine, "reads_per_day", where="routine", default=(10, 15), low=1, high=1000)
        hours = _pair(routine, "hours", where="routine", default=(9, 18), low=0, high=24)
        routine_settings = RoutineSettings(agent=agent, reads_per_day=reads, hours=hours)
        if routine_settings.hours[0] == routine_settings.hours[1]:
            raise SecuritySectionError("routine.hours", "the working hours must not be empty")
    attack = _table(data, "attack")
    attack_settings = None
    if attack is not None:
        attack_settings = AttackSettings(records=_int(attack, "records", where="attack", default=500),
                                         duration=_int(attack, "duration", where="attack", default=600),
                                         retry_every=_int(attack, "retry_every", where="attack", default=30),
                                         retry_rounds=_int(attack, "retry_rounds", where="attack", default=10,
                                                           minimum=0))
    return SecuritySettings(detection=settings, routine=routine_settings, attack=attack_settings)
