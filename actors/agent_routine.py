"""An agent's everyday work as real API calls: a few customer records read each working day.

``DailyRoutine`` is the normal behaviour the threat detector learns its baseline from (SPEC phase
8: "a baseline of 10–15 a day"). From ``start``, each simulated day it draws from the run's seeded
entropy how many records to read (uniform in ``reads_per_day``), splits them into tasks of one to
``MAX_TASK_READS`` lookups (a ticket or a prospect needs a few records) and when each task happens
(uniform within ``hours``, UTC); it sleeps until each task and makes its calls one after the other,
each a real API call through ``send`` (the agent's own authenticated client, e.g. a
``ClientCredentialsClient`` leasing its secret from the vault). Calls are counted (``stats``); a
refusal is recorded, never retried in a loop. Idle time costs nothing: the task sleeps in simulated
time between tasks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import attrs
import trio

from actors.runtime.context import Runtime
from actors.runtime.network import Unreachable
from protocols.http import HttpRequest, HttpResponse
from protocols.oauth.errors import OAuthError

DAY = 86400
HOUR = 3600
MAX_TASK_READS = 4


@attrs.define(eq=False)
class RoutineStats:
    days: int = 0
    calls: int = 0
    failed: int = 0
    first_failure: str = ""


@attrs.define(eq=False)
class DailyRoutine:
    runtime: Runtime
    agent: str
    send: Callable[[HttpRequest], Awaitable[HttpResponse]] = attrs.field(repr=False)
    urls: Sequence[str]
    start: int
    reads_per_day: tuple[int, int] = (10, 15)
    hours: tuple[int, int] = (9, 18)
    stats: RoutineStats = attrs.field(factory=RoutineStats)
    _cancel: trio.CancelScope = attrs.field(factory=trio.CancelScope, init=False)

    def plan(self, day: int) -> list[tuple[int, int]]:
        """Day ``day``'s tasks as (epoch seconds, records to read), in time order (same seed and
        day, same plan)."""
        entropy = self.runtime.entropy_for(self.agent).child(f"routine:{day}")
        low, high = self.reads_per_day
        remaining = low + entropy.integer_below(high - low + 1)
        first, span = day * DAY + self.hours[0] * HOUR, (self.hours[1] - self.hours[0]) * HOUR
        tasks = []
        while remaining:
            size = min(remaining, 1 + entropy.integer_below(MAX_TASK_READS))
            tasks.append((first + entropy.integer_below(span), size))
            remaining -= size
        return sorted(tasks)

    async def read(self, day: int, index: int) -> None:
        entropy = self.runtime.entropy_for(self.agent).child(f"routine:{day}:{index}")
        url = self.urls[entropy.integer_below(len(self.urls))]
        self.stats.calls += 1
        try:
            response = await self.send(HttpRequest.get(url))
            failure = "" if response.status == 200 else f"HTTP {response.status}"
        except (OAuthError, Unreachable) as error:
            failure = type(error).__name__
        if failure:
            self.stats.failed += 1
            self.stats.first_failure = self.stats.first_failure or f"{self.runtime.clock.iso()} {failure}"

    async def run(self) -> None:
        with self._cancel:
            day = self.start // DAY
            while True:
                self.stats.days += 1
                index = 0
                for moment, size in self.plan(day):
                    if moment < self.start:
                        continue
                    await self.runtime.clock.sleep_until(moment)
                    for _ in range(size):
                        await self.read(day, index)
                        index += 1
                day += 1
                await self.runtime.clock.sleep_until(day * DAY)

    def stop(self) -> None:
        self._cancel.cancel()
