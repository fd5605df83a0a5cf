"""Behavioural baseline and explainable anomaly score for one agent (SPEC capability 12).

**Observations.** Each API call an agent makes, as the platform's logs record it: when, which
system (the *peer*), which resource type (``crm:contacts``), how many records it returned.

**Baseline** (:func:`learn_baseline`), learned from the agent's observations on the
``baseline_days`` whole days before the day being scored:

- *burst size* λ — the mean number of records in the sliding window (length ``window``) that ends at
  each of the agent's calls: how much it usually reads in a busy ``window``;
- *daily volume* — median and MAD (median absolute deviation) of records per day, counting the
  days without activity since the agent's first day;
- *time of day* — records per UTC hour; the agent's *usual hours* are those holding at least
  ``USUAL_HOUR_SHARE`` of its activity;
- *resource types* and *peers* it has used.

**Score** (:func:`assess`), 0–100, the capped sum of five explained factors, evaluated on the window
ending now:

1. ``volume`` — Poisson tail: the surprise ``d = −log10 P(X ≥ k)`` of reading ``k`` records in the
   window when X ~ Poisson(λ); ``VOLUME_POINTS_PER_DECADE`` points per decade, at most
   ``VOLUME_CAP``. (Sudden bulk reads.)
2. ``daily volume`` — robust z-score ``z = 0.6745 · (x − median) / MAD`` of today's records so far
   (Iglewicz & Hoaglin: |z| > 3.5 is an outlier); ``DAILY_POINTS_PER_Z`` points per unit of z above
   3.5, at most ``DAILY_CAP``. (Slow exfiltration spread over the day.)
3. ``time of day`` — share of the window's records outside the usual hours × ``TIME_CAP``.
4. ``resource types`` — share of the window's records on types never used before × ``NOVELTY_CAP``.
5. ``peers`` — ``PEER_POINTS`` per system never called before, at most ``PEER_CAP``.

Risk level: ``HIGH`` at or above ``high``, ``ELEVATED`` at or above ``elevated``, else ``NORMAL``
(thresholds come from the world file). Until ``min_baseline_days`` of history exist the baseline
is *learning*: the prior (λ = ``PRIOR_BURST``, daily median ``PRIOR_DAILY_MEDIAN``, MAD
``PRIOR_DAILY_MAD``) stands in, and novelty factors are not scored.
Pure functions of their inputs: no clock, no randomness.
"""

from __future__ import annotations

import enum
import math
import statistics
from collections.abc import Iterable, Sequence

import attrs

DAY = 86400
HOUR = 3600
USUAL_HOUR_SHARE = 0.02
VOLUME_POINTS_PER_DECADE = 4.0
VOLUME_CAP = 70.0
DAILY_POINTS_PER_Z = 4.0
DAILY_CAP = 40.0
MAD_SCALE = 0.6745
OUTLIER_Z = 3.5
TIME_CAP = 15.0
NOVELTY_CAP = 10.0
PEER_POINTS = 10.0
PEER_CAP = 20.0
MIN_MAD = 1.0
PRIOR_BURST = 2.0
PRIOR_DAILY_MEDIAN = 20.0
PRIOR_DAILY_MAD = 5.0


class RiskLevel(enum.Enum):
    NORMAL = "NORMAL"
    ELEVATED = "ELEVATED"
    HIGH = "HIGH"


@attrs.frozen(kw_only=True)
class DetectionPolicy:
    """The knobs a world file sets: window length (s), thresholds, how much history to learn from."""

    window: int = 600
    elevated: float = 35.0
    high: float = 60.0
    baseline_days: int = 30
    min_baseline_days: int = 7

    def __attrs_post_init__(self) -> None:
        if self.window <= 0 or self.baseline_days <= 0 or self.min_baseline_days <= 0:
            raise ValueError("window, baseline_days and min_baseline_days must be positive")
        if not 0 < self.elevated < self.high <= 100:
            raise ValueError("thresholds must satisfy 0 < elevated < high <= 100")
        if self.min_baseline_days > self.baseline_days:
            raise ValueError("min_baseline_days cannot exceed baseline_days")

    def level(self, score: float) -> RiskLevel:
        if score >= self.high:
            return RiskLevel.HIGH
        if score >= self.elevated:
            return RiskLevel.ELEVATED
        return RiskLevel.NORMAL


@attrs.frozen(kw_only=True)
class Observation:
    """One API call by an agent (``time`` in epoch seconds)."""

    time: float
    agent: str
    peer: str
    resource_type: str
    records: int = 1


@attrs.frozen(kw_only=True)
class Baseline:
    """What is normal for one agent (module docstring)."""

    agent: str
    days: int
    learning: bool
    burst: float
    daily_median: float
    daily_mad: float
    hourly: tuple[int, ...]
    usual_hours: frozenset[int]
    resource_types: frozenset[str]
    peers: frozenset[str]
    observations: int

    def describe(self) -> dict[str, object]:
        return {"days": self.days, "learning": self.learning, "burst_records_per_window": round(self.burst, 2),
                "daily_median": self.daily_median, "daily_mad": self.daily_mad,
                "usual_hours_utc": sorted(self.usual_hours), "resource_types": sorted(self.resource_types),
                "peers": sorted(self.peers), "observations": self.observations}


@attrs.frozen(kw_only=True)
class Factor:
    """One explained contribution to the score."""

    name: str
    points: float
    observed: float
    expected: float
    explanation: str

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "points": round(self.points, 1), "observed": round(self.observed, 2),
                "expected": round(self.expected, 2), "explanation": self.explanation}


@attrs.frozen(kw_only=True)
class RiskAssessment:
    agent: str
    time: float
    score: float
    level: RiskLevel
    factors: tuple[Factor, ...]
    window_records: int
    window_calls: int
    today_records: int
    window_first_read: float | None = None
    """When the first record of the window was read (epoch seconds); ``None``: none was."""

    def reasons(self, *, limit: int = 3) -> list[str]:
        """The explanations of the factors that scored, largest first."""
        ranked = sorted((f for f in self.factors if f.points > 0), key=lambda f: -f.points)
        return [f.explanation for f in ranked[:limit]]


def poisson_log10_sf(k: int, lam: float) -> float:
    """``log10 P(X ≥ k)`` for X ~ Poisson(``lam``), accurate far into the tail (``k`` ≫ ``lam``)."""
    if k <= 0:
        return 0.0
    if lam <= 0:
        return -math.inf
    log_pmf = [(-lam + j * math.log(lam) - math.lgamma(j + 1)) for j in range(k)] if k <= lam else None
    if log_pmf is not None:  # the tail is large: 1 − CDF(k − 1) loses nothing
        cdf = math.fsum(math.exp(v) for v in log_pmf)
        return math.log10(max(1.0 - cdf, 1e-300))
    # k > lam: terms decrease from j = k on; sum them in log space until negligible.
    first = -lam + k * math.log(lam) - math.lgamma(k + 1)
    total, term, j = 1.0, 1.0, k
    while True:
        j += 1
        term *= lam / j
        total += term
        if term < 1e-17 * total:
            break
    return (first + math.log(total)) / math.log(10)


def _day(t: float) -> int:
    return int(t // DAY)


def _window_counts(observations: Sequence[Observation], window: int) -> list[int]:
    """For each call, the records read in the window ending at it (two pointers over sorted times)."""
    counts, start, running = [], 0, 0
    for obs in observations:
        running += obs.records
        while observations[start].time <= obs.time - window:
            running -= observations[start].records
            start += 1
        counts.append(running)
    return counts


def learn_baseline(history: Iterable[Observation], *, agent: str, before: float,
                   policy: DetectionPolicy) -> Baseline:
    """The agent's baseline from its observations on the ``baseline_days`` days before the day of
    ``before`` (epoch seconds). Observations of other agents or outside that span are ignored."""
    today = _day(before)
    first_day = today - policy.baseline_days
    used = sorted((o for o in history if o.agent == agent and first_day <= _day(o.time) < today),
                  key=lambda o: o.time)
    hourly = [0] * 24
    per_day: dict[int, int] = {}
    for obs in used:
        hourly[int(obs.time % DAY // HOUR)] += obs.records
        per_day[_day(obs.time)] = per_day.get(_day(obs.time), 0) + obs.records
    days = (today - min(per_day)) if per_day else 0
    learning = days < policy.min_baseline_days
    if learning:
        return Baseline(agent=agent, days=days, learning=True, burst=PRIOR_BURST, daily_median=PRIOR_DAILY_MEDIAN,
                        daily_mad=PRIOR_DAILY_MAD, hourly=tuple(hourly), usual_hours=frozenset(range(24)),
                        resource_types=frozenset(o.resource_type for o in used),
                        peers=frozenset(o.peer for o in used), observations=len(used))
    daily = [per_day.get(d, 0) for d in range(today - days, today)]
    median = statistics.median(daily)
    mad = statistics.median(abs(x - median) for x in daily)
    total = sum(hourly)
    usual = frozenset(h for h in range(24) if hourly[h] > 0 and hourly[h] >= USUAL_HOUR_SHARE * total)
    counts = _window_counts(used, policy.window)
    return Baseline(agent=agent, days=days, learning=False, burst=max(1.0, statistics.fmean(counts)),
                    daily_median=float(median), daily_mad=float(mad), hourly=tuple(hourly), usual_hours=usual,
                    resource_types=frozenset(o.resource_type for o in used), peers=frozenset(o.peer for o in used),
                    observations=len(used))


def assess(*, recent: Sequence[Observation], today_records: int, baseline: Baseline, policy: DetectionPolicy,
           now: float) -> RiskAssessment:
    """Score the window ``(now − window, now]``: ``recent`` holds the agent's observations in it;
    ``today_records`` counts its records since the start of the UTC day of ``now``."""
    window = [o for o in recent if now - policy.window < o.time <= now]
    k = sum(o.records for o in window)
    factors = [_volume(k, baseline=baseline, policy=policy), _daily(today_records, baseline)]
    if not baseline.learning and window:
        factors += [_time_of_day(window, baseline=baseline, k=k), _resource_types(window, baseline=baseline, k=k),
                    _peers(window, baseline)]
    score = min(100.0, sum(f.points for f in factors))
    score = round(score, 1)
    return RiskAssessment(agent=baseline.agent, time=now, score=score, level=policy.level(score),
                          factors=tuple(factors), window_records=k, window_calls=len(window),
                          today_records=today_records,
                          window_first_read=min((o.time for o in window if o.records), default=None))


def _volume(k: int, *, baseline: Baseline, policy: DetectionPolicy) -> Factor:
    decades = -poisson_log10_sf(k, baseline.burst) if k else 0.0
    points = min(VOLUME_CAP, VOLUME_POINTS_PER_DECADE * decades)
    minutes = policy.window // 60
    return Factor(name="volume", points=points, observed=k, expected=baseline.burst,
                  explanation=(f"{k} records in {minutes} min against a usual {baseline.burst:.1f} per busy "
                               f"{minutes} min (Poisson tail probability 10^-{decades:.1f})"))


def _daily(today: int, baseline: Baseline) -> Factor:
    mad = max(baseline.daily_mad, MIN_MAD)
    z = MAD_SCALE * (today - baseline.daily_median) / mad
    points = min(DAILY_CAP, max(0.0, z - OUTLIER_Z) * DAILY_POINTS_PER_Z)
    return Factor(name="daily volume", points=points, observed=today, expected=baseline.daily_median,
                  explanation=(f"{today} records today against a median of {baseline.daily_median:g} a day "
                               f"(robust z-score {z:.1f}, MAD {baseline.daily_mad:g})"))


def _time_of_day(window: Sequence[Observation], *, baseline: Baseline, k: int) -> Factor:
    odd = sum(o.records for o in window if int(o.time % DAY // HOUR) not in baseline.usual_hours)
    share = odd / k if k else 0.0
    hours = sorted(baseline.usual_hours)
    usual = f"{hours[0]:02d}:00–{hours[-1] + 1:02d}:00 UTC" if hours else "none yet"
    return Factor(name="time of day", points=TIME_CAP * share, observed=share, expected=0.0,
                  explanation=f"{odd} of {k} records read outside the agent's usual hours ({usual})")


def _resource_types(window: Sequence[Observation], *, baseline: Baseline, k: int) -> Factor:
    novel = sorted({o.resource_type for o in window} - baseline.resource_types)
    share = sum(o.records for o in window if o.resource_type in novel) / k if k else 0.0
    names = ", ".join(novel) if novel else "none"
    return Factor(name="resource types", points=NOVELTY_CAP * share, observed=share, expected=0.0,
                  explanation=f"resource types never used before: {names}")


def _peers(window: Sequence[Observation], baseline: Baseline) -> Factor:
    novel = sorted({o.peer for o in window} - baseline.peers)
    return Factor(name="peers", points=min(PEER_CAP, PEER_POINTS * len(novel)), observed=len(novel), expected=0.0,
                  explanation=f"systems never called before: {', '.join(novel) if novel else 'none'}")
