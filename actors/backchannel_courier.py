"""The identity provider's CIBA courier: delivers what ``protocols.oidc.backchannel`` queued —
approval prompts to authentication devices, e-mails, pings (CIBA §10.2) and pushes (§10.3, §12) to
clients — and ends requests whose time is up. It is a child task of the IdP actor (a
``companion``), so a slow or failing client never blocks the IdP's mailbox (DESIGN.md §3).

Each message is delivered once, in the order it was queued; the outcome (delivered, refused with
an HTTP status, unreachable) goes back to the sans-IO core and into the audit log. A failed ping
leaves the request answerable by polling; a failed push ends it (``failed``) and the IdP revokes
the tokens the push carried (a push client may not poll, CIBA §10.3: it can only ask again).

Timing (DESIGN.md §2): the courier acts ``DISPATCH_DELAY`` of scenario time after the request
that queued the work and sweeps an expiry ``EXPIRY_LAG`` after its deadline, so its deliveries
never race the exchange that caused them and every run orders its events the same way.
"""

from __future__ import annotations

import math

import attrs
import trio

from actors.oidc_provider import OidcProviderActor
from actors.runtime.network import Unreachable
from protocols.oidc.backchannel import Backchannel

DISPATCH_DELAY = 0.001
EXPIRY_LAG = 0.003


@attrs.define(eq=False)
class BackchannelCourier:
    idp: OidcProviderActor
    backchannel: Backchannel
    delivered_count: int = attrs.field(default=0, init=False)
    _wake: trio.Event = attrs.field(factory=trio.Event, init=False, repr=False)

    @classmethod
    def attach(cls, *, idp: OidcProviderActor, backchannel: Backchannel) -> BackchannelCourier:
        """Create the courier and make it a companion of ``idp`` (started and woken with it)."""
        courier = cls(idp=idp, backchannel=backchannel)
        idp.companions.append(courier)
        return courier

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        clock = self.idp.runtime.clock
        while True:
            if self.backchannel.has_outbox():
                await trio.sleep(DISPATCH_DELAY)
                await self._deliver_all()
                continue
            deadline = self.backchannel.next_deadline()
            timeout = math.inf if deadline is None else max(0.0, deadline + EXPIRY_LAG - clock.now_float())
            with trio.move_on_after(timeout):
                await self._wake.wait()
            self._wake = trio.Event()
            if deadline is not None and clock.now() >= deadline:
                for outcome in self.backchannel.expire_due(now=clock.now()):
                    await self.idp.record(outcome)

    async def _deliver_all(self) -> None:
        runtime = self.idp.runtime
        for item in self.backchannel.take_outbox():
            try:
                response = await runtime.network.send(item.request)
                status: int | None = response.status
            except Unreachable:
                status = None
            self.delivered_count += 1
            await self.idp.record(self.backchannel.delivered(item, status=status, now=runtime.clock.now()))
