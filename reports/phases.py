"""Which audit entries belong to which phase of the run.

The runner brackets every phase with ``phase.started`` / ``phase.finished`` entries whose
``details.phase`` is the phase number; every entry between the two belongs to that phase. Entries
outside every bracket (platform setup before the first phase, background work between phases) go
to the ``SETUP`` group. A run without markers (older runs) puts all its events there, and the
phase sections show only what ``run.json`` says.
"""

from __future__ import annotations

import attrs

from protocols.audit_chain import AuditEntry
from reports.audit_fields import detail
from reports.classification import RUN, layer_of

SETUP = 0
"""Group number of the entries outside every phase."""


@attrs.frozen(kw_only=True)
class PhaseEvents:
    number: int
    entries: tuple[AuditEntry, ...]
    started_at: str | None = None
    finished_at: str | None = None


def _phase_number(entry: AuditEntry) -> int | None:
    value = detail(entry, "phase")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def split_by_phase(entries: tuple[AuditEntry, ...]) -> dict[int, PhaseEvents]:
    """Group number → its entries (runner events left out); ``SETUP`` holds what is outside phases."""
    groups: dict[int, list[AuditEntry]] = {SETUP: []}
    started: dict[int, str] = {}
    finished: dict[int, str] = {}
    current: int | None = None
    for entry in entries:
        if entry.event == "phase.started" and _phase_number(entry) is not None:
            current = _phase_number(entry)
            started.setdefault(current, entry.time)
            groups.setdefault(current, [])
            continue
        if entry.event == "phase.finished" and _phase_number(entry) is not None:
            finished[_phase_number(entry)] = entry.time
            current = None
            continue
        if layer_of(entry) is RUN:
            continue
        groups[current if current is not None else SETUP].append(entry)
    return {number: PhaseEvents(number=number, entries=tuple(items), started_at=started.get(number),
                                finished_at=finished.get(number))
            for number, items in groups.items()}
