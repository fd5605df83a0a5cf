"""The stage of an attack (issue 11): the sales-agent world's cast, started in a fresh runtime
(simulated clock, in-memory hash-chained audit log, seeded entropy), plus the adversary.

Each attack starts one and drives the same real actors the scenarios use (IdP, MCP servers,
FGA, pricing AS and API, vault, SaaS providers, CIBA, registry and discovery, SSF receivers):
nothing is stubbed. ``extra`` actors (e.g. a second resource authorization server) are put on the
network before it serves, so both transports reach them.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import attrs
import trio

from actors.adversary import Adversary
from actors.agent import LOGIN_PATH, Delegation
from actors.audit_log import AuditLog, AuditStore
from actors.browser import Navigate
from actors.mcp_client import McpAgentClient
from actors.runtime.actor import HttpActor
from actors.runtime.clock import ScenarioClock
from actors.runtime.context import Runtime
from actors.runtime.logging import configure_logging
from actors.runtime.network import Network, Transport
from actors.runtime.secrets import SecretRegistry
from scenarios import sales_agent
from scenarios.library import SCENARIOS
from scenarios.sales_agent import SalesCast
from scenarios.world import World, load_world

AGENT = "sales-agent-prod-001"
_WORLD: list[World] = []


def sales_world() -> World:
    """The sales-agent world file (parsed once per process)."""
    if not _WORLD:
        _WORLD.append(load_world(SCENARIOS["sales-agent"].world_file))
    return _WORLD[0]


@attrs.define(eq=False)
class Stage:
    cast: SalesCast
    runtime: Runtime
    nursery: trio.Nursery
    adversary: Adversary
    log: io.StringIO
    _mcp: McpAgentClient | None = attrs.field(default=None, init=False, repr=False)

    @property
    def world(self) -> World:
        return self.cast.world

    @property
    def mcp(self) -> McpAgentClient:
        """The agent's one MCP client (one seeded stream of client-assertion ids per agent)."""
        if self._mcp is None:
            self._mcp = McpAgentClient(agent=self.cast.agents[AGENT])
        return self._mcp

    async def sign_in(self, user: str = "sarah", agent: str = AGENT) -> Delegation:
        """``user`` opens the agent and signs in (phase 2's journey); returns the agent's delegation."""
        actor = self.cast.agents[agent]
        result = await self.cast.browsers[user].ask(Navigate(url=actor.url(LOGIN_PATH)))
        email = self.world.person(user).email
        delegation = next((d for d in actor.delegations.values() if d.email == email), None)
        if delegation is None or result.status != 200:
            raise RuntimeError(f"{user} could not sign in at {agent}: {result.problem or result.status}")
        return delegation


def transport_of(name: str) -> Transport:
    return Transport(name)


@asynccontextmanager
async def fresh_runtime(*, seed: int, transport: str) -> AsyncIterator[tuple[Runtime, trio.Nursery, io.StringIO]]:
    """A runtime of its own for one attack run: simulated clock at the sales world's epoch,
    in-memory audit log, structured log kept in memory; everything is cancelled on exit."""
    world = sales_world()
    clock = ScenarioClock.simulated(epoch=world.epoch)
    clock.start()
    secrets = SecretRegistry()
    log = io.StringIO()
    configure_logging(clock=clock, secrets=secrets, stream=log)
    audit = AuditLog(store=AuditStore(path=None), clock=clock, secrets=secrets)
    runtime = Runtime(seed=seed, clock=clock, network=Network(transport=transport_of(transport)), secrets=secrets,
                      audit=audit)
    async with trio.open_nursery() as nursery:
        await nursery.start(audit.run)
        yield runtime, nursery, log
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def stage(*, seed: int, transport: str,
                extra: Callable[[Runtime], Sequence[HttpActor]] | None = None) -> AsyncIterator[Stage]:
    """The unified configuration: the sales cast (and ``extra`` actors) in a fresh runtime."""
    async with fresh_runtime(seed=seed, transport=transport) as (runtime, nursery, log):
        for actor in extra(runtime) if extra is not None else ():
            runtime.network.register(actor)
            await nursery.start(actor.run)
        cast = await sales_agent.start_cast(world=sales_world(), runtime=runtime, nursery=nursery)
        yield Stage(cast=cast, runtime=runtime, nursery=nursery, adversary=Adversary(runtime=runtime), log=log)
