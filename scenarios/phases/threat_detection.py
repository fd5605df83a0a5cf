"""Phase 8 — Threat detection (SPEC.md), and the same drill for the customer-service agent.

The phase's user signs in to the agent (a fresh delegation). Five minutes later everything the
agent holds is stolen: its CRM access token, its CRM integration secret (leased from the vault),
its private signing key, the user's access token — plus, where the cast has them, what
``extra_probes`` replays (MCP servers, pricing API, token vault). The attacker reads customer
records one call at a time, as fast as the API allows (``[attack]``: 500 in 10 minutes against a
baseline of 10–15 a day), and once refused keeps trying every stolen credential.

With detection on, the detector's next evaluation scores the burst HIGH and the responder logs the
agent out everywhere (``actors.incident_response``). The result states when the burst was
detected and contained (seconds after the theft), how many records were read before containment,
and every attempt after it — each refused, at every receiver. With ``[detection] enabled = false``
(the ablation) it states what the attacker got instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from actors.agent import LOGIN_PATH, AgentActor
from actors.attacker import AttackReport, Exfiltrate, Probe, ProbeResult
from actors.browser import Browser, Navigate
from actors.mail_relay import read_mailbox
from actors.runtime.context import Runtime
from actors.saas.crm import API as CRM_API
from protocols.audit_chain import AuditEntry
from protocols.http import HttpRequest
from protocols.jose.keys import SigningKey
from protocols.oauth.client_auth import basic_authorization, client_assertion_params
from scenarios.phase_result import PhaseResult
from scenarios.sales_security import morning_tokens, sales_probes
from scenarios.security_cast import SecurityOps
from scenarios.world import PhaseSpec

THEFT_AFTER = 300
"""Seconds between the user's sign-in and the theft of the agent's credentials."""


@attrs.frozen(kw_only=True)
class StolenKit:
    """Everything the agent held when it was compromised (never logged: repr hides it)."""

    crm_token: str = attrs.field(repr=False)
    crm_client_id: str
    crm_secret: str = attrs.field(repr=False)
    agent_key: SigningKey = attrs.field(repr=False)
    user_access_token: str = attrs.field(default="", repr=False)


@attrs.frozen(kw_only=True)
class DrillTarget:
    """What the drill needs from a cast."""

    runtime: Runtime
    security: SecurityOps
    agent: AgentActor
    crm: Any
    idp: Any
    pam: Any
    credential_id: str
    crm_client: Any
    credentials: Any
    """The agent's ``VaultCredentialClient`` (what it leases its CRM secret with)."""
    registry: Any
    """The security team's registry client (``RegistryClient``): where the agent's lifecycle is read."""
    mailboxes: dict[str, tuple[str, str]] = attrs.field(factory=dict, repr=False)
    """Who to check for notifications: label → (address, password)."""
    extra_probes: Sequence[Probe] = ()


@attrs.frozen(kw_only=True)
class DrillOutcome:
    report: AttackReport
    theft_at: float
    detected_at: float | None
    contained_at: float | None
    contained_seq: int | None
    peak: AuditEntry | None
    incident: Any
    mail: dict[str, list[str]]
    lifecycle: str


def _entropy(target: DrillTarget, label: str):
    return target.runtime.entropy_for("attacker").child(label)


def probes(target: DrillTarget, kit: StolenKit) -> tuple[Probe, list[Probe]]:
    """The reading probe and every way the attacker tries the stolen credentials."""
    network, now = target.runtime.network, target.runtime.clock.now

    async def read_contacts(i: int) -> ProbeResult:
        response = await network.send(HttpRequest.get(target.crm.url(f"{CRM_API}/contacts?limit=1&offset={i}"),
                                                      headers={"authorization": f"Bearer {kit.crm_token}"}))
        records = len(response.json().get("records", [])) if response.status == 200 else 0
        return ProbeResult(status=response.status, records=records)

    async def new_crm_token(i: int) -> ProbeResult:
        response = await network.send(HttpRequest.form_post(
            url=target.crm.url("/token"), params={"grant_type": "client_credentials", "scope": "crm.read"},
            headers={"authorization": basic_authorization(kit.crm_client_id, kit.crm_secret)}))
        if response.status == 200:
            target.runtime.secrets.add(response.json().get("access_token", ""))
        return ProbeResult(status=response.status)

    async def lease_secret(i: int) -> ProbeResult:
        params = client_assertion_params(client_id=target.agent.client_id, audience=target.pam.base_url,
                                         key=kit.agent_key, now=now(), entropy=_entropy(target, f"pam:{i}"))
        target.runtime.secrets.add(params["client_assertion"])
        response = await network.send(HttpRequest.form_post(
            url=target.pam.url(f"/credentials/{target.credential_id}/lease"), params=params))
        if response.status == 200:
            target.runtime.secrets.add(response.json().get("secret", ""))
        return ProbeResult(status=response.status)

    async def authenticate_at_idp(i: int) -> ProbeResult:
        params = client_assertion_params(client_id=target.agent.client_id, audience=target.idp.base_url,
                                         key=kit.agent_key, now=now(), entropy=_entropy(target, f"idp:{i}"))
        target.runtime.secrets.add(params["client_assertion"])
        params.update(grant_type="authorization_code", code="replayed-code", redirect_uri=target.agent.redirect_uri,
                      code_verifier="x" * 43)
        response = await network.send(HttpRequest.form_post(url=target.idp.url("/token"), params=params))
        # Anything but invalid_client means the stolen key still authenticates the agent.
        return ProbeResult(status=200 if response.status != 401 else 401)

    async def userinfo(i: int) -> ProbeResult:
        response = await network.send(HttpRequest.get(target.idp.url("/userinfo"),
                                                      headers={"authorization": f"Bearer {kit.user_access_token}"}))
        return ProbeResult(status=response.status)

    reader = Probe(credential="CRM access token", receiver=target.crm.name, attempt=read_contacts)
    everything = [reader,
                  Probe(credential="CRM integration secret", receiver=target.crm.name, attempt=new_crm_token),
                  Probe(credential="agent signing key", receiver=target.pam.name, attempt=lease_secret),
                  Probe(credential="agent signing key", receiver=target.idp.name, attempt=authenticate_at_idp)]
    if kit.user_access_token:
        everything.append(Probe(credential="user's access token", receiver=target.idp.name, attempt=userinfo))
    return reader, everything + list(target.extra_probes)


async def steal(target: DrillTarget) -> StolenKit:
    """Dump what the agent holds right now (a real compromise leaks the same)."""
    crm_token = await target.crm_client.access_token()
    secret, _ = await target.credentials.secret(target.credential_id)
    delegation = next(iter(target.agent.delegations.values()), None)
    return StolenKit(crm_token=crm_token, crm_client_id=target.crm_client.client_id, crm_secret=secret,
                     agent_key=target.agent.signing_key,
                     user_access_token=delegation.access_token if delegation else "")


def _epoch(entry: AuditEntry) -> float:
    return datetime.fromisoformat(entry.time.replace("Z", "+00:00")).timestamp()


async def run_drill(target: DrillTarget, *, signed_in_at: float) -> DrillOutcome:
    runtime, security = target.runtime, target.security
    attack = security.settings.attack
    assert attack is not None, "the world has no [attack] section"
    await runtime.clock.sleep_until(signed_in_at + THEFT_AFTER)
    kit = await steal(target)
    theft_at = runtime.clock.now_float()
    theft_seq = runtime.audit.store.last()[0]
    reader, everything = probes(target, kit)
    report = await security.attacker.ask(Exfiltrate(readers=(reader,), probes=tuple(everything), records=attack.records,
                                                    duration=attack.duration, retry_every=attack.retry_every,
                                                    retry_rounds=attack.retry_rounds))
    agent = target.agent.name
    entries = [e for e in runtime.audit.store.entries() if e.seq > theft_seq]
    scores = [e for e in entries if e.event == "risk.scored" and e.agent == agent]
    high = next((e for e in scores if e.decision == "HIGH"), None)
    contained = next((e for e in entries if e.event == "incident.contained" and e.agent == agent), None)
    incident = next((i for i in (security.responder.incidents if security.responder else []) if i.agent == agent),
                    None)
    mail = {}
    for label, (address, password) in target.mailboxes.items():
        if password:
            messages = await read_mailbox(runtime.network, relay_url=security.mail_url, address=address,
                                          password=password)
            mail[label] = [m["subject"] for m in messages if m["time"] >= int(theft_at)]
    peak = max(scores, key=lambda e: e.details.get("score", 0), default=None)
    lifecycle = (await target.registry.get(agent))["lifecycleState"]
    return DrillOutcome(report=report, theft_at=theft_at, detected_at=_epoch(high) if high else None,
                        contained_at=_epoch(contained) if contained else None,
                        contained_seq=contained.seq if contained else None, peak=peak, incident=incident, mail=mail,
                        lifecycle=lifecycle)


async def sign_in(browser: Browser | None, agent: AgentActor) -> str:
    """The user opens the agent (a fresh delegation); returns a problem or ``""``."""
    if browser is None:
        return ""
    result = await browser.ask(Navigate(url=agent.url(LOGIN_PATH)))
    return result.problem or ("" if result.status == 200 else f"sign-in ended on HTTP {result.status}")


def drill_result(phase: PhaseSpec, *, target: DrillTarget, outcome: DrillOutcome) -> PhaseResult:
    """The phase result: timings, records, attempts after containment by credential and receiver."""
    attack = target.security.settings.attack
    report = outcome.report
    accepted = [a for a in report.attempts if a.ok]
    reads = [a for a in report.attempts if a.credential == "CRM access token"]
    facts: dict[str, Any] = {
        "stolen at": datetime.fromtimestamp(outcome.theft_at, UTC).isoformat().replace("+00:00", "Z"),
        "attack": f"{attack.records} records in {attack.duration} s, one per call, then {attack.retry_rounds} "
                  "rounds trying every stolen credential",
        "stolen": ", ".join(sorted({a.credential for a in report.attempts})),
        "records read by the attacker": report.records_read,
        "calls accepted after the theft": len(accepted),
        "calls refused after the theft": len(report.attempts) - len(accepted),
        "last accepted call after the theft": (f"{accepted[-1].time - outcome.theft_at:.0f} s" if accepted
                                               else "none"),
        "stolen CRM token still valid at the end": bool(reads and reads[-1].ok),
    }
    if not target.security.enabled:
        facts["detection"] = "switched off in the world file ([detection] enabled = false)"
        return PhaseResult(number=phase.number, name=phase.name, ok=True, facts=facts, outcome=(
            f"Detection switched off: the attacker read {report.records_read} customer records in "
            f"{report.finished_at - report.started_at:.0f} s with {target.agent.name}'s stolen credentials; nothing "
            "was revoked."))
    seq = outcome.contained_seq
    after = report.after(seq) if seq is not None else ()
    succeeded_after = [a for a in after if a.ok]
    read_before = report.read_before(seq) if seq is not None else report.records_read
    by_receiver: dict[str, list[int]] = {}
    for a in after:
        counts = by_receiver.setdefault(f"{a.credential} → {a.receiver}", [0, 0])
        counts[0] += 1
        counts[1] += a.ok
    detected = outcome.detected_at - outcome.theft_at if outcome.detected_at is not None else None
    contained = outcome.contained_at - outcome.theft_at if outcome.contained_at is not None else None
    peak = outcome.peak
    facts.update({
        "detected after": f"{detected:.0f} s" if detected is not None else "not detected",
        "contained after": f"{contained:.0f} s" if contained is not None else "not contained",
        "records read before containment": read_before,
        "attempts after containment": len(after),
        "successful calls after containment": len(succeeded_after),
        "peak risk": f"{peak.details.get('score')} ({peak.decision})" if peak is not None else "none",
        "why": peak.reason if peak is not None else "",
        "agent lifecycle": outcome.lifecycle,
    })
    first_try: dict[str, Any] = {}
    for a in report.attempts:
        if seq is None or a.seq < seq:
            first_try.setdefault(f"{a.credential} → {a.receiver}", a)
    for label, a in sorted(first_try.items()):
        facts[f"before: {label}"] = "accepted" if a.ok else f"refused (HTTP {a.status})"
    for label, (attempts, ok) in sorted(by_receiver.items()):
        facts[f"after: {label}"] = f"{ok} of {attempts} accepted"
    if outcome.incident is not None:
        facts["incident"] = outcome.incident.id
        facts["response steps"] = ", ".join(f"{s.step} {'✓' if s.ok else '✗'}" for s in outcome.incident.steps)
        facts["SETs pushed"] = len(outcome.incident.set_jtis)
    for label, subjects in outcome.mail.items():
        facts[f"mail to {label}"] = " | ".join(subjects) or "none"
    ok = (contained is not None and not succeeded_after and read_before < attack.records
          and outcome.lifecycle == "suspended")
    outcome_text = (
        f"Credentials stolen at {_clock(outcome.theft_at)}: risk went HIGH after {detected:.0f} s, "
        f"{target.agent.name} was logged out everywhere after {contained:.0f} s; {read_before} of {attack.records} "
        f"records were read before containment and all {len(after)} later attempts with the stolen credentials "
        f"failed." if ok else
        f"Containment failed: detected={detected}, contained={contained}, {len(succeeded_after)} calls succeeded "
        f"after containment, {read_before} records read.")
    return PhaseResult(number=phase.number, name=phase.name, ok=ok, outcome=outcome_text, facts=facts)


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


async def phase_8_threat_detection(cast: Any, phase: PhaseSpec) -> PhaseResult:
    """The sales-agent scenario's phase 8 (day 45): Sarah's morning with the agent, then the theft."""
    security, plane = cast.security, cast.control
    if security is None or security.settings.attack is None:
        return PhaseResult(number=phase.number, name=phase.name, ok=False,
                           outcome="The world has no [detection] and [attack] sections: nothing to run.")
    agent, person = cast.agents[phase.agent], cast.world.person(phase.user)
    problem = await sign_in(cast.browsers.get(phase.user), agent)
    delegation = next((d for d in agent.delegations.values() if d.email == person.email), None)
    polling = plane.jobs.get(agent.name)
    if problem or delegation is None or polling is None:
        return PhaseResult(number=phase.number, name=phase.name, ok=False,
                           outcome=f"The morning's work could not start: {problem or 'no delegation or CRM client'}.")
    signed_in_at = cast.runtime.clock.now_float()
    tokens = await morning_tokens(cast, agent.name, delegation)
    owner = cast.world.person(cast.world.agent(phase.agent).owner)
    team = security.settings.detection.security_team
    target = DrillTarget(
        runtime=cast.runtime, security=security, agent=agent, crm=plane.crm,
        idp=cast.idp, pam=plane.pam, credential_id=f"{agent.name}-crm", crm_client=polling.client,
        credentials=plane.credentials_for(agent.name), registry=plane.security,
        mailboxes={"security team": (team, security.security_password),
                   person.name: (person.email, plane.mailboxes[person.id].password),
                   f"{owner.name} (owner)": (owner.email, plane.mailboxes[owner.id].password)},
        extra_probes=sales_probes(cast, tokens, agent_id=agent.name, user=delegation.subject))
    outcome = await run_drill(target, signed_in_at=signed_in_at)
    return drill_result(phase, target=target, outcome=outcome)
