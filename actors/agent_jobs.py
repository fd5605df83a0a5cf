"""An agent's background jobs: the machine traffic that discovery later sees in provider logs and
that rotations must never interrupt.

- ``DatabaseBatchJob``: a nightly (or any cadence) batch of queries against a database, with the
  password from the privileged-credential vault (or a static one). Every query is counted as
  succeeded or failed — what the data-pipeline scenario proves stays at zero failures.
- ``ApiPollingJob``: an integration that calls a SaaS API at a fixed cadence with a service
  account (``client_credentials``) — the shadow sales agent before it is registered.

Each job runs as a child task of the cast's nursery and stops with it (or with ``stop()``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import attrs
import trio

from actors.runtime.context import Runtime
from actors.saas.database import basic
from actors.service_client import ClientCredentialsClient
from protocols.http import HttpRequest
from protocols.oauth.errors import OAuthError

PasswordSource = Callable[[], Awaitable[tuple[str, int]]]


@attrs.define(eq=False)
class JobStats:
    runs: int = 0
    calls: int = 0
    failed: int = 0
    versions_used: list[int] = attrs.field(factory=list)
    failures: list[str] = attrs.field(factory=list)


@attrs.define(eq=False)
class DatabaseBatchJob:
    runtime: Runtime
    agent: str
    database_url: str
    account: str
    password: PasswordSource = attrs.field(repr=False)
    queries: Sequence[dict[str, Any]]
    first_at: int
    every: int
    stats: JobStats = attrs.field(factory=JobStats)
    _cancel: trio.CancelScope = attrs.field(factory=trio.CancelScope, init=False)

    async def run_once(self) -> None:
        self.stats.runs += 1
        for query in self.queries:
            self.stats.calls += 1
            try:
                password, version = await self.password()
            except OAuthError as error:
                self.stats.failed += 1
                self.stats.failures.append(f"{self.runtime.clock.iso()} vault: {error.error}")
                continue
            response = await self.runtime.network.send(HttpRequest(
                method="POST", url=self.database_url + "/query", body=json.dumps(query).encode(),
                headers={"authorization": basic(self.account, password), "content-type": "application/json"}))
            if response.status != 200:
                self.stats.failed += 1
                self.stats.failures.append(f"{self.runtime.clock.iso()} HTTP {response.status}")
            elif not self.stats.versions_used or self.stats.versions_used[-1] != version:
                self.stats.versions_used.append(version)

    async def run(self) -> None:
        with self._cancel:
            await self.runtime.clock.sleep_until(self.first_at)
            while True:
                await self.run_once()
                await trio.sleep(self.every)

    def stop(self) -> None:
        self._cancel.cancel()


@attrs.define(eq=False)
class ApiPollingJob:
    runtime: Runtime
    agent: str
    client: ClientCredentialsClient
    urls: Sequence[str]
    every: int
    first_delay: int = 0
    stats: JobStats = attrs.field(factory=JobStats)
    _cancel: trio.CancelScope = attrs.field(factory=trio.CancelScope, init=False)

    async def run_once(self) -> None:
        self.stats.runs += 1
        for url in self.urls:
            self.stats.calls += 1
            try:
                response = await self.client.send(HttpRequest.get(url))
            except OAuthError as error:
                self.stats.failed += 1
                self.stats.failures.append(f"{self.runtime.clock.iso()} token: {error.error}")
                continue
            if response.status != 200:
                self.stats.failed += 1
                self.stats.failures.append(f"{self.runtime.clock.iso()} HTTP {response.status}")

    async def run(self) -> None:
        with self._cancel:
            await trio.sleep(self.first_delay)
            while True:
                await self.run_once()
                await trio.sleep(self.every)

    def stop(self) -> None:
        self._cancel.cancel()
