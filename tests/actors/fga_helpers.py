"""Shared pieces of the FGA service tests: a running service on either transport and a model."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager

import attrs

from actors.fga_client import FgaClient
from actors.fga_service import FgaServiceActor
from actors.runtime.network import Transport
from protocols.fga import TupleKey
from protocols.http import HttpRequest, HttpResponse
from tests.actors.runtime.helpers import running_runtime

MODEL = """model
  schema 1.1
type user
type group
  relations
    define member: [user, group#member]
type folder
  relations
    define owner: [user]
    define parent: [folder]
    define viewer: [user, user:*, group#member] or owner or viewer from parent
type document
  relations
    define parent: [folder]
    define blocked: [user]
    define editor: [user, user with in_hours]
    define viewer: (editor or viewer from parent) but not blocked
condition in_hours(hour: int) {
  hour >= 8 && hour < 18
}
"""

TUPLES = [
    TupleKey(user="user:anne", relation="member", object="group:eng"),
    TupleKey(user="group:eng#member", relation="viewer", object="folder:plans"),
    TupleKey(user="folder:plans", relation="parent", object="document:roadmap"),
    TupleKey(user="folder:plans", relation="parent", object="document:budget"),
    TupleKey(user="user:bob", relation="owner", object="folder:plans"),
    TupleKey(user="user:anne", relation="blocked", object="document:budget"),
    TupleKey(user="user:*", relation="viewer", object="folder:public"),
    TupleKey(user="folder:public", relation="parent", object="document:handbook"),
]


def tk(user: str, relation: str, obj: str) -> TupleKey:
    return TupleKey(user=user, relation=relation, object=obj)


@attrs.define(eq=False)
class Service:
    """A running FGA service plus helpers to call it raw (bytes in, status + JSON out)."""

    runtime: object
    actor: FgaServiceActor

    @property
    def network(self):
        return self.runtime.network

    def client(self, store_id: str = "", **kw) -> FgaClient:
        return FgaClient(network=self.network, base_url=self.actor.base_url, store_id=store_id, **kw)

    async def raw(self, method: str, path: str, body: bytes | None = None, *,
                  content_type: str = "application/json", headers: dict | None = None) -> HttpResponse:
        all_headers = {"content-type": content_type, **(headers or {})} if body is not None else dict(headers or {})
        request = HttpRequest(method=method, url=self.actor.url(path), headers=all_headers, body=body or b"")
        return await self.network.send(request)

    async def call(self, method: str, path: str, payload=None, **kw) -> tuple[int, object]:
        body = None if payload is None else json.dumps(payload).encode()
        response = await self.raw(method, path, body, **kw)
        return response.status, (response.json() if response.body else None)

    def audit(self, *events: str) -> list:
        return [e for e in self.runtime.audit.store.entries() if not events or e.event in events]


@asynccontextmanager
async def running_service(transport: Transport, *, db_path=None, seed: int = 7):
    async with running_runtime(transport, seed=seed) as (runtime, nursery, _log):
        actor = FgaServiceActor.build(runtime=runtime, name="fga", db_path=db_path)
        runtime.network.register(actor)
        await nursery.start(actor.run)
        await nursery.start(runtime.network.serve)
        yield Service(runtime=runtime, actor=actor)


async def loaded_store(service: Service, *, model: str = MODEL, tuples=TUPLES) -> FgaClient:
    """A store with ``model`` and ``tuples`` written through the client; the returned client is bound to it."""
    client = await FgaClient.create_store(network=service.network, base_url=service.actor.base_url, name="tests")
    await client.write_model(model)
    if tuples:
        await client.write(writes=tuples)
    return client
