"""The comparison table is a function of the measurements: both columns per row, sums and maxima,
"not measured" when nothing measured a column; and audit completeness as one log reconstructs it."""

from __future__ import annotations

import pytest

from actors.traditional.client import SentRequest
from actors.traditional.legacy_app import LegacyLogLine
from protocols.audit_chain import AuditEntry
from reports.comparison import ROW_KEYS, comparison_table, table_view
from scenarios.traditional.audit_coverage import UnifiedRequest, legacy_coverage, unified_coverage
from scenarios.traditional.comparison import Measurement


def measured(row: str, configuration: str, *, records: int = 0, actions: int = 0, contained: float | None = None,
             logged: int = 1, total: int = 1, step: str = "step:x") -> Measurement:
    return Measurement(row=row, configuration=configuration, step=step, records_exposed=records,
                       unauthorised_actions=actions, time_to_containment=contained, observed=600.0,
                       steps_logged=logged, steps_total=total)


def test_every_row_has_both_columns_and_unmeasured_ones_say_so() -> None:
    table = comparison_table(m.to_json() for m in (
        measured("threats", "traditional", records=500, actions=500, logged=3, total=4),
        measured("threats", "unified", records=20, actions=22, contained=21.6, logged=4, total=4),
        measured("threats", "unified", records=1, contained=40.0, step="attack:a"),
    ))
    assert [row["row"] for row in table] == list(ROW_KEYS) and len(table) == 12
    threats = next(row for row in table if row["row"] == "threats")
    assert threats["traditional"]["records_exposed"] == 500 and not threats["traditional"]["contained"]
    assert threats["traditional"]["audit_complete"] is False
    unified = threats["unified"]
    assert (unified["records_exposed"], unified["unauthorised_actions"]) == (21, 22)
    assert unified["time_to_containment"] == 40.0 and unified["audit_complete"]
    assert unified["measured_by"] == ["attack:a", "step:x"]
    others = [row for row in table if row["row"] != "threats"]
    assert all(row["traditional"] is None and row["unified"] is None for row in others)
    views = {view.key: view for view in table_view(table)}
    assert not views["mcp"].traditional.measured and views["mcp"].traditional.records == "—"
    assert views["threats"].traditional.containment.startswith("not contained")
    assert views["threats"].unified.containment == "40 s"


def test_one_uncontained_step_makes_the_column_uncontained() -> None:
    table = comparison_table(m.to_json() for m in (
        measured("incidents", "unified", contained=10.0), measured("incidents", "unified", step="step:y")))
    cell = next(row for row in table if row["row"] == "incidents")["unified"]
    assert cell["time_to_containment"] is None and cell["not_contained"] == 1
    assert table_view(table)[10].unified.containment.startswith("1 of 2 not contained")


def test_measurements_refuse_unknown_rows_and_configurations() -> None:
    with pytest.raises(ValueError, match="row"):
        measured("firewall", "unified")
    with pytest.raises(ValueError, match="configuration"):
        measured("mcp", "hybrid")
    again = Measurement.from_json(measured("mcp", "unified", records=3).to_json())
    assert again.records_exposed == 3 and again.audit_complete


def line(system: str, time: int, path: str, *, principal: str = "key:agent") -> LegacyLogLine:
    return LegacyLogLine(time=time, system=system, principal=principal, method="GET", path=path, status=200)


def sent(system: str, time: int, path: str) -> SentRequest:
    return SentRequest(time=time, system=system, method="GET", path=path, status=200)


def test_scattered_logs_reconstruct_only_their_own_system() -> None:
    requests = [sent("legacy-crm", 10, "/a"), sent("legacy-crm", 10, "/a"), sent("legacy-docs", 11, "/d"),
                sent("legacy-pricing", 12, "/p")]
    logs = {"legacy-crm": (line("legacy-crm", 10, "/a"), line("legacy-crm", 10, "/a")),
            "legacy-docs": (line("legacy-docs", 11, "/d"),),
            "legacy-pricing": (line("legacy-pricing", 12, "/p", principal=""),)}
    coverage = legacy_coverage(requests, logs)
    assert (coverage.logged, coverage.total, coverage.log) == (2, 4, "legacy-crm")
    one_line = legacy_coverage(requests[:2], {"legacy-crm": (line("legacy-crm", 10, "/a"),)})
    assert one_line.logged == 1  # a line reconstructs one request, not two


def audit(seq: int, actor: str, *, agent: str | None = "a") -> AuditEntry:
    return AuditEntry(seq=seq, time="2025-01-06T09:00:00.000Z", actor=actor, event="api.called", agent=agent,
                      subject=None, decision="allow" if agent else None, reason=None, details={},
                      prev_hash="0" * 64, hash="0" * 64)


def test_the_audit_log_reconstructs_requests_by_their_receiver_and_window() -> None:
    entries = [audit(1, "crm"), audit(2, "privileged-vault", agent=None), audit(3, "crm")]
    requests = [UnifiedRequest(system="crm", seq_before=0, seq_after=1, status=200),
                UnifiedRequest(system="privileged-vault", seq_before=1, seq_after=2, status=401),
                UnifiedRequest(system="crm", seq_before=3, seq_after=3, status=401)]
    coverage = unified_coverage(requests, entries)
    assert (coverage.logged, coverage.total) == (1, 3)
