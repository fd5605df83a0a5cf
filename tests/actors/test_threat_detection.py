"""The threat detector reading the audit feed: observations (direct and by token lineage),
streaming evaluations, daily risk points, the alert at HIGH, and ``replay`` scoring a finished
trail exactly as the live detector did."""

import pytest
import trio

from actors.runtime.network import Transport
from actors.threat_detection import ActivityReader, ThreatDetectionActor, replay, resource_type
from protocols.audit_chain import AuditEntry
from protocols.behaviour import DetectionPolicy
from protocols.entropy import SeededEntropy
from tests.actors.runtime.helpers import EPOCH, running_runtime

DAY = 86400
POLICY = DetectionPolicy(window=600, elevated=35, high=60, baseline_days=10, min_baseline_days=3)
ACCOUNTS = {"agent-x": "agent-x", "agent-x-crm": "agent-x"}


def test_resource_types_hide_identifiers():
    assert resource_type("GET", "/crm/v1/accounts/001x/contacts") == "GET crm/*/accounts/*/contacts"
    assert resource_type("get", "/crm/v1/contacts") == "GET crm/*/contacts"
    assert resource_type("GET", "/drive/v3/files/abc-def") == "GET drive/*/files/*"


def test_lineage_attributes_a_vault_served_token_to_its_agent():
    reader = ActivityReader(agents=ACCOUNTS)

    def entry(seq, event, agent, **details):
        return AuditEntry(seq=seq, time="2025-01-07T10:00:00.000Z", actor="x", event=event, agent=agent,
                          decision="allow", reason="GET /crm/v1/accounts/1", details=details)

    assert reader.observe(entry(1, "vault.token_served", "agent-x", jti="tok-1")) is None
    observed = reader.observe(entry(2, "api.called", "token-vault", jti="tok-1", records=3))
    assert observed is not None and (observed.agent, observed.records) == ("agent-x", 3)
    assert reader.observe(entry(3, "api.called", "someone-else", jti="tok-2", records=1)) is None
    denied = AuditEntry(seq=4, time="2025-01-07T10:00:00.000Z", actor="crm", event="api.called", agent="agent-x",
                        decision="deny", reason="GET /crm/v1/contacts", details={})
    assert reader.observe(denied) is None


async def test_live_detection_matches_replay_and_alerts_once(autojump_clock):
    async with running_runtime(Transport.CHANNEL) as (runtime, nursery, _log):
        send, alerts = trio.open_memory_channel(4)
        detector = ThreatDetectionActor(name="threat-detection", runtime=runtime, policy=POLICY, agents=dict(ACCOUNTS),
                                        alerts=send)
        await nursery.start(detector.run)
        entropy = SeededEntropy.for_actor(run_seed=3, actor="routine")
        start = int(EPOCH.timestamp()) // DAY * DAY + DAY

        async def call(n=1):
            await runtime.audit.record(actor="crm", event="api.called", agent="agent-x-crm", decision="allow",
                                       reason="GET /crm/v1/accounts/00" + str(entropy.integer_below(99)), records=n)

        for day in range(8):  # routine: 8-14 calls a day between 09:00 and 17:00
            times = sorted(start + day * DAY + 9 * 3600 + entropy.integer_below(8 * 3600)
                           for _ in range(8 + entropy.integer_below(7)))
            for moment in times:
                await runtime.clock.sleep_until(moment)
                await call()
        attack = start + 8 * DAY + 14 * 3600
        await runtime.clock.sleep_until(attack)
        for _ in range(60):  # 60 records in a minute, one call each
            await call()
            await trio.sleep(1)
        alert = await alerts.receive()
        await trio.sleep(120)
        entries = runtime.audit.store.entries()
    scored = [e for e in entries if e.event == "risk.scored"]
    days = [e for e in scored if e.details["period"] == "day"]
    assert len(days) == 8 and {e.decision for e in days} == {"NORMAL"}
    high = next(e for e in scored if e.decision == "HIGH")
    assert alert.agent == "agent-x" and alert.audit_seq == high.seq
    assert high.details["score"] >= high.details["threshold"] == 60 and high.details["level"] == "HIGH"
    assert high.details["period"] == "change" and high.details["scored_at"] - attack < 30  # within seconds
    assert {f["name"] for f in high.details["factors"]} >= {"volume", "daily volume", "time of day"}
    assert "records in 10 min" in high.reason
    with pytest.raises(trio.WouldBlock):  # one alert per incident, however long the burst
        alerts.receive_nowait()
    replayed = replay(entries, agents=ACCOUNTS, policy=POLICY)
    live_high = alert.assessment
    same = [a for a in replayed if abs(a.time - live_high.time) < 1e-6]
    assert same and same[0].score == live_high.score and same[0].window_records == live_high.window_records
    assert max(a.score for a in replayed if a.time < attack) < POLICY.elevated
