"""A caller of the traditional systems (the agent, a shadow script or an attacker holding their keys).

It puts the static key (or a bearer token) and the claimed user on every request and remembers what
it sent — ``sent`` is the ground truth an audit-completeness measurement compares the systems' logs
against. Secrets stay out of ``sent`` and of ``repr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from actors.runtime.context import Runtime
from actors.traditional.legacy_app import KEY_HEADER, USER_HEADER
from protocols.http import HttpRequest, HttpResponse


@attrs.frozen(kw_only=True)
class SentRequest:
    """One request as the caller knows it: when, to which system (actor name), what, the answer."""

    time: int
    system: str
    method: str
    path: str
    status: int
    records: int = 0


@attrs.define(eq=False)
class LegacyClient:
    runtime: Runtime
    system: str
    """The actor name of the system this client talks to."""
    base_url: str
    key: str | None = attrs.field(default=None, repr=False)
    bearer: str | None = attrs.field(default=None, repr=False)
    on_behalf_of: str | None = None
    sent: list[SentRequest] = attrs.field(factory=list)

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.key is not None:
            headers[KEY_HEADER] = self.key
        if self.bearer is not None:
            headers["authorization"] = f"Bearer {self.bearer}"
        if self.on_behalf_of is not None:
            headers[USER_HEADER] = self.on_behalf_of
        headers.update(extra or {})
        return headers

    async def send(self, request: HttpRequest) -> HttpResponse:
        time = self.runtime.clock.now()
        response = await self.runtime.network.send(request)
        records = 0
        if response.status < 300 and response.header("content-type") == "application/json":
            records = _records(response.json())
        self.sent.append(SentRequest(time=time, system=self.system, method=request.method,
                                     path=request.path, status=response.status, records=records))
        return response

    async def get(self, path: str) -> HttpResponse:
        return await self.send(HttpRequest.get(self.base_url + path, headers=self._headers()))

    async def post(self, path: str, *, json: Any) -> HttpResponse:
        return await self.send(HttpRequest.json_post(url=self.base_url + path, payload=json, headers=self._headers()))

    async def put(self, path: str, *, json: Any) -> HttpResponse:
        request = HttpRequest.json_post(url=self.base_url + path, payload=json, headers=self._headers())
        return await self.send(HttpRequest(method="PUT", url=request.url, headers=request.headers, body=request.body))

    async def form(self, path: str, data: Mapping[str, str]) -> HttpResponse:
        return await self.send(HttpRequest.form_post(url=self.base_url + path, params=data, headers=self._headers()))

    @property
    def records_received(self) -> int:
        return sum(r.records for r in self.sent)


def _records(body: Any) -> int:
    """Records a traditional system handed out in one answer (customers, documents' contents, prices)."""
    if not isinstance(body, dict):
        return 0
    for key in ("customers", "contents"):
        if isinstance(body.get(key), list):
            return len(body[key])
    if isinstance(body.get("prices"), dict):
        return len(body["prices"])
    if "body" in body and "uri" in body:
        return 1
    return 1 if "email" in body and "territory" in body else 0
