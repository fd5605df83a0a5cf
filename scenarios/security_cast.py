"""Security operations of a run: the SSF transmitter and its receivers, GTR endpoints, the threat
detector, the incident-response orchestrator, the agent's routine and the attacker
(SPEC capability 12; ``scenarios.detection_world`` for the settings).

``install_security`` builds and starts them before the network serves (so the HTTP transport
serves the transmitter too) and mounts the logout components on the systems they protect:

- a GTR endpoint on every authorization server (``ProtectedSystem.revoke``);
- an SSF receiver on every relying party and resource server (``ProtectedSystem.receiver``), with
  the system's own reaction to ``session-revoked`` (``actions``) and, always, the bearer guard.

``connect_security`` runs once the network serves: each receiver discovers the transmitter,
creates its push stream with the credential security onboarded it with, and verifies it; then the
routine starts (in scripted runs: ``serve`` plays no script). With ``[detection] enabled = false`` the plumbing is the same but no detector or
responder runs: nothing notices the attack (the ablation).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs
import trio

from actors.agent_routine import DailyRoutine
from actors.attacker import AttackerActor
from actors.gtr_endpoint import GtrEndpoint
from actors.incident_response import CredentialRotation, GtrTarget, IncidentResponder
from actors.runtime.actor import HttpActor
from actors.runtime.context import Runtime
from actors.ssf_receiver import Action, SsfReceiver
from actors.ssf_transmitter import SsfTransmitterActor
from actors.threat_detection import ThreatDetectionActor, agent_accounts
from actors.universal_logout import Revoke, on_session_revoked
from protocols import caep
from protocols.jose.jwks import JwkSet
from protocols.jose.keys import Algorithm
from scenarios.detection_world import SecuritySettings

RESPONDER = "incident-response"
DETECTOR = "threat-detection"
SENDER = "security-automation"


@attrs.frozen(kw_only=True)
class ProtectedSystem:
    """A system universal logout must reach: ``revoke`` mounts a GTR endpoint (authorization
    servers); ``receiver`` mounts an SSF receiver whose ``session-revoked`` reaction is ``action``
    (or ``revoke`` applied to the named principals), plus the bearer guard."""

    host: HttpActor
    revoke: Revoke | None = attrs.field(default=None, eq=False)
    receiver: bool = True
    action: Action | None = attrs.field(default=None, eq=False)


@attrs.define(eq=False)
class SecurityOps:
    runtime: Runtime
    settings: SecuritySettings
    transmitter: SsfTransmitterActor
    attacker: AttackerActor
    receivers: dict[str, SsfReceiver] = attrs.field(factory=dict)
    gtr: dict[str, GtrEndpoint] = attrs.field(factory=dict)
    detector: ThreatDetectionActor | None = None
    responder: IncidentResponder | None = None
    routine: DailyRoutine | None = None
    mail_url: str = ""
    security_password: str = attrs.field(default="", repr=False)
    _management: dict[str, str] = attrs.field(factory=dict, repr=False)
    _routine_factory: Callable[[], Awaitable[DailyRoutine | None]] | None = attrs.field(default=None, repr=False)

    @property
    def enabled(self) -> bool:
        return self.settings.detection.enabled


async def install_security(*, runtime: Runtime, nursery: trio.Nursery, settings: SecuritySettings,
                           identity_issuer: str, systems: Sequence[ProtectedSystem],
                           agents: Mapping[str, Sequence[str]], agent_names: Mapping[str, str],
                           people: Mapping[str, Sequence[str]], mail: Any,
                           suspend: Callable[[str, str], Awaitable[Mapping[str, Any]]] | None,
                           rotations: Mapping[str, Sequence[CredentialRotation]],
                           routine: Callable[[], Awaitable[DailyRoutine | None]] | None = None) -> SecurityOps:
    """Build, mount and start everything (call before ``network.serve``). ``agents`` maps each
    agent to its accounts at other systems; ``people`` to who is told when it is suspended;
    ``mail`` is the corporate mail relay (``actors.mail_relay.MailRelayActor``)."""
    network = runtime.network
    transmitter = SsfTransmitterActor.build(runtime=runtime)
    network.register(transmitter)
    attacker = AttackerActor(name="attacker", runtime=runtime)
    ops = SecurityOps(runtime=runtime, settings=settings, transmitter=transmitter, attacker=attacker,
                      mail_url=mail.base_url, routine_factory=routine)
    responder_key = runtime.new_signing_key(owner=RESPONDER, purpose="gtr-caller", alg=Algorithm.ES256)
    callers = {RESPONDER: JwkSet.from_json({"keys": [responder_key.public_jwk()]})}
    for system in systems:
        host = system.host
        if system.revoke is not None:
            ops.gtr[host.name] = GtrEndpoint(host=host, revoke=system.revoke, callers=dict(callers),
                                             issuers={identity_issuer}).mount()
        if system.receiver:
            action = system.action or (on_session_revoked(system.revoke) if system.revoke is not None else None)
            actions = {caep.SESSION_REVOKED: action} if action is not None else {}
            ops.receivers[host.name] = SsfReceiver(host=host, transmitter_issuer=transmitter.issuer,
                                                   issuers={identity_issuer}, actions=actions).mount()
            ops._management[host.name] = transmitter.onboard(receiver=host.name, audience=host.base_url)
    detection = settings.detection
    ops.security_password = mail.add_mailbox(detection.security_team) \
        if detection.security_team not in mail.mailboxes else ""
    await nursery.start(transmitter.run)
    await nursery.start(attacker.run)
    accounts = agent_accounts({a: tuple(names) for a, names in agents.items()})
    start = int(detection.start.timestamp()) if detection.start is not None else 0
    policy = detection.policy
    await runtime.audit.record(
        actor=DETECTOR, event="detection.configured", decision="enabled" if detection.enabled else "disabled",
        reason="behavioural detection and automated response" if detection.enabled
        else "switched off in the world file", accounts=accounts, monitor_from=start,
        window=policy.window, elevated=policy.elevated, high=policy.high, baseline_days=policy.baseline_days,
        min_baseline_days=policy.min_baseline_days)
    if detection.enabled:
        send, receive = trio.open_memory_channel(16)
        ops.detector = ThreatDetectionActor(name=DETECTOR, runtime=runtime, policy=policy, agents=accounts,
                                            alerts=send, monitor_from=start)
        ops.responder = IncidentResponder(
            name=RESPONDER, runtime=runtime, alerts=receive, transmitter=transmitter, identity_issuer=identity_issuer,
            signing_key=responder_key, suspend=suspend, rotations=rotations,
            gtr_targets=[GtrTarget(name=name, endpoint=endpoint.endpoint) for name, endpoint in ops.gtr.items()],
            mail_url=mail.base_url, mail_token=mail.add_sender(f"{SENDER}@platform"),
            security_team=detection.security_team, people=people, agent_names=agent_names,
            accounts={a: tuple(accounts) for a, accounts in agents.items()})
        await nursery.start(ops.detector.run)
        await nursery.start(ops.responder.run)
    return ops


async def connect_security(ops: SecurityOps, nursery: trio.Nursery) -> None:
    """Once the network serves: every receiver creates and verifies its stream; the routine starts."""
    for name, receiver in sorted(ops.receivers.items()):
        await receiver.connect(management_token=ops._management[name])
    if ops._routine_factory is not None and not ops.runtime.clock.real:  # a scripted run, not `serve`
        nursery.start_soon(_start_routine, ops)


async def _start_routine(ops: SecurityOps) -> None:
    """Wait for the monitoring start (the routine is the monitored agent's normal work), then run."""
    detection = ops.settings.detection
    if detection.start is not None:
        await ops.runtime.clock.sleep_until(detection.start.timestamp())
    assert ops._routine_factory is not None
    ops.routine = await ops._routine_factory()
    if ops.routine is not None:
        await ops.routine.run()
