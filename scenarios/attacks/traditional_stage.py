"""The traditional configuration of an attack (issue 11, "traditional vs unified"): the legacy
systems of ``scenarios.traditional`` (static API keys in config, app-level checks only, no
approval, no behavioural detection, one log per system) started in a fresh runtime.

The adversary's requests go through ``LegacyClient``s opened with :meth:`TraditionalStage.adversary`
(their ``sent`` lists are the ground truth); what legitimate users do first (sign in, sign out)
uses clients that are not counted. The outcome is measured from the legacy systems' answers and
their own logs (``scenarios.traditional.audit_coverage.legacy_coverage``: the best single log).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import attrs
import trio

from actors.runtime.context import Runtime
from actors.traditional.client import LegacyClient
from scenarios.attacks.cast import fresh_runtime, sales_world
from scenarios.attacks.outcome import AttackOutcome
from scenarios.traditional import TraditionalCast, start_traditional_cast
from scenarios.traditional.audit_coverage import legacy_coverage

APP_LEVEL = "access"
"""The layer credited when a legacy application's own check refuses a step."""


@attrs.define(eq=False)
class TraditionalStage:
    cast: TraditionalCast
    runtime: Runtime
    nursery: trio.Nursery
    log: io.StringIO
    clients: list[LegacyClient] = attrs.field(factory=list)

    def adversary(self, system: str, **options: Any) -> LegacyClient:
        """A client the adversary uses (``TraditionalCast.client`` options: key, bearer, on_behalf_of, keyless)."""
        client = self.cast.client(system, **options)
        self.clients.append(client)
        return client

    async def sign_in(self, person: str = "sarah") -> dict[str, Any]:
        """``person`` signs in at the legacy login service (a legitimate step, not the adversary's)."""
        email = self.cast.world.person(person).email
        answer = await self.cast.client("login", keyless=True).form(
            "/login", {"username": email, "password": self.cast.people_passwords[person]})
        tokens = answer.json()
        self.runtime.secrets.add(tokens["access_token"], tokens["refresh_token"])
        return tokens

    def measured(self, *, attack: str, unauthorised_actions: int, records_exposed: int | None = None,
                 evidence: Iterable[str] = ()) -> AttackOutcome:
        sent = [request for client in self.clients for request in client.sent]
        sent.sort(key=lambda r: r.time)
        records = sum(c.records_received for c in self.clients) if records_exposed is None else records_exposed
        refused = [r for r in sent if r.status >= 400]
        stopped = records == 0 and unauthorised_actions == 0 and bool(refused)
        coverage = legacy_coverage(sent, self.cast.logs())
        proof = [f"{r.system} {r.method} {r.path}: HTTP {r.status}" + (f" ({r.records} records)" if r.records else "")
                 for r in sent]
        proof.append(f"best single log: {coverage.log} reconstructs {coverage.logged}/{coverage.total} steps")
        return AttackOutcome(attack=attack, configuration="traditional", stopped=stopped,
                             stopped_by=APP_LEVEL if stopped else None, records_exposed=records,
                             unauthorised_actions=unauthorised_actions,
                             time_to_containment=0.0 if stopped else None,
                             audit_complete=bool(sent) and coverage.logged == coverage.total,
                             evidence=(*proof, *evidence))


@asynccontextmanager
async def traditional_stage(*, seed: int, transport: str) -> AsyncIterator[TraditionalStage]:
    async with fresh_runtime(seed=seed, transport=transport) as (runtime, nursery, log):
        cast = await start_traditional_cast(world=sales_world(), runtime=runtime, nursery=nursery, serve=True)
        yield TraditionalStage(cast=cast, runtime=runtime, nursery=nursery, log=log)
