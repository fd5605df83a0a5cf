"""An OpenID Provider as an actor: the thin trio shell around ``protocols.oidc.provider``.

Receive a request, let the sans-IO provider answer it (performing the back-channel ``Fetch`` steps
it asks for, e.g. redeeming a Google code during federation), register the secrets it minted for
redaction, audit the step's outcome (:func:`audited`), reply. A child task rotates the signing key on schedule and
keeps the retired key published until every token it signed has expired (OIDC Core §10.1.1).
"""

from __future__ import annotations

import itertools
from typing import Any

import attrs
import trio

from actors.runtime.actor import HttpActor
from actors.runtime.network import Unreachable
from protocols.http import HttpRequest, HttpResponse
from protocols.jose.keys import Algorithm
from protocols.oauth.outcome import Decision
from protocols.oidc.provider import Fetch, OpenIdProvider, Outcome

QUIET_EVENTS = frozenset({"discovery.served", "jwks.served"})
"""Public metadata reads: logged, not audited (they carry no decision)."""


def audited(outcome: Outcome) -> bool:
    """Whether an authorization server's outcome goes to the audit log (else it is only logged): not
    a public metadata read, nor an introspection that found the token active (RFC 7662) — the
    resource that asked audits the call it then allows; every inactive answer is audited."""
    return outcome.event not in QUIET_EVENTS and not (outcome.event == "token.introspected"
                                                      and outcome.decision is Decision.ALLOW)


@attrs.define(eq=False)
class OidcProviderActor(HttpActor):
    provider: OpenIdProvider | None = None
    rotation_period: int | None = None
    signing_alg: Algorithm = Algorithm.RS256
    companions: list[Any] = attrs.field(factory=list)
    """Background work of this provider (e.g. the CIBA courier): ``run()`` is started as a child task
    and ``wake()`` is called after every handled request, so it can pick up what the request queued."""

    async def handle(self, request: HttpRequest) -> HttpResponse:
        assert self.provider is not None
        step = self.provider.handle(request, now=self.runtime.clock.now())
        while isinstance(step, Fetch):
            await self.record(step.outcome)
            try:
                upstream = await self.runtime.network.send(step.request)
            except Unreachable as error:
                upstream = HttpResponse.json_body({"error": "temporarily_unavailable",
                                                   "error_description": str(error)}, status=503)
            step = self.provider.resume(step, upstream, now=self.runtime.clock.now())
        await self.record(step.outcome)
        for outcome in step.also:
            await self.record(outcome)
        for companion in self.companions:
            companion.wake()
        return step.response

    async def record(self, outcome: Outcome) -> None:
        self.runtime.secrets.add_all(outcome.secrets)
        if not audited(outcome):
            self.log.debug(outcome.event, client=outcome.client_id, jti=outcome.details.get("jti"))
            return
        await self.audit(outcome.event, agent=outcome.client_id, subject=outcome.subject,
                         decision=outcome.decision.value, reason=outcome.reason or None, **dict(outcome.details))

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            if self.rotation_period:
                nursery.start_soon(self._rotate_keys)
            for companion in self.companions:
                nursery.start_soon(companion.run)
            await nursery.start(super().run)
            task_status.started()

    async def _rotate_keys(self) -> None:
        """Rotate every ``rotation_period``; the old key stays published for the longest token lifetime."""
        assert self.provider is not None and self.rotation_period
        config = self.provider.config
        retire_after = max(config.id_token_lifetime, config.access_token_lifetime) + 60
        for generation in itertools.count(1):
            await trio.sleep(self.rotation_period)
            key = self.runtime.new_signing_key(owner=self.name, purpose=f"keys-{generation}", alg=self.signing_alg)
            await self.record(self.provider.rotate_key(key, now=self.runtime.clock.now(), retire_after=retire_after))
