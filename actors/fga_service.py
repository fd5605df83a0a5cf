"""The fine-grained authorization service (SPEC.md capability 5): OpenFGA's HTTP API as an actor.

A thin shell around ``protocols.fga.server.FgaServer``: receive a request, let the sans-IO server
answer it (path parameters are matched there, so ``handle`` replaces the exact-path routes of
``HttpActor``), audit what it decided, reply. Every Check — including each item of a BatchCheck —
is audited as ``authz.allowed`` / ``authz.denied`` with the user as subject and the engine's
explanation as reason; a ListObjects call is one entry (how many objects, the first few); store,
model and tuple changes are audited as ``fga.*`` events. Refused requests answer OpenFGA's error
body (``{"code", "message"}`` with its status) and are logged, not audited.

The optional ``x-trustbench-agent`` request header names the agent on whose behalf a resource server
asks; it is recorded as the audit entry's ``agent`` and never influences a decision.

Storage: SQLite (``actors.storage.fga_stores``) when built with a path, memory otherwise.
Identifiers (store and model ULIDs) come from the actor's seeded entropy and the scenario clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from actors.runtime.actor import HttpActor
from actors.runtime.context import Runtime
from actors.storage.fga_stores import SqliteStoreBackend
from protocols.fga.api import error_from_response
from protocols.fga.api_requests import WriteRequest
from protocols.fga.errors import InternalError
from protocols.fga.json_form import model_to_json
from protocols.fga.language import load_model
from protocols.fga.server import ApiResult, FgaServer
from protocols.fga.stores import MemoryStoreBackend, StoreBackend
from protocols.fga.tuples import MAX_TUPLES_PER_WRITE, TupleKey
from protocols.http import HttpRequest, HttpResponse

AGENT_HEADER = "x-trustbench-agent"


@attrs.define(eq=False)
class FgaServiceActor(HttpActor):
    """OpenFGA-compatible authorization service; ``store_id`` is the store loaded by ``bootstrap``."""

    server: FgaServer | None = None
    store_id: str = ""
    model_id: str = ""

    @classmethod
    def build(cls, *, runtime: Runtime, name: str = "fga", db_path: str | Path | None = None) -> FgaServiceActor:
        backend: StoreBackend = SqliteStoreBackend(db_path) if db_path is not None else MemoryStoreBackend()
        server = FgaServer(backend=backend, entropy=runtime.entropy_for(name).child("ids"))
        return cls(name=name, runtime=runtime, base_url=runtime.network.base_url_for(name), server=server)

    async def handle(self, request: HttpRequest) -> HttpResponse:
        assert self.server is not None
        result = self.server.handle(request, now=self.runtime.clock.now_float())
        await self.record(result, agent=request.header(AGENT_HEADER))
        return result.response

    async def dispatch(self, request: HttpRequest) -> HttpResponse:
        """The error seam: the server answers every protocol error itself; anything else is a bug,
        logged and answered with OpenFGA's ``internal_error`` body."""
        try:
            return await self.handle(request)
        except Exception as error:  # noqa: BLE001 - the seam
            self.log.error("request.failed", path=request.path, error_type=type(error).__name__)
            return InternalError().to_response()

    async def record(self, result: ApiResult, *, agent: str | None) -> None:
        if result.error is not None:
            self.log.info("fga.request_rejected", operation=result.operation, code=result.error.code,
                          status=result.error.status, agent=agent)
            return
        for event in result.events:
            await self.audit(event.event, agent=agent, subject=event.subject, decision=event.decision,
                             reason=event.reason, **dict(event.details))

    # -- loading a world's authorization data -------------------------------------------------------
    async def bootstrap(self, *, store_name: str, model: str | Mapping[str, Any],
                        tuples: Iterable[TupleKey] = ()) -> str:
        """Create a store, write ``model`` (DSL or JSON) and ``tuples`` through the service's own
        mailbox and API (same handler, same audit as remote calls); returns the store id. The actor
        must be running."""
        created = await self._call("POST", "/stores", {"name": store_name})
        self.store_id = created["id"]
        source = model_to_json(load_model(model).model) if isinstance(model, str) else dict(model)
        written = await self._call("POST", f"/stores/{self.store_id}/authorization-models", source)
        self.model_id = written["authorization_model_id"]
        keys = list(tuples)
        for start in range(0, len(keys), MAX_TUPLES_PER_WRITE):
            chunk = tuple(keys[start:start + MAX_TUPLES_PER_WRITE])
            body = WriteRequest(writes=chunk, authorization_model_id=self.model_id).to_json()
            await self._call("POST", f"/stores/{self.store_id}/write", body)
        return self.store_id

    async def _call(self, method: str, path: str, payload: Any) -> Any:
        request = attrs.evolve(HttpRequest.json_post(url=self.url(path), payload=payload), method=method)
        response = await self.ask(request)
        body = response.json() if response.body else {}
        if response.status >= 300:
            raise error_from_response(response.status, body)
        return body
