"""Automated incident response: universal logout of a compromised agent (SPEC capability 12).

The orchestrator consumes the detector's ``RiskAlert``s and runs one playbook per alert, each
step audited as ``response.<step>`` with its outcome, all SETs of the incident sharing one ``txn``
(SSF 1.0: the SETs one event caused):

1. ``incident.opened`` — the evidence that triggered it (the ``risk.scored`` entry, its factors);
2. suspend the agent in the registry (lifecycle ``active`` → ``suspended``);
3. global token revocation (``protocols.global_token_revocation``) at every authorization server:
   a signed caller assertion per endpoint, ``sub_id`` = the agent as the enterprise IdP names it;
4. rotate (or revoke) the agent's privileged credentials through the configured rotations;
5. push ``session-revoked`` and one ``credential-change`` per rotated credential (CAEP 1.0) to
   every receiver stream via the SSF transmitter (RFC 8935), and wait for their ``202``s;
6. alert the security team and notify the people the agent works for ("… temporarily suspended"),
   by mail through the corporate relay (``actors.mail_relay``);
7. ``incident.recorded`` — the evidence record linking the triggering score, every SET ``jti``,
   revocation and notification, sealed with the audit chain's head hash — then
   ``incident.contained`` (``containment: true``, time to contain, records read in the anomalous
   window) or ``incident.containment_incomplete`` naming what failed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs
import trio

from actors.runtime.actor import Actor
from actors.runtime.clock import iso_time
from actors.runtime.network import Unreachable
from actors.ssf_transmitter import DeliveryReport, Publish, SsfTransmitterActor
from actors.threat_detection import RiskAlert
from protocols import caep
from protocols.global_token_revocation import caller_assertion, revocation_request
from protocols.http import HttpRequest
from protocols.jose.keys import SigningKey
from protocols.ssf import PushVerdict
from protocols.subject_identifiers import SubjectId

Suspend = Callable[[str, str], Awaitable[Mapping[str, Any]]]
"""``(agent, reason)`` → details; raises on failure."""


@attrs.frozen(kw_only=True)
class CredentialRotation:
    """One privileged credential of the agent and how to rotate (or revoke) it.

    ``rotate(agent)`` performs the change and returns non-secret details; ``credential_type`` and
    ``change_type`` describe it in the CAEP ``credential-change`` event."""

    name: str
    credential_type: str
    change_type: str
    rotate: Callable[[str], Awaitable[Mapping[str, Any]]] = attrs.field(eq=False)


@attrs.frozen(kw_only=True)
class GtrTarget:
    name: str
    endpoint: str


@attrs.frozen(kw_only=True)
class StepResult:
    step: str
    ok: bool
    details: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Incident:
    """What the playbook did about one alert, for the phase results and tests."""

    id: str
    agent: str
    opened_at: float
    contained_at: float | None
    score: float
    steps: tuple[StepResult, ...]
    set_jtis: tuple[str, ...]
    evidence_seq: int


@attrs.define(eq=False)
class IncidentResponder(Actor):
    """``identity_issuer`` is the enterprise IdP whose ``iss_sub`` names agents in ``sub_id``."""

    alerts: trio.MemoryReceiveChannel | None = attrs.field(default=None, repr=False)
    transmitter: SsfTransmitterActor | None = None
    identity_issuer: str = ""
    signing_key: SigningKey | None = attrs.field(default=None, repr=False)
    gtr_targets: Sequence[GtrTarget] = ()
    suspend: Suspend | None = attrs.field(default=None, repr=False)
    rotations: Mapping[str, Sequence[CredentialRotation]] = attrs.field(factory=dict)
    mail_url: str = ""
    mail_token: str = attrs.field(default="", repr=False)
    security_team: str = ""
    people: Mapping[str, Sequence[str]] = attrs.field(factory=dict)
    agent_names: Mapping[str, str] = attrs.field(factory=dict)
    accounts: Mapping[str, Sequence[str]] = attrs.field(factory=dict)
    """Agent → its accounts at other systems (client ids, integration users), sent as aliases."""
    delivery_timeout: float = 60.0
    incidents: list[Incident] = attrs.field(factory=list)
    _idle: trio.Event = attrs.field(factory=trio.Event, repr=False)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            if self.alerts is not None:
                nursery.start_soon(self._consume)
            await nursery.start(super().run)
            task_status.started()

    async def on_message(self, message: Any) -> Any:
        raise TypeError(f"{self.name} takes alerts on its channel, not messages")

    async def _consume(self) -> None:
        assert self.alerts is not None
        async with self.alerts:
            async for alert in self.alerts:
                self.incidents.append(await self.respond(alert))

    # ------------------------------------------------------------------ the playbook

    def subject_of(self, agent: str) -> SubjectId:
        """The agent as the enterprise IdP names it, plus its accounts elsewhere (RFC 9493 §3.2.8 aliases)."""
        own = SubjectId.iss_sub(iss=self.identity_issuer, sub=agent)
        others = [SubjectId.opaque(account) for account in self.accounts.get(agent, ()) if account != agent]
        return SubjectId(format="aliases", aliases=(own, *others)) if others else own

    async def respond(self, alert: RiskAlert) -> Incident:
        clock = self.runtime.clock
        opened_at = clock.now_float()
        incident_id = "inc-" + self.runtime.entropy_for(self.name).child(f"incident:{alert.agent}").hex(6)
        assessment = alert.assessment
        first_read = assessment.window_first_read
        reads_began_at = iso_time(first_read) if first_read is not None else None
        await self.audit("incident.opened", agent=alert.agent, decision="contain",
                         reason="; ".join(assessment.reasons()) or "risk reached HIGH", incident=incident_id,
                         score=assessment.score, risk_seq=alert.audit_seq, window_records=assessment.window_records,
                         reads_began_at=reads_began_at)
        steps: list[StepResult] = []
        reason = f"risk {assessment.score:g} ({assessment.level.value}): " + "; ".join(assessment.reasons(limit=1))
        steps.append(await self._step("agent_suspended", self._suspend(alert.agent, reason)))
        steps.append(await self._step("tokens_revoked", self._revoke_everywhere(alert.agent)))
        rotated, rotation_steps = await self._rotate(alert.agent)
        steps += rotation_steps
        propagation, jtis = await self._propagate(alert.agent, incident_id=incident_id, reason=reason, rotated=rotated,
                                                  now=clock.now())
        steps.append(propagation)
        steps += await self._notify(alert, incident_id)
        failed = [s.step for s in steps if not s.ok]
        head_seq, head_hash = self.runtime.audit.store.last()
        evidence = await self.runtime.audit.record(
            actor=self.name, event="incident.recorded", agent=alert.agent, decision="preserved",
            reason="evidence linked and sealed by the audit hash chain", incident=incident_id,
            risk_seq=alert.audit_seq, chain_head_seq=head_seq, chain_head_hash=head_hash,
            score=assessment.score, factors=[f.to_json() for f in assessment.factors],
            steps=[{"step": s.step, "ok": s.ok, **dict(s.details)} for s in steps], set_jtis=list(jtis))
        contained_at = clock.now_float() if not failed else None
        if failed:
            await self.audit("incident.containment_incomplete", agent=alert.agent, decision="escalate",
                             reason=f"failed: {', '.join(failed)}", incident=incident_id)
        else:
            await self.audit("incident.contained", agent=alert.agent, decision="contained",
                             reason="suspended, tokens revoked everywhere, receivers acknowledged",
                             incident=incident_id, containment=True,
                             seconds_to_contain=round(contained_at - opened_at, 3),
                             records_read=assessment.window_records, reads_began_at=reads_began_at,
                             evidence_seq=evidence.seq)
        return Incident(id=incident_id, agent=alert.agent, opened_at=opened_at, contained_at=contained_at,
                        score=assessment.score, steps=tuple(steps), set_jtis=tuple(jtis), evidence_seq=evidence.seq)

    async def logout(self, principal: str, *, reason: str, initiated_by: str, suspend: bool = False) -> Incident:
        """Universal logout on request (the security console's "log out everywhere", no risk alert):
        ``logout.universal``, then steps 2 (if ``suspend``: ``principal`` is an agent), 3 and 5 of the
        playbook for ``principal`` — an agent id or a user's subject at the enterprise IdP."""
        clock = self.runtime.clock
        opened_at = clock.now_float()
        incident_id = "inc-" + self.runtime.entropy_for(self.name).child(f"logout:{principal}").hex(6)
        await self.audit("logout.universal", agent=principal if suspend else None,
                         subject=None if suspend else principal, decision="revoke", reason=reason,
                         incident=incident_id, initiated_by=initiated_by, containment=True)
        steps = [await self._step("agent_suspended", self._suspend(principal, reason))] if suspend else []
        steps.append(await self._step("tokens_revoked", self._revoke_everywhere(principal)))
        propagation, jtis = await self._propagate(principal, incident_id=incident_id, reason=reason, rotated=(),
                                                  now=clock.now())
        steps.append(propagation)
        ok = all(s.ok for s in steps)
        return Incident(id=incident_id, agent=principal, opened_at=opened_at, contained_at=clock.now_float() if ok
                        else None, score=0.0, steps=tuple(steps), set_jtis=tuple(jtis),
                        evidence_seq=self.runtime.audit.store.last()[0])

    async def _step(self, step: str, work: Awaitable[StepResult | Mapping[str, Any]]) -> StepResult:
        try:
            outcome = await work
            result = outcome if isinstance(outcome, StepResult) else StepResult(step=step, ok=True, details=outcome)
        except Exception as error:  # noqa: BLE001 - a failed step is recorded and the playbook goes on
            result = StepResult(step=step, ok=False, details={"error": type(error).__name__,
                                                              "message": str(error)[:200]})
        await self.audit(f"response.{result.step}", decision="allow" if result.ok else "deny",
                         reason="done" if result.ok else str(result.details.get("message", "failed")),
                         **dict(result.details))
        return result

    async def _suspend(self, agent: str, reason: str) -> Mapping[str, Any]:
        if self.suspend is None:
            return StepResult(step="agent_suspended", ok=False, details={"message": "no registry configured"})
        return await self.suspend(agent, reason)

    async def _revoke_everywhere(self, agent: str) -> StepResult:
        assert self.signing_key is not None
        entropy = self.runtime.entropy_for(self.name).child(f"gtr:{agent}")
        statuses: dict[str, int] = {}
        for target in self.gtr_targets:
            assertion = caller_assertion(caller=self.name, endpoint=target.endpoint, key=self.signing_key,
                                         now=self.runtime.clock.now(), entropy=entropy)
            self.runtime.secrets.add(assertion)
            try:
                response = await self.runtime.network.send(revocation_request(
                    endpoint=target.endpoint, subject=self.subject_of(agent), assertion=assertion))
                statuses[target.name] = response.status
            except Unreachable:
                statuses[target.name] = 0
        ok = all(status in (204, 404) for status in statuses.values())
        return StepResult(step="tokens_revoked", ok=ok, details={"servers": statuses})

    async def _rotate(self, agent: str) -> tuple[list[CredentialRotation], list[StepResult]]:
        done, steps = [], []
        for rotation in self.rotations.get(agent, ()):
            result = await self._step("credentials_rotated", self._one_rotation(agent, rotation))
            steps.append(result)
            if result.ok:
                done.append(rotation)
        return done, steps

    async def _one_rotation(self, agent: str, rotation: CredentialRotation) -> Mapping[str, Any]:
        details = await rotation.rotate(agent)
        return {"credential": rotation.name, "change_type": rotation.change_type, **dict(details)}

    async def _propagate(self, agent: str, *, incident_id: str, reason: str, rotated: Sequence[CredentialRotation],
                         now: int) -> tuple[StepResult, list[str]]:
        assert self.transmitter is not None
        send, receive = trio.open_memory_channel(64)
        name = self.agent_names.get(agent, agent)
        events = [(caep.SESSION_REVOKED, caep.session_revoked(
            event_timestamp=now, initiating_entity="policy", reason_admin=f"anomalous behaviour: {reason}",
            reason_user=f"{name} is temporarily suspended"))]
        events += [(caep.CREDENTIAL_CHANGE, caep.credential_change(
            credential_type=r.credential_type, change_type=r.change_type, event_timestamp=now,
            initiating_entity="policy", reason_admin=f"{r.name} {r.change_type}d after incident {incident_id}",
            friendly_name=r.name)) for r in rotated]
        expected, jtis = 0, []
        reports: list[DeliveryReport] = []
        async with send, receive:
            with trio.move_on_after(self.delivery_timeout):
                for event_type, payload in events:  # one event at a time: the trail reads in order
                    publication = await self.transmitter.ask(Publish(
                        event_type=event_type, payload=payload, subject=self.subject_of(agent), txn=incident_id,
                        reports=send))
                    expected += len(publication.sets)
                    jtis += [jti for _, jti in publication.sets]
                    while len(reports) < expected:
                        reports.append(await receive.receive())
        delivered = sorted({r.receiver for r in reports if r.verdict is PushVerdict.DELIVERED})
        failed = sorted({r.receiver for r in reports if r.verdict is not PushVerdict.DELIVERED})
        ok = len(reports) == expected and not failed
        return StepResult(step="sets_propagated", ok=ok, details={
            "txn": incident_id, "sets": expected,
            "acknowledged": sum(r.verdict is PushVerdict.DELIVERED for r in reports),
            "receivers": delivered, "failed": failed or None}), jtis

    async def _mail(self, *, to: str, subject: str, body: str) -> Mapping[str, Any]:
        """Submit one message to the corporate mail relay (``actors.mail_relay``)."""
        response = await self.runtime.network.send(HttpRequest.json_post(
            url=self.mail_url.rstrip("/") + "/send", payload={"to": to, "subject": subject, "body": body},
            headers={"authorization": f"Bearer {self.mail_token}"}))
        if response.status != 202:
            raise RuntimeError(f"the mail relay refused the message to {to} (HTTP {response.status})")
        return {"to": to, "message": response.json().get("id")}

    async def _notify(self, alert: RiskAlert, incident_id: str) -> list[StepResult]:
        name = self.agent_names.get(alert.agent, alert.agent)
        reasons = "\n".join(f"- {r}" for r in alert.assessment.reasons())
        results = [await self._step("security_alerted", self._mail(
            to=self.security_team,
            subject=f"[CRITICAL] {incident_id}: {alert.agent} contained (risk {alert.assessment.score:g}, HIGH)",
            body=f"Universal logout executed for {alert.agent}.\nWhy:\n{reasons}\nEvidence: incident {incident_id} "
                 "in the audit log."))]
        for person in self.people.get(alert.agent, ()):
            results.append(await self._step("user_notified", self._mail(
                to=person, subject=f"{name} temporarily suspended",
                body=f"{name}, which works on your behalf, has been temporarily suspended after unusual activity. "
                     "Its sessions were ended; the security team is investigating.")))
        return results
