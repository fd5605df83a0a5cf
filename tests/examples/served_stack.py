"""A served sales-agent stack for outside clients: every actor on 127.0.0.1 with the real clock,
Sarah signed in to the agent, and what an outside client of the agent would hold written to a
directory (the agent's two private keys as PEM, Sarah's ID token, the URLs), then ``ready.json``.

Run as ``python -m tests.examples.served_stack OUT_DIR``; it serves until terminated.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import trio
from cryptography.hazmat.primitives import serialization

from actors.agent import LOGIN_PATH
from actors.audit_log import AuditLog, AuditStore
from actors.browser import Navigate
from actors.runtime.clock import ScenarioClock
from actors.runtime.context import Runtime
from actors.runtime.logging import configure_logging
from actors.runtime.network import Network, Transport
from actors.runtime.secrets import SecretRegistry
from scenarios.library import SCENARIOS
from scenarios.sales_agent import start_cast
from scenarios.world import load_world

AGENT = "sales-agent-prod-001"


def pem(private_key) -> bytes:
    return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())


async def serve(out: Path) -> None:
    world = load_world(SCENARIOS["sales-agent"].world_file)
    clock = ScenarioClock.wall()
    secrets = SecretRegistry()
    with (out / "stack.log").open("w", encoding="utf-8") as log:
        configure_logging(clock=clock, secrets=secrets, stream=log)
        audit = AuditLog(store=AuditStore(path=out / "audit.sqlite"), clock=clock, secrets=secrets)
        runtime = Runtime(seed=11, clock=clock, network=Network(transport=Transport.HTTP, simulated_time=False),
                          secrets=secrets, audit=audit)
        async with trio.open_nursery() as nursery:
            await nursery.start(audit.run)
            cast = await start_cast(world=world, runtime=runtime, nursery=nursery)
            agent = cast.agents[AGENT]
            result = await cast.browsers["sarah"].ask(Navigate(url=agent.url(LOGIN_PATH)))
            if result.status != 200 or not agent.delegations:
                raise SystemExit(f"sign-in failed: {result.problem or result.status}")
            delegation = next(iter(agent.delegations.values()))
            client = cast.cross_domain.client(agent=AGENT, target=world.pricing.authorization_server)
            (out / "agent.pem").write_bytes(pem(agent.signing_key.private_key))
            (out / "agent-at-pricing.pem").write_bytes(pem(client.registration.signing_key.private_key))
            (out / "id_token.txt").write_text(delegation.id_token)
            info = {"idp": cast.idp.base_url, "client_id": agent.client_id,
                    "resource_as": cast.cross_domain.pricing_as.base_url,
                    "resource_as_client_id": client.registration.client_id, "resource": world.pricing.resource,
                    "api": cast.cross_domain.pricing_api.url("/prices/enterprise-tier"),
                    "secrets": sorted(set(secrets))}
            (out / "ready.tmp").write_text(json.dumps(info))
            (out / "ready.tmp").replace(out / "ready.json")  # atomic: the test polls for it
            await trio.sleep_forever()


if __name__ == "__main__":
    trio.run(serve, Path(sys.argv[1]))
