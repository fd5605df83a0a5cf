"""Deterministic scheduling: tasks due at the same simulated instant run in an order set by the seed."""

from __future__ import annotations

import trio
import trio.testing

from actors.runtime.scheduling import run_simulated
from trio._core import _run as trio_run_internals


async def _race() -> tuple[str, ...]:
    """Eight tasks all wake at t=30 days (like key rotations with different periods falling due together)."""
    order: list[str] = []

    async def wake(name: str) -> None:
        await trio.sleep(30 * 86400)
        order.append(name)

    async with trio.open_nursery() as nursery:
        for name in "abcdefgh":
            nursery.start_soon(wake, name)
    return tuple(order)


def test_same_seed_same_order_and_trio_state_restored():
    flag = trio_run_internals._ALLOW_DETERMINISTIC_SCHEDULING
    orders = {run_simulated(_race, seed=7, autojump_threshold=0) for _ in range(20)}
    assert len(orders) == 1
    assert trio_run_internals._ALLOW_DETERMINISTIC_SCHEDULING == flag


def test_plain_trio_order_varies_so_the_seed_is_what_fixes_it():
    plain = {trio.run(_race, clock=trio.testing.MockClock(autojump_threshold=0)) for _ in range(40)}
    assert len(plain) > 1
    seeded = {run_simulated(_race, seed=seed, autojump_threshold=0) for seed in range(40)}
    assert len(seeded) > 1
