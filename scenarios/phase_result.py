"""What a phase reports back to the runner."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen(kw_only=True)
class PhaseResult:
    """What a phase achieved: a one-line outcome, whether it met the scenario, and its key facts."""

    number: int
    name: str
    ok: bool
    outcome: str
    facts: dict[str, Any] = attrs.field(factory=dict)
