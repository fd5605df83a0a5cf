"""An attacker holding an agent's stolen credentials (SPEC phase 8, the customer-service drill).

The attacker first tries each stolen credential once (``Probe``: what does the loot open?), then
reads customer records one call at a time, as fast as the API allows (``records`` calls spread over
``duration`` seconds), with the first stolen credential that still works. Once a
call is refused it keeps trying: every ``retry_every`` seconds, for ``retry_rounds`` rounds, it
tries every stolen credential (``Probe``) against the system it belongs to — a stolen access token
replayed, a refresh token or client secret redeemed for a new token, a client assertion signed
with the stolen key. Every attempt is recorded with its time, its HTTP status, the records it
returned and the audit sequence number it completed at, so the phase can say exactly what was
read before containment and prove that nothing succeeded after it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import attrs
import trio

from actors.runtime.actor import Actor
from actors.runtime.network import Unreachable


@attrs.frozen(kw_only=True)
class ProbeResult:
    status: int
    records: int = 0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@attrs.frozen(kw_only=True)
class Probe:
    """One stolen credential used against one system; ``attempt(i)`` makes one call (``i`` numbers
    the record to read) and reports what came back."""

    credential: str
    receiver: str
    attempt: Callable[[int], Awaitable[ProbeResult]] = attrs.field(eq=False)
    reconnoitre: bool = True
    """Tried in the first round, before any reading (else only once the reading is refused)."""


@attrs.frozen(kw_only=True)
class Attempt:
    time: float
    seq: int
    credential: str
    receiver: str
    status: int
    records: int

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@attrs.frozen(kw_only=True)
class Exfiltrate:
    """The attack: read with ``readers`` (first that works), then retry with every ``probes``."""

    readers: Sequence[Probe]
    probes: Sequence[Probe]
    records: int
    duration: float
    retry_every: float
    retry_rounds: int


@attrs.frozen(kw_only=True)
class AttackReport:
    started_at: float
    finished_at: float
    attempts: tuple[Attempt, ...]

    @property
    def records_read(self) -> int:
        return sum(a.records for a in self.attempts if a.ok)

    def read_before(self, seq: int) -> int:
        """Records read by calls that completed before audit entry ``seq`` was committed."""
        return sum(a.records for a in self.attempts if a.ok and a.seq < seq)

    def after(self, seq: int) -> tuple[Attempt, ...]:
        """Attempts that completed once audit entry ``seq`` (the containment) was committed."""
        return tuple(a for a in self.attempts if a.seq >= seq)


@attrs.define(eq=False)
class AttackerActor(Actor):
    """Not a network service: it only makes requests. ``ask(Exfiltrate(...))`` runs the attack."""

    async def on_message(self, message: Any) -> Any:
        if isinstance(message, Exfiltrate):
            return await self.exfiltrate(message)
        raise TypeError(f"{self.name} does not understand {type(message).__name__}")

    async def _try(self, probe: Probe, index: int, *, attempts: list[Attempt]) -> bool:
        try:
            result = await probe.attempt(index)
        except Unreachable:
            result = ProbeResult(status=0)
        attempts.append(Attempt(time=self.runtime.clock.now_float(), seq=self.runtime.audit.store.last()[0],
                                credential=probe.credential, receiver=probe.receiver, status=result.status,
                                records=result.records if result.ok else 0))
        return result.ok

    async def exfiltrate(self, plan: Exfiltrate) -> AttackReport:
        started = self.runtime.clock.now_float()
        attempts: list[Attempt] = []
        pace = plan.duration / max(1, plan.records)
        self.log.warning("attack.started", records=plan.records, duration=plan.duration)
        for probe in plan.probes:  # first, what does the loot open?
            if probe.reconnoitre:
                await self._try(probe, 0, attempts=attempts)
        refused = False
        for index in range(plan.records):
            for reader in plan.readers:
                if await self._try(reader, index, attempts=attempts):
                    break
            else:
                refused = True
                break
            await trio.sleep(pace)
        if refused:
            for round_number in range(plan.retry_rounds):
                await trio.sleep(plan.retry_every)
                for probe in plan.probes:
                    await self._try(probe, round_number, attempts=attempts)
        report = AttackReport(started_at=started, finished_at=self.runtime.clock.now_float(), attempts=tuple(attempts))
        self.log.warning("attack.finished", records_read=report.records_read, attempts=len(attempts))
        return report
