"""A small runtime for actor tests: both transports, in-memory audit, simulated clock."""

from __future__ import annotations

import io
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import trio

from actors.audit_log import AuditLog, AuditStore
from actors.runtime.clock import ScenarioClock
from actors.runtime.context import Runtime
from actors.runtime.logging import configure_logging
from actors.runtime.network import Network, Transport
from actors.runtime.secrets import SecretRegistry

EPOCH = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


@asynccontextmanager
async def running_runtime(transport: Transport, *, seed: int = 7):
    clock = ScenarioClock.simulated(epoch=EPOCH)
    clock.start()
    secrets = SecretRegistry()
    log = io.StringIO()
    configure_logging(clock=clock, secrets=secrets, stream=log)
    audit = AuditLog(store=AuditStore(path=None), clock=clock, secrets=secrets)
    runtime = Runtime(seed=seed, clock=clock, network=Network(transport=transport), secrets=secrets, audit=audit)
    async with trio.open_nursery() as nursery:
        await nursery.start(audit.run)
        yield runtime, nursery, log
        nursery.cancel_scope.cancel()
