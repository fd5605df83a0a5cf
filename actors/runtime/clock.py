"""Scenario time (DESIGN.md §2): the world epoch plus trio's clock, or the wall clock when serving.

In simulation runs trio's ``MockClock`` (autojump) drives ``trio.current_time()``, so days pass in
milliseconds and every ``iat``/``exp`` follows simulated time. ``serve`` mode uses the real clock.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import attrs
import trio


@attrs.define
class ScenarioClock:
    """``now()`` in epoch seconds: ``epoch + (trio time - trio time at start)``, or wall time."""

    epoch: int
    real: bool = False
    _trio_start: float | None = attrs.field(default=None, init=False)

    @classmethod
    def simulated(cls, *, epoch: datetime) -> ScenarioClock:
        return cls(epoch=int(epoch.timestamp()))

    @classmethod
    def wall(cls) -> ScenarioClock:
        return cls(epoch=0, real=True)

    def start(self) -> None:
        """Anchor the epoch to the current trio time; call once inside ``trio.run``."""
        self._trio_start = trio.current_time()

    def now_float(self) -> float:
        if self.real:
            return time.time()
        if self._trio_start is None:
            return float(self.epoch)
        return self.epoch + (trio.current_time() - self._trio_start)

    def now(self) -> int:
        return int(self.now_float())

    def iso(self) -> str:
        return iso_time(self.now_float())

    async def sleep_until(self, epoch_seconds: float) -> None:
        await trio.sleep(max(0.0, epoch_seconds - self.now_float()))


def iso_time(epoch_seconds: float) -> str:
    """Epoch seconds as the audit log writes times: ``2025-01-06T09:00:00.000Z``."""
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
