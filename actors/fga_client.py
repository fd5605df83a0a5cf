"""An in-process client of the FGA service for other actors (MCP servers, RAG agents).

Speaks OpenFGA's HTTP API (``protocols.fga.api`` and ``api_requests`` shapes) through
``runtime.network.send``, so the same calls travel over the channel transport or real HTTP; it works
against a real OpenFGA server too. An error response raises the remote counterpart (``FgaError`` subclass with OpenFGA's code and
status); an unreachable service raises ``Unreachable``. Models written as DSL are converted to
JSON here, as OpenFGA's CLI does. ``agent`` (optional) is sent as ``x-trustbench-agent`` so the
service's audit entries name the agent a check is made for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from actors.fga_service import AGENT_HEADER
from actors.runtime.network import Network
from protocols.fga.api import error_from_response
from protocols.fga.api_requests import (
    BatchCheckRequest, CheckRequest, ListObjectsRequest, ListUsersRequest, WriteRequest,
)
from protocols.fga.check import MAX_CHECKS_PER_BATCH, BatchCheckItem, BatchCheckOutcome
from protocols.fga.errors import InternalError
from protocols.fga.json_form import model_to_json
from protocols.fga.language import load_model
from protocols.fga.tuples import TupleKey
from protocols.http import HttpRequest, MalformedBody


def user_from_json(user: Mapping[str, Any]) -> str:
    """A ListUsers ``User`` message as ``type:id`` / ``type:*`` / ``type:id#relation``."""
    if "object" in user:
        return f"{user['object']['type']}:{user['object']['id']}"
    if "userset" in user:
        u = user["userset"]
        return f"{u['type']}:{u['id']}#{u['relation']}"
    return f"{user['wildcard']['type']}:*"


@attrs.define(eq=False)
class FgaClient:
    """Calls one store of an FGA service at ``base_url``."""

    network: Network
    base_url: str
    store_id: str = ""
    authorization_model_id: str = ""
    agent: str = ""

    async def _call(self, method: str, path: str, payload: Any = None) -> Any:
        headers = {AGENT_HEADER: self.agent} if self.agent else {}
        url = self.base_url.rstrip("/") + path
        if payload is None:
            request = HttpRequest(method=method, url=url, headers=headers)
        else:
            request = attrs.evolve(HttpRequest.json_post(url=url, payload=payload, headers=headers), method=method)
        response = await self.network.send(request)
        try:
            body = response.json() if response.body else {}
        except MalformedBody:
            raise InternalError(f"the FGA service answered HTTP {response.status} with a body that is not JSON") \
                from None
        if response.status >= 300:
            raise error_from_response(response.status, body)
        return body

    def _store_path(self, suffix: str) -> str:
        if not self.store_id:
            raise ValueError("this client has no store id")
        return f"/stores/{self.store_id}{suffix}"

    # -- stores and models ----------------------------------------------------------------------
    @classmethod
    async def create_store(cls, *, network: Network, base_url: str, name: str, agent: str = "") -> FgaClient:
        """Create a store and return a client bound to it."""
        client = cls(network=network, base_url=base_url, agent=agent)
        created = await client._call("POST", "/stores", {"name": name})
        return attrs.evolve(client, store_id=created["id"])

    async def get_store(self) -> dict[str, Any]:
        return await self._call("GET", self._store_path(""))

    async def delete_store(self) -> None:
        await self._call("DELETE", self._store_path(""))

    async def write_model(self, model: str | Mapping[str, Any]) -> str:
        """Write a model (DSL text or JSON object); returns its id."""
        body = model_to_json(load_model(model).model) if isinstance(model, str) else dict(model)
        written = await self._call("POST", self._store_path("/authorization-models"), body)
        return written["authorization_model_id"]

    async def read_model(self, model_id: str) -> dict[str, Any]:
        return (await self._call("GET", self._store_path(f"/authorization-models/{model_id}")))["authorization_model"]

    # -- tuples ---------------------------------------------------------------------------------
    async def write(self, *, writes: Sequence[TupleKey] = (), deletes: Sequence[TupleKey] = (),
                    on_duplicate: str = "error", on_missing: str = "error") -> None:
        body = WriteRequest(writes=tuple(writes), deletes=tuple(deletes), on_duplicate=on_duplicate,
                            on_missing=on_missing, authorization_model_id=self.authorization_model_id).to_json()
        await self._call("POST", self._store_path("/write"), body)

    async def read(self, *, object: str = "", relation: str = "", user: str = "", page_size: int | None = None,
                   continuation_token: str = "") -> tuple[list[TupleKey], str]:
        """One page of stored tuples matching the filters, and the next page's token."""
        body: dict[str, Any] = {}
        if object or relation or user:
            body["tuple_key"] = {"object": object, "relation": relation, "user": user}
        if page_size is not None:
            body["page_size"] = page_size
        if continuation_token:
            body["continuation_token"] = continuation_token
        answer = await self._call("POST", self._store_path("/read"), body)
        return [TupleKey.from_json(t["key"]) for t in answer["tuples"]], answer["continuation_token"]

    # -- queries --------------------------------------------------------------------------------
    async def check(self, *, user: str, relation: str, object: str, contextual_tuples: Sequence[TupleKey] = (),
                    context: Mapping[str, Any] | None = None) -> bool:
        body = CheckRequest(tuple_key=TupleKey(user=user, relation=relation, object=object),
                            contextual_tuples=tuple(contextual_tuples), context=context,
                            authorization_model_id=self.authorization_model_id).to_json()
        return bool((await self._call("POST", self._store_path("/check"), body)).get("allowed", False))

    async def batch_check(self, items: Sequence[BatchCheckItem]) -> dict[str, BatchCheckOutcome]:
        """Every item's outcome by correlation id (requests of at most 50 checks, as OpenFGA's SDKs do)."""
        out: dict[str, BatchCheckOutcome] = {}
        for start in range(0, len(items), MAX_CHECKS_PER_BATCH):
            chunk = tuple(items[start:start + MAX_CHECKS_PER_BATCH])
            body = BatchCheckRequest(checks=chunk, authorization_model_id=self.authorization_model_id).to_json()
            answer = await self._call("POST", self._store_path("/batch-check"), body)
            for cid, result in answer.get("result", {}).items():
                error = result.get("error")
                if error:
                    code = error.get("input_error") or error.get("internal_error") or ""
                    failure = error_from_response(400 if error.get("input_error") else 500,
                                                  {"code": code, "message": error.get("message", "")})
                    out[cid] = BatchCheckOutcome(correlation_id=cid, error=failure)
                else:
                    out[cid] = BatchCheckOutcome(correlation_id=cid, allowed=bool(result.get("allowed", False)))
        return out

    async def list_objects(self, *, type: str, relation: str, user: str, contextual_tuples: Sequence[TupleKey] = (),
                           context: Mapping[str, Any] | None = None) -> list[str]:
        body = ListObjectsRequest(type=type, relation=relation, user=user, contextual_tuples=tuple(contextual_tuples),
                                  context=context, authorization_model_id=self.authorization_model_id).to_json()
        return list((await self._call("POST", self._store_path("/list-objects"), body)).get("objects", []))

    async def list_users(self, *, object: str, relation: str, user_filter: str,
                         contextual_tuples: Sequence[TupleKey] = (),
                         context: Mapping[str, Any] | None = None) -> list[str]:
        """Users (``type:id``, ``type:*``, ``type:id#rel``) matching ``user_filter`` (``type`` or ``type#rel``)."""
        ftype, _, frel = user_filter.partition("#")
        flt = {"type": ftype, **({"relation": frel} if frel else {})}
        body = ListUsersRequest(object=object, relation=relation, user_filters=(flt,),
                                contextual_tuples=tuple(contextual_tuples), context=context,
                                authorization_model_id=self.authorization_model_id).to_json()
        answer = await self._call("POST", self._store_path("/list-users"), body)
        return [user_from_json(u) for u in answer.get("users", [])]
