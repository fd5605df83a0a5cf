"""Measurements of the traditional-vs-unified comparison (issue 11) and where they go.

A ``Measurement`` is what one step or attack did under one configuration: records exposed,
unauthorised actions executed, time to containment and audit completeness, each counted from the
run (answers the adversary received, the systems' own logs, the platform's audit log), with the
evidence. ``record`` puts it in the audit log (one ``comparison.measured`` entry); the report builds
the whitepaper's 12-row table from those entries (``reports.comparison``); ``write_comparison``
writes the same table to ``comparison.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from actors.runtime.context import Runtime
from reports.comparison import CONFIGURATIONS, EVENT, ROW_KEYS, comparison_table


@attrs.frozen(kw_only=True)
class Measurement:
    """One step (or attack) under one configuration, as measured in the run."""

    row: str
    configuration: str
    step: str
    """What measured it: a scenario step (``step:shadow-ai``) or an attack (``attack:<id>``)."""
    records_exposed: int
    unauthorised_actions: int
    time_to_containment: float | None
    """Simulated seconds from the first adversary step to containment; ``None``: not contained."""
    observed: float | None
    """Simulated seconds the step was observed for (what "not contained" means); ``None``: not known
    (an attack run in its own runtime reports no observation window)."""
    steps_logged: int
    """Adversary requests that one log (the best single one) attributes: who, what, when."""
    steps_total: int
    evidence: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        if self.row not in ROW_KEYS:
            raise ValueError(f"unknown comparison row {self.row!r}")
        if self.configuration not in CONFIGURATIONS:
            raise ValueError(f"unknown configuration {self.configuration!r}")

    @property
    def audit_complete(self) -> bool:
        return self.steps_total > 0 and self.steps_logged == self.steps_total

    def to_json(self) -> dict[str, Any]:
        return {**attrs.asdict(self), "evidence": list(self.evidence), "audit_complete": self.audit_complete}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Measurement:
        fields = {f.name for f in attrs.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        values["evidence"] = tuple(values.get("evidence", ()))
        return cls(**values)


async def record(runtime: Runtime, measurement: Measurement, *, phase: int | None = None) -> None:
    """One ``comparison.measured`` audit entry (no decision: it is a measurement, not an access)."""
    extra = {} if phase is None else {"phase": phase}
    await runtime.audit.record(actor="comparison", event=EVENT,
                               reason=f"{measurement.configuration}: {measurement.step}",
                               **measurement.to_json(), **extra)


def write_comparison(path: Path, measurements: Sequence[Measurement]) -> dict[str, Any]:
    """``comparison.json``: every measurement and the 12-row table built from them."""
    document = {"measurements": [m.to_json() for m in measurements],
                "table": comparison_table(m.to_json() for m in measurements)}
    path.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return document
