"""An agent's everyday work as real API calls: a few customer records read each working day.

``DailyRoutine`` is the normal behaviour the threat detector learns its baseline from (SPEC phase
8: "a baseline of 10–15 a day"). From ``start``, each simulated day it draws how many records to
read (uniform in ``reads_per_day``) and when (uniform within ``hours``, UTC) from the run's seeded
entropy, sleeps until each moment and makes one real API call through ``send`` (the agent's own
authenticated client, e.g. a ``ClientCredentialsClient`` leasing its secret from the vault). Calls
are counted (``stats``); a refusal is recorded, never retried in a loop. Idle time costs nothing:
the task sleeps in simulated time between calls.
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

    def plan(self, day: int) -> list[int]:
        """The epoch seconds of day ``day``'s reads (same seed and day, same plan)."""
        entropy = self.runtime.entropy_for(self.agent).child(f"routine:{day}")
        low, high = self.reads_per_day
        count = low + entropy.integer_below(high - low + 1)
        first, span = day * DAY + self.hours[0] * HOUR, (self.hours[1] - self.hours[0]) * HOUR
        return sorted(first + entropy.integer_below(span) for _ in range(count))

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
                for index, moment in enumerate(self.plan(day)):
                    if moment < self.start:
                        continue
                    await self.runtime.clock.sleep_until(moment)
                    await self.read(day, index)
                day += 1
                await self.runtime.clock.sleep_until(day * DAY)

    def stop(self) -> None:
        self._cancel.cancel()
