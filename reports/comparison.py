"""The whitepaper's comparison table, traditional approach against unified platform (issue 11), as
measured in a ``traditional-vs-unified`` run.

The scenario records one ``comparison.measured`` audit entry per step or attack and configuration
(details: ``row``, ``configuration``, ``step``, ``records_exposed``, ``unauthorised_actions``,
``time_to_containment``, ``observed``, ``steps_logged``, ``steps_total``, ``evidence``). This module
groups them into the whitepaper's 12 rows; a row or column nothing measured stays empty (``None``)
and the report says so. Nothing here invents a value: every cell is a sum or maximum of entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from protocols.audit_chain import AuditEntry
from reports.audit_fields import duration_label

EVENT = "comparison.measured"
CONFIGURATIONS = ("traditional", "unified")


@attrs.frozen(kw_only=True)
class Row:
    key: str
    feature: str
    traditional: str
    """What the whitepaper says the traditional approach does."""
    unified: str
    """What the whitepaper says the unified platform does."""


ROWS: tuple[Row, ...] = (
    Row(key="discovery", feature="Agent discovery",
        traditional="Manual spreadsheets, no shadow-AI detection",
        unified="Automated discovery, complete visibility"),
    Row(key="credentials", feature="Credential management",
        traditional="Hard-coded keys, never rotated", unified="Vaulting and rotation"),
    Row(key="user_auth", feature="User authentication",
        traditional="Custom authentication code, password storage",
        unified="Universal authentication, social single sign-on"),
    Row(key="api_access", feature="API access",
        traditional="Tokens stored in configuration files", unified="Token vault with automatic refresh"),
    Row(key="cross_domain", feature="Cross-domain access",
        traditional="Separate authentication for each system", unified="ID-JAG token exchange with user context"),
    Row(key="approval", feature="Human approval",
        traditional="Custom polling, no mobile support", unified="CIBA with mobile or e-mail notification"),
    Row(key="documents", feature="Document permissions",
        traditional="Application-level checks, inconsistent",
        unified="Fine-grained, relationship-based authorization"),
    Row(key="access_reviews", feature="Access reviews",
        traditional="Manual, quarterly spreadsheets", unified="Automated certification workflows"),
    Row(key="threats", feature="Threat detection",
        traditional="Log analysis after an incident", unified="Real-time behavioural analytics"),
    Row(key="audit", feature="Audit trail",
        traditional="Scattered across several systems", unified="Unified system log"),
    Row(key="incidents", feature="Incident resolution",
        traditional="Manual investigation and remediation",
        unified="Automated blocking and token revocation"),
    Row(key="mcp", feature="MCP authorization",
        traditional="Custom authentication logic in each MCP server",
        unified="Standardised OAuth 2 with platform validation"),
)
ROW_KEYS = tuple(row.key for row in ROWS)


def _audit_complete(m: Mapping[str, Any]) -> bool:
    return m["steps_total"] > 0 and m["steps_logged"] == m["steps_total"]


def _cell(measurements: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """One column of one row: totals over the steps that measured it (``None``: nothing did)."""
    if not measurements:
        return None
    times = [m["time_to_containment"] for m in measurements]
    contained = all(t is not None for t in times)
    return {
        "records_exposed": sum(m["records_exposed"] for m in measurements),
        "unauthorised_actions": sum(m["unauthorised_actions"] for m in measurements),
        "time_to_containment": max(t for t in times if t is not None) if contained else None,
        "contained": contained,
        "not_contained": sum(1 for t in times if t is None),
        "observed": max((m["observed"] for m in measurements if m["observed"] is not None), default=None),
        "steps_logged": sum(m["steps_logged"] for m in measurements),
        "steps_total": sum(m["steps_total"] for m in measurements),
        "audit_complete": all(_audit_complete(m) for m in measurements),
        "measured_by": sorted({m["step"] for m in measurements}),
    }


def comparison_table(measurements: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The 12 rows, each with both columns (``None`` when nothing measured that column)."""
    found = list(measurements)
    table = []
    for row in ROWS:
        mine = [m for m in found if m["row"] == row.key]
        table.append({
            "row": row.key, "feature": row.feature,
            "whitepaper": {"traditional": row.traditional, "unified": row.unified},
            **{c: _cell([m for m in mine if m["configuration"] == c]) for c in CONFIGURATIONS},
            "steps": sorted({m["step"] for m in mine}),
        })
    return table


def measurements_from(entries: Iterable[AuditEntry]) -> list[dict[str, Any]]:
    """The measurements recorded in the audit log, in log order."""
    return [dict(entry.details) for entry in entries if entry.event == EVENT]


def table_from_entries(entries: Sequence[AuditEntry]) -> list[dict[str, Any]] | None:
    """The comparison table of a run, or ``None`` when the run measured nothing of the kind."""
    found = measurements_from(entries)
    return comparison_table(found) if found else None


@attrs.frozen(kw_only=True)
class CellView:
    """One column of one row, as the report prints it."""

    measured: bool
    records: str = "—"
    actions: str = "—"
    containment: str = "—"
    audit: str = "—"
    """Adversary requests one log reconstructs, of all of them (``12/14``)."""
    audit_complete: bool = False
    measured_by: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class RowView:
    key: str
    feature: str
    whitepaper_traditional: str
    whitepaper_unified: str
    traditional: CellView
    unified: CellView


def _containment(cell: Mapping[str, Any]) -> str:
    if cell["contained"]:
        return duration_label(cell["time_to_containment"])
    watched = f" (watched {duration_label(cell['observed'])})" if cell["observed"] else ""
    if cell["not_contained"] < len(cell["measured_by"]):
        return f"{cell['not_contained']} of {len(cell['measured_by'])} not contained{watched}"
    return f"not contained{watched}"


def cell_view(cell: Mapping[str, Any] | None) -> CellView:
    if cell is None:
        return CellView(measured=False)
    return CellView(measured=True, records=str(cell["records_exposed"]), actions=str(cell["unauthorised_actions"]),
                    containment=_containment(cell), audit=f"{cell['steps_logged']}/{cell['steps_total']}",
                    audit_complete=cell["audit_complete"], measured_by=tuple(cell["measured_by"]))


def table_view(table: Sequence[Mapping[str, Any]] | None) -> tuple[RowView, ...]:
    """The rows as the HTML and Markdown templates print them (empty: not a comparison run)."""
    if not table:
        return ()
    return tuple(RowView(key=row["row"], feature=row["feature"], whitepaper_traditional=row["whitepaper"]["traditional"],
                         whitepaper_unified=row["whitepaper"]["unified"], traditional=cell_view(row["traditional"]),
                         unified=cell_view(row["unified"])) for row in table)
