"""``trustbench serve``: every actor of a world on 127.0.0.1 with the real clock, until interrupted.

Outside clients (curl, an OIDC library, the MCP SDK) can talk to the printed URLs. The audit log and
the structured log go to the serve directory; keys and ids come from the operating system's
randomness unless ``--seed`` is given.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import trio

from actors.audit_log import AuditLog, AuditStore
from actors.runtime.clock import ScenarioClock
from actors.runtime.context import Runtime
from actors.runtime.logging import configure_logging
from actors.runtime.network import Network, Transport
from actors.runtime.secrets import SecretRegistry
from scenarios import sales_agent
from scenarios.world import World


async def _serve(world: World, seed: int | bytes, out_dir: Path, ready: trio.Event | None = None,
                 services: list | None = None) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    clock = ScenarioClock.wall()
    secrets = SecretRegistry()
    store = AuditStore(path=out_dir / "audit.sqlite")
    with (out_dir / "trustbench.log").open("a", encoding="utf-8") as log_stream:
        configure_logging(clock=clock, secrets=secrets, stream=log_stream)
        audit = AuditLog(store=store, clock=clock, secrets=secrets)
        runtime = Runtime(seed=seed, clock=clock, network=Network(transport=Transport.HTTP, simulated_time=False),
                          secrets=secrets, audit=audit)
        async with trio.open_nursery() as nursery:
            await nursery.start(audit.run)
            cast = await sales_agent.start_cast(world=world, runtime=runtime, nursery=nursery)
            rows = cast.services()
            if services is not None:
                services.extend(rows)
            width = max(len(name) for name, _, _ in rows)
            print(f"trustbench serving {world.name} (audit log: {out_dir / 'audit.sqlite'}); Ctrl-C to stop")
            for name, base, discovery in rows:
                print(f"  {name:<{width}}  {base}" + (f"  discovery: {discovery}" if discovery else ""))
            sys.stdout.flush()
            if ready is not None:
                ready.set()
    store.close()


def serve_world(world: World, *, seed: int | None, out_dir: Path = Path("runs/serve")) -> None:
    """Serve until Ctrl-C (``KeyboardInterrupt`` ends ``trio.run``)."""
    try:
        trio.run(_serve, world, seed if seed is not None else os.urandom(32), out_dir)
    except* KeyboardInterrupt:
        print("stopped")
