"""What the control-plane services share: administrators' bearer tokens and a self-scheduling loop.

- ``OperatorTokens``: bearer tokens (RFC 6750 §2.1) a service issues to its operators, kept only
  as SHA-256 digests and compared in constant time; every issued token is registered as a run
  secret so it is redacted from logs and reports.
- ``ScheduledActor``: an ``HttpActor`` with a child task that sleeps until ``next_due()`` (or until
  ``changed()`` wakes it) and then hands a tick to the mailbox, so due work (rotations, reminders,
  expiries) runs in simulated time in the actor's own task, between requests.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import attrs
import trio

from actors.runtime.actor import HttpActor
from actors.runtime.context import Runtime
from protocols.http import HttpRequest
from protocols.oauth.errors import InvalidToken


@attrs.define(eq=False)
class OperatorTokens:
    """Bearer tokens for the administrators of the service ``owner``."""

    runtime: Runtime
    owner: str
    prefix: str
    _digests: list[bytes] = attrs.field(factory=list, init=False, repr=False)

    def issue(self) -> str:
        token = self.prefix + self.runtime.entropy_for(self.owner).child(f"operator-{len(self._digests)}").token(24)
        self.runtime.secrets.add(token)
        self._digests.append(hashlib.sha256(token.encode()).digest())
        return token

    def check(self, request: HttpRequest, *, what: str) -> None:
        """``InvalidToken`` (401) unless the request carries one of our operator tokens."""
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        digest = hashlib.sha256(token.strip().encode()).digest()
        if scheme.lower() != "bearer" or not any(hmac.compare_digest(digest, known) for known in self._digests):
            raise InvalidToken(f"{what} operator token is required")


@attrs.frozen
class _Tick:
    """The scheduler's nudge: process whatever is due now."""


@attrs.define(eq=False)
class ScheduledActor(HttpActor):
    """Subclasses implement ``next_due()`` (epoch seconds, ``inf`` for nothing) and ``process_due()``."""

    _wake: trio.Event = attrs.field(factory=trio.Event, init=False, repr=False)

    def next_due(self) -> float:
        return float("inf")

    async def process_due(self) -> None:
        return None

    def changed(self) -> None:
        """Something due may have moved: let the scheduler look again."""
        self._wake.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(super().run)
            nursery.start_soon(self._scheduler)
            task_status.started()

    async def _scheduler(self) -> None:
        while True:
            wait = self.next_due() - self.runtime.clock.now_float()
            if wait > 0:
                with trio.move_on_after(wait):
                    await self._wake.wait()
                self._wake = trio.Event()
            await self.ask(_Tick())
            if self.next_due() <= self.runtime.clock.now_float():
                await trio.sleep(1)  # nothing more could be done now: never spin

    async def on_message(self, message: Any) -> Any:
        if isinstance(message, _Tick):
            await self.process_due()
            return None
        return await super().on_message(message)
