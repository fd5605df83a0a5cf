"""The behavioural baseline and the explainable risk score (protocols/behaviour.py)."""

import math

import pytest

from protocols.behaviour import (
    DAY, DetectionPolicy, Observation, RiskLevel, assess, learn_baseline, poisson_log10_sf,
)
from protocols.entropy import SeededEntropy

START = 1_736_150_400  # 2025-01-06T08:00:00Z is within this UTC day (day boundary at 00:00)
DAY0 = START - START % DAY
POLICY = DetectionPolicy(window=600, elevated=35, high=60, baseline_days=30, min_baseline_days=7)
AGENT = "support-agent-prod-001"


def routine(days=30, *, seed=5):
    """10–15 reads a day at random times between 09:00 and 18:00 UTC, like the scenario's routine."""
    entropy = SeededEntropy.for_actor(run_seed=seed, actor="routine")
    history = []
    for day in range(days):
        for _ in range(10 + entropy.integer_below(6)):
            t = DAY0 + day * DAY + 9 * 3600 + entropy.integer_below(9 * 3600)
            history.append(Observation(time=t, agent=AGENT, peer="crm", resource_type="GET crm/*/contacts"))
    return sorted(history, key=lambda o: o.time)


def score(history, recent, *, now, today=None):
    baseline = learn_baseline(history, agent=AGENT, before=now, policy=POLICY)
    today_records = today if today is not None else sum(o.records for o in recent if o.time // DAY == now // DAY)
    return assess(recent=recent, today_records=today_records, baseline=baseline, policy=POLICY, now=now)


@pytest.mark.parametrize("k, lam", [(1, 0.5), (3, 1.1), (7, 2.0), (2, 5.0), (12, 3.3), (40, 1.0)])
def test_poisson_tail_matches_the_direct_sum(k, lam):
    direct = math.fsum(math.exp(-lam + j * math.log(lam) - math.lgamma(j + 1)) for j in range(k, k + 150))
    assert poisson_log10_sf(k, lam) == pytest.approx(math.log10(direct), rel=1e-9)


def test_poisson_tail_stays_finite_far_out():
    assert poisson_log10_sf(500, 1.1) == pytest.approx(-1113.87, abs=0.01)
    assert poisson_log10_sf(0, 1.0) == 0.0


def test_baseline_learns_volume_hours_types_and_peers():
    baseline = learn_baseline(routine(), agent=AGENT, before=DAY0 + 30 * DAY + 10 * 3600, policy=POLICY)
    assert not baseline.learning and baseline.days == 30
    assert 10 <= baseline.daily_median <= 15 and baseline.daily_mad <= 3
    assert baseline.usual_hours == frozenset(range(9, 18))
    assert 1.0 <= baseline.burst < 1.6
    assert baseline.resource_types == {"GET crm/*/contacts"} and baseline.peers == {"crm"}


def test_a_normal_day_stays_normal():
    history = routine(31)
    last_day = [o for o in history if o.time >= DAY0 + 30 * DAY]
    past = [o for o in history if o.time < DAY0 + 30 * DAY]
    for index, obs in enumerate(last_day):
        result = score(past, last_day[:index + 1], now=obs.time)
        assert result.level is RiskLevel.NORMAL, result.reasons()


def test_bulk_reads_reach_high_and_say_why():
    past = routine()
    now = DAY0 + 30 * DAY + 2 * 3600 + 600  # 02:10, after 10 minutes of reads
    burst = [Observation(time=now - 600 + i * 12, agent=AGENT, peer="crm", resource_type="GET crm/*/contacts")
             for i in range(1, 51)]
    result = score(past, burst, now=now)
    assert result.level is RiskLevel.HIGH and result.score >= POLICY.high
    volume = next(f for f in result.factors if f.name == "volume")
    assert volume.observed == 50 and volume.points == pytest.approx(70.0)
    assert "50 records in 10 min" in result.reasons()[0]
    assert any("outside the agent's usual hours" in r for r in result.reasons(limit=5))


def test_slow_exfiltration_is_caught_by_the_daily_robust_z_score():
    past = routine()
    day = DAY0 + 30 * DAY
    slow = [Observation(time=day + 9 * 3600 + i * 360, agent=AGENT, peer="crm", resource_type="GET crm/*/contacts")
            for i in range(80)]
    result = score(past, slow[-2:], now=slow[-1].time, today=80)
    volume = next(f for f in result.factors if f.name == "volume")
    daily = next(f for f in result.factors if f.name == "daily volume")
    assert volume.points < 10 and daily.points == pytest.approx(40.0)
    assert result.level is RiskLevel.ELEVATED


def test_new_peers_and_resource_types_add_points():
    past = routine()
    now = DAY0 + 30 * DAY + 11 * 3600
    odd = [Observation(time=now - 30, agent=AGENT, peer="hr-system", resource_type="GET hr/*/salaries")]
    result = score(past, odd, now=now)
    by_name = {f.name: f.points for f in result.factors}
    assert by_name["peers"] == 10 and by_name["resource types"] == 10
    assert "hr-system" in " ".join(result.reasons(limit=5))


def test_learning_mode_uses_the_prior_and_skips_novelty():
    history = routine(3)
    now = DAY0 + 3 * DAY + 10 * 3600
    baseline = learn_baseline(history, agent=AGENT, before=now, policy=POLICY)
    assert baseline.learning and baseline.days == 3
    result = assess(recent=[Observation(time=now, agent=AGENT, peer="new", resource_type="x")], today_records=1,
                    baseline=baseline, policy=POLICY, now=now)
    assert [f.name for f in result.factors] == ["volume", "daily volume"] and result.level is RiskLevel.NORMAL


def test_other_agents_and_todays_activity_are_not_in_the_baseline():
    history = routine() + [Observation(time=DAY0 + 5 * DAY + 3600, agent="other", peer="x", resource_type="y",
                                       records=900)]
    now = DAY0 + 30 * DAY + 10 * 3600
    today = [Observation(time=now - 5, agent=AGENT, peer="crm", resource_type="GET crm/*/contacts", records=400)]
    assert learn_baseline(history + today, agent=AGENT, before=now, policy=POLICY) == \
        learn_baseline(routine(), agent=AGENT, before=now, policy=POLICY)


@pytest.mark.parametrize("values", [
    {"elevated": 70, "high": 60}, {"elevated": 0, "high": 60}, {"high": 120}, {"window": 0},
    {"baseline_days": 5, "min_baseline_days": 7},
])
def test_inconsistent_policies_are_refused(values):
    with pytest.raises(ValueError):
        DetectionPolicy(**values)


def test_levels_follow_the_thresholds():
    assert [POLICY.level(s) for s in (0, 34.9, 35, 59.9, 60, 100)] == [
        RiskLevel.NORMAL, RiskLevel.NORMAL, RiskLevel.ELEVATED, RiskLevel.ELEVATED, RiskLevel.HIGH, RiskLevel.HIGH]
