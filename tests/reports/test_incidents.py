"""Risk series and incidents (reports/incidents.py)."""

from __future__ import annotations

from reports.findings import find_findings
from reports.incidents import find_incidents, risk_series
from reports.integrity import Integrity
from tests.reports.helpers import entry, numbered

T = "2025-02-20T03:{:02d}:00.000Z"


def test_an_incident_opens_at_the_crossing_and_closes_at_containment():
    incidents = find_incidents(numbered(
        entry("risk.scored", agent="a", score=10, threshold=70, time=T.format(0)),
        entry("resource.read", agent="a", records=300, time=T.format(1)),
        entry("risk.scored", agent="a", score=90, threshold=70, time=T.format(4)),
        entry("resource.read", agent="a", records=200, time=T.format(5)),
        entry("risk.scored", agent="a", score=95, threshold=70, time=T.format(6)),
        entry("agent.suspended", agent="a", time=T.format(10)),
        entry("resource.read", agent="a", records=1, time=T.format(11)),
    ))
    (incident,) = incidents
    assert (incident.opened_seq, incident.contained_seq, incident.peak_score) == (3, 6, 95)
    assert incident.seconds_to_contain == 360 and incident.records_read == 500
    assert incident.reads_began_at == T.format(1)
    assert (incident.seconds_to_detect, incident.seconds_from_first_read) == (180, 540)


def test_the_detector_dates_the_first_read_of_its_window():
    (incident,) = find_incidents(numbered(
        entry("resource.read", agent="a", records=5, time=T.format(0)),
        entry("risk.scored", agent="a", score=90, threshold=70, time=T.format(4)),
        entry("incident.contained", agent="a", records_read=3, reads_began_at=T.format(2), time=T.format(5)),
    ))
    assert (incident.reads_began_at, incident.records_read) == (T.format(2), 3)
    assert (incident.seconds_to_detect, incident.seconds_to_contain, incident.seconds_from_first_read) == (120, 60, 180)


def test_without_any_read_the_incident_has_no_reading_times():
    (incident,) = find_incidents(numbered(
        entry("threat.detected", agent="a", time=T.format(0)),
        entry("agent.suspended", agent="a", time=T.format(1)),
    ))
    assert incident.seconds_to_contain == 60
    assert (incident.reads_began_at, incident.seconds_to_detect, incident.seconds_from_first_read) == (None,) * 3


def test_records_read_given_by_the_detector_win_and_agents_are_separate():
    incidents = find_incidents(numbered(
        entry("threat.detected", agent="a", time=T.format(0)),
        entry("risk.scored", agent="b", score=99, threshold=50, time=T.format(1)),
        entry("incident.contained", agent="a", records_read=480, time=T.format(2)),
    ))
    assert [(i.agent, i.records_read, i.contained_seq) for i in incidents] == [("a", 480, 3), ("b", None, None)]


def test_containment_by_detail_flag_and_a_second_episode():
    incidents = find_incidents(numbered(
        entry("risk.scored", agent="a", score=80, threshold=70, time=T.format(0)),
        entry("tokens.revoked_everywhere", agent="a", containment=True, time=T.format(3)),
        entry("risk.scored", agent="a", score=75, threshold=70, time=T.format(9)),
    ))
    assert [(i.opened_seq, i.contained_seq) for i in incidents] == [(1, 2), (3, None)]


def test_risk_series_ignores_non_numeric_scores():
    series = risk_series(numbered(entry("risk.scored", agent="a", score="high"), entry("risk.scored", agent="a",
                                                                                        score=True),
                                  entry("risk.scored", agent="a", score=12.5, level="NORMAL")))
    assert [(p.seq, p.score, p.threshold, p.level) for p in series] == [(3, 12.5, None, "NORMAL")]


def test_the_incident_finding_gives_both_durations():
    incidents = find_incidents(numbered(
        entry("resource.read", agent="a", records=40, time=T.format(1)),
        entry("risk.scored", agent="a", score=90, threshold=70, time=T.format(4)),
        entry("agent.suspended", agent="a", time=T.format(5)),
    ))
    intact = Integrity(chain_ok=True, entries=3, broken_seq=None, last_hash="", problems=())
    (finding,) = find_findings(integrity=intact, phases=[], entries=[], incidents=incidents)
    assert finding.title == "Incident on a contained 1 min after detection"
    assert "4 min after the first record read (2025-02-20 03:01:00); 40 records read before containment" \
        in finding.detail
