"""A client of the agent registry's SCIM API (RFC 7644), used by discovery, governance and scenarios.

Every call goes over the network; an error answer is raised as the matching ``ScimError``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import attrs

from actors.runtime.network import Network
from protocols.agent_registry import AGENT_SCHEMA
from protocols.http import HttpRequest, HttpResponse
from protocols.scim import PATCH_SCHEMA, CONTENT_TYPE, ScimError


@attrs.define(eq=False)
class RegistryClient:
    network: Network
    base_url: str
    token: str = attrs.field(repr=False)

    def _headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}", "accept": CONTENT_TYPE}

    async def _send(self, request: HttpRequest, *, ok: tuple[int, ...] = (200,)) -> Any:
        response: HttpResponse = await self.network.send(request)
        if response.status not in ok:
            raise ScimError.from_response(response)
        return response.json()

    async def create(self, resource: dict[str, Any]) -> dict[str, Any]:
        body = {"schemas": [AGENT_SCHEMA], **resource}
        request = HttpRequest(method="POST", url=self.base_url + "/Agents", body=json.dumps(body).encode(),
                              headers={**self._headers(), "content-type": CONTENT_TYPE})
        return await self._send(request, ok=(201,))

    async def get(self, agent_id: str) -> dict[str, Any]:
        return await self._send(HttpRequest.get(f"{self.base_url}/Agents/{quote(agent_id)}", headers=self._headers()))

    async def patch(self, agent_id: str, operations: list[dict[str, Any]]) -> dict[str, Any]:
        body = {"schemas": [PATCH_SCHEMA], "Operations": operations}
        request = HttpRequest(method="PATCH", url=f"{self.base_url}/Agents/{quote(agent_id)}",
                              body=json.dumps(body).encode(), headers={**self._headers(), "content-type": CONTENT_TYPE})
        return await self._send(request)

    async def replace(self, agent_id: str, **values: Any) -> dict[str, Any]:
        return await self.patch(agent_id, [{"op": "replace", "value": values}])

    async def query(self, scim_filter: str | None = None) -> list[dict[str, Any]]:
        url = self.base_url + "/Agents"
        if scim_filter:
            url += "?filter=" + quote(scim_filter)
        return (await self._send(HttpRequest.get(url, headers=self._headers())))["Resources"]

    async def history(self, agent_id: str) -> list[dict[str, Any]]:
        url = f"{self.base_url}/Agents/{quote(agent_id)}/History"
        return (await self._send(HttpRequest.get(url, headers=self._headers())))["history"]
