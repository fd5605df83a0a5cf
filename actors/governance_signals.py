"""How governance tells resource servers that an agent's tokens are revoked, when the tokens are
self-contained (RFC 9068 JWTs validated locally, e.g. the pricing API's) and their issuer cannot
reach them: a CAEP ``session-revoked`` event (CAEP 1.0 §3.1) pushed by the platform's SSF
transmitter (RFC 8935) to every receiver stream. Each receiver's bearer guard
(``actors.ssf_receiver``) then refuses, with ``401 invalid_token``, every token naming one of the
subject's principals (``client_id``, ``sub``, ``azp``, ``act.sub``) issued up to that instant.

The subject is narrow on purpose: for one revoked entitlement, only the agent's client id at that
authorization server (RFC 9493 ``opaque``), so its other tokens keep working; at deprovisioning,
the agent as the enterprise IdP names it (``iss_sub``) with all its accounts as ``aliases``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import trio

from actors.runtime.context import Runtime
from actors.ssf_transmitter import Publish, SsfTransmitterActor
from protocols import caep
from protocols.ssf import PushVerdict
from protocols.subject_identifiers import SubjectId

MECHANISM = "CAEP session-revoked (SSF push) to the resource servers"


@attrs.define(eq=False)
class CaepRevocationSignals:
    runtime: Runtime
    transmitter: SsfTransmitterActor
    identity_issuer: str
    """The enterprise IdP whose ``iss_sub`` names agents."""
    delivery_timeout: float = 60.0

    def subject(self, *, agent: str | None, principals: Sequence[str]) -> SubjectId:
        ids = ([SubjectId.iss_sub(iss=self.identity_issuer, sub=agent)] if agent else [])
        ids += [SubjectId.opaque(p) for p in dict.fromkeys(principals) if p != agent]
        return ids[0] if len(ids) == 1 else SubjectId(format="aliases", aliases=tuple(ids))

    async def __call__(self, *, agent: str | None, principals: Sequence[str], reason: str,
                       txn: str) -> Mapping[str, Any]:
        """Publish and wait for every receiver's answer; returns who acknowledged (non-secret)."""
        payload = caep.session_revoked(event_timestamp=self.runtime.clock.now(), initiating_entity="admin",
                                       reason_admin=reason)
        send, receive = trio.open_memory_channel(64)
        reports = []
        async with send, receive:
            with trio.move_on_after(self.delivery_timeout):
                publication = await self.transmitter.ask(Publish(
                    event_type=caep.SESSION_REVOKED, payload=payload, subject=self.subject(
                        agent=agent, principals=principals), txn=txn, reports=send))
                while len(reports) < len(publication.sets):
                    reports.append(await receive.receive())
        delivered = sorted({r.receiver for r in reports if r.verdict is PushVerdict.DELIVERED})
        failed = sorted({r.receiver for r in reports if r.verdict is not PushVerdict.DELIVERED})
        return {"receivers": delivered, "failed": failed, "sets": [r.jti for r in reports]}
