"""Running a simulation under trio with deterministic task scheduling (DESIGN.md: time and randomness are inputs).

Trio reorders each batch of runnable tasks at random (``trio._core._run._r``) so that code cannot
come to depend on an order; and tasks woken by the same deadline are queued in ``id()`` order.
Two actors whose timers fire at the same simulated instant (a 30-day and a 90-day key rotation
both due on day 90) would then run in a different order from one run to the next, and the same
seed would not give the same audit log. Trio has a switch for exactly this, the one Hypothesis
turns on: each batch is sorted by task creation order, then shuffled with ``_r``. ``run_simulated``
turns it on and seeds ``_r`` with the run seed for the duration of one ``trio.run``, so the order
is still arbitrary but is an input of the run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio
import trio.testing
from trio._core import _run as trio_run_internals

T = TypeVar("T")


def run_simulated(fn: Callable[..., Awaitable[T]], *args: Any, seed: int, autojump_threshold: float) -> T:
    """``trio.run(fn, *args)`` on a ``MockClock`` with scheduling order decided by ``seed``."""
    saved_flag, saved_state = trio_run_internals._ALLOW_DETERMINISTIC_SCHEDULING, trio_run_internals._r.getstate()
    trio_run_internals._ALLOW_DETERMINISTIC_SCHEDULING = True  # type: ignore[misc]
    trio_run_internals._r.seed(seed)
    try:
        return trio.run(fn, *args, clock=trio.testing.MockClock(autojump_threshold=autojump_threshold))
    finally:
        trio_run_internals._ALLOW_DETERMINISTIC_SCHEDULING = saved_flag  # type: ignore[misc]
        trio_run_internals._r.setstate(saved_state)
