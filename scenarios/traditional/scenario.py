"""The ``traditional-vs-unified`` scenario (issue 11): the sales-agent story on the unified platform
and, in the same run, the same steps on a traditional stack; phase 9 adds the attack library under
both configurations and records the whitepaper's comparison table.

The cast holds both: the sales-agent cast (``scenarios.sales_agent``) and the traditional cast
(``scenarios.traditional.cast``, actors ``legacy-*``, registered before the network serves, so both
transports reach them). Phases 1-8 are the sales phases, each followed by the traditional side of
the comparison where there is one; phase 8 goes on to day 46 (``COMPARISON_AFTER``): the stolen
credentials again, the attack library under both configurations and the table. Every measurement
is one ``comparison.measured`` audit entry.
"""

from __future__ import annotations

from typing import Any

import attrs
import trio

from actors.agent import LOGIN_PATH
from actors.attacker import AttackerActor, Probe
from actors.browser import Browser, Credentials
from actors.identity_providers import PersonSecrets
from scenarios import sales_agent
from scenarios.phase_result import PhaseResult
from scenarios.phases import PHASES as SALES_PHASES
from scenarios.phases.threat_detection import THEFT_AFTER, DrillTarget, drill_result, probes, run_drill, sign_in, steal
from scenarios.sales_security import morning_tokens, sales_probes
from scenarios.traditional import traditional_steps as trad
from scenarios.traditional import unified_steps as uni
from scenarios.traditional.cast import Protections, TraditionalCast, build_traditional_cast
from scenarios.traditional.comparison import Measurement, record
from scenarios.traditional.finish import finish_comparison
from scenarios.world import PhaseSpec, World

PROTECTIONS = Protections()
"""The traditional column as the whitepaper describes it: every bolt-on protection off (a test
switches one on and sees the measured table change)."""
COMPARISON_AFTER = 86400 + 300
"""Seconds from the user's sign-in on the drill day to the day-46 part of phase 8 (10:00 next day)."""


@attrs.define(eq=False)
class ComparisonCast:
    world: World
    runtime: Any
    unified: sales_agent.SalesCast
    traditional: TraditionalCast
    shadow: trad.ShadowScript
    attacker: AttackerActor
    measurements: list[Measurement] = attrs.field(factory=list)
    loot: trad.LegacyLoot | None = None
    stolen: list[Probe] = attrs.field(factory=list)
    """The unified drill's probes (every credential stolen from the agent), tried again on day 46."""
    contained_at: float | None = None
    theft_at: float | None = None
    nursery: trio.Nursery | None = None

    async def add(self, measurement: Measurement, phase: PhaseSpec) -> None:
        self.measurements.append(measurement)
        await record(self.runtime, measurement, phase=phase.number)


async def start_cast(*, world: World, runtime: Any, nursery: trio.Nursery) -> ComparisonCast:
    """The traditional systems first (registered before the unified cast starts serving), then the
    sales cast, then the sales team's shadow script on the traditional CRM."""
    traditional = build_traditional_cast(world=world, runtime=runtime, protections=PROTECTIONS)
    await traditional.start(nursery)
    attacker = AttackerActor(name="legacy-attacker", runtime=runtime)
    await nursery.start(attacker.run)
    unified = await sales_agent.start_cast(world=world, runtime=runtime, nursery=nursery)
    shadow = trad.ShadowScript(client=traditional.client("crm", key=traditional.shadow_key))
    nursery.start_soon(shadow.run)
    return ComparisonCast(world=world, runtime=runtime, unified=unified, traditional=traditional, shadow=shadow,
                          attacker=attacker, nursery=nursery)


def _with(result: PhaseResult, measurements: list[Measurement], *, ok: bool = True) -> PhaseResult:
    facts = dict(result.facts)
    for m in measurements:
        contained = "not contained" if m.time_to_containment is None else f"contained after {m.time_to_containment:g} s"
        facts[f"{m.configuration}: {m.step}"] = (f"{m.records_exposed} records exposed, {m.unauthorised_actions} "
                                                 f"unauthorised, {contained}, logged {m.steps_logged}/{m.steps_total}")
    return attrs.evolve(result, ok=result.ok and ok, facts=facts)


def _sales(number: int):
    async def phase(cast: ComparisonCast, spec: PhaseSpec) -> PhaseResult:
        return await SALES_PHASES[number](cast.unified, spec)
    return phase


async def phase_2_authentication(cast: ComparisonCast, spec: PhaseSpec) -> PhaseResult:
    """After the sales sign-in: the password of the first person who signs in with one (John in the
    sales world) phished and tried alone at the enterprise IdP and at the in-house login service."""
    result = await SALES_PHASES[2](cast.unified, spec)
    victim = next((p for p in cast.world.people if p.login == "password"), None)
    if victim is None or cast.nursery is None:
        return result
    idp = cast.unified.idp
    phished = PersonSecrets.for_person(cast.runtime, victim.id).password
    browser = Browser(name="browser:phisher", runtime=cast.runtime, person="an attacker", federation=None,
                      credentials={idp.base_url: Credentials(username=victim.email, password=phished)})
    await cast.nursery.start(browser.run)
    agent = cast.unified.agents[spec.agent]
    found = [await uni.phished_password(cast.runtime, browser=browser, login_url=agent.url(LOGIN_PATH), idp=idp.name),
             await trad.phished_password(cast.traditional, person=victim.id)]
    for m in found:
        await cast.add(m, spec)
    return _with(result, found)


async def phase_5_approval(cast: ComparisonCast, spec: PhaseSpec) -> PhaseResult:
    result = await SALES_PHASES[5](cast.unified, spec)
    action = next(a for a in cast.world.approvals.actions if a.phase == spec.number)
    rule = cast.world.approvals.rule_for(agent=action.agent, detail_type=action.detail.type)
    assert rule is not None and cast.unified.approvals is not None
    detail = dict(action.detail.values)
    delegation = next(iter(cast.unified.agents[action.agent].delegations.values()))
    unified = await uni.action_without_approval(cast.runtime, gate=cast.unified.approvals.gates[rule.executor],
                                                bearer=delegation.access_token, detail=detail)
    user = cast.world.person(action.user)
    traditional = await trad.high_value_proposal(
        cast.traditional, customer=str(detail.get("customer", "")), amount_eur=int(action.detail.amount),
        recipients=tuple(detail.get("recipients", ())), sender=user.email, threshold_eur=int(rule.rule.threshold))
    for m in (unified, traditional):
        await cast.add(m, spec)
    return _with(result, [unified, traditional])


async def phase_7_reviews(cast: ComparisonCast, spec: PhaseSpec) -> PhaseResult:
    result = await SALES_PHASES[7](cast.unified, spec)
    plane = cast.unified.control
    shadow = plane.jobs["shadow"]
    job = plane.jobs[cast.world.agents[0].id]
    reviewed = sum(1 for e in cast.runtime.audit.store.entries() if e.event == "certification.certified")
    found = [
        await uni.discovery_measurement(cast.runtime, crm=plane.crm, secret=shadow.static_secret,
                                        job_calls=job.stats.calls),
        trad.discovery_measurement(cast.traditional, cast.shadow, discovered_at=_at(cast.world, 1)),
        await uni.credential_measurement(cast.runtime, crm=plane.crm, secret=shadow.static_secret,
                                         row="access_reviews", step="step:quarterly-review",
                                         note=f"entitlements certified in the campaign: {reviewed}"),
        await trad.access_review(cast.traditional),
    ]
    cast.shadow.stop()  # the observation window of the shadow script ends here (its key keeps working)
    for m in found:
        await cast.add(m, spec)
    return _with(result, found)


def _at(world: World, number: int) -> float:
    return next(p.at.timestamp() for p in world.phases if p.number == number)


async def phase_8_drill(cast: ComparisonCast, spec: PhaseSpec) -> PhaseResult:
    """The sales phase 8 (same steps, ``scenarios.phases.threat_detection``), keeping the attempts and
    the stolen credentials; then the same attack on the traditional stack."""
    unified, runtime = cast.unified, cast.runtime
    security, plane = unified.security, unified.control
    attack = security.settings.attack if security is not None else None
    agent, person = unified.agents[spec.agent], cast.world.person(spec.user)
    problem = await sign_in(unified.browsers.get(spec.user), agent)
    delegation = next((d for d in agent.delegations.values() if d.email == person.email), None)
    if security is None or attack is None or problem or delegation is None:
        return PhaseResult(number=spec.number, name=spec.name, ok=False,
                           outcome=f"The drill could not start: {problem or 'no detection, attack or delegation'}.")
    signed_in_at = runtime.clock.now_float()
    tokens = await morning_tokens(unified, agent.name, delegation)
    owner = cast.world.person(cast.world.agent(spec.agent).owner)
    team = security.settings.detection.security_team
    target = DrillTarget(
        runtime=runtime, security=security, agent=agent, crm=plane.crm, idp=unified.idp, pam=plane.pam,
        credential_id=f"{agent.name}-crm", crm_client=plane.jobs[agent.name].client,
        credentials=plane.credentials_for(agent.name), registry=plane.security,
        mailboxes={"security team": (team, security.security_password),
                   person.name: (person.email, plane.mailboxes[person.id].password),
                   f"{owner.name} (owner)": (owner.email, plane.mailboxes[owner.id].password)},
        extra_probes=sales_probes(unified, tokens, agent_id=agent.name, user=delegation.subject))
    await runtime.clock.sleep_until(signed_in_at + THEFT_AFTER)
    kit = await steal(target)  # what the drill's attacker takes at this very moment, kept for day 46
    first_seq = runtime.audit.store.last()[0]
    outcome = await run_drill(target, signed_in_at=signed_in_at)
    result = drill_result(spec, target=target, outcome=outcome)
    cast.stolen = probes(target, kit)[1]
    cast.contained_at, cast.theft_at = outcome.contained_at, outcome.theft_at
    found = [uni.drill_measurement(runtime, report=outcome.report, first_seq=first_seq,
                                   contained_at=outcome.contained_at, theft_at=outcome.theft_at),
             await uni.loot_after(runtime, cast.stolen, row="incidents", step="step:after-the-incident",
                                  since=outcome.theft_at, contained_at=outcome.contained_at)]
    cast.loot = trad.LegacyLoot(cast=cast.traditional)
    report = await trad.bulk_read(cast.traditional, cast.attacker, cast.loot, records=attack.records,
                                  duration=attack.duration, retry_every=attack.retry_every,
                                  retry_rounds=attack.retry_rounds)
    found += trad.drill_measurements(cast.traditional, cast.loot, report)
    found.append(await trad.loot_after(cast.traditional, cast.loot, row="incidents", step="step:after-the-incident",
                                       since=report.started_at))
    for m in found:
        await cast.add(m, spec)
    await runtime.clock.sleep_until(signed_in_at + COMPARISON_AFTER)
    table = await day_46(cast, spec)
    return attrs.evolve(_with(result, found, ok=table.ok), outcome=f"{result.outcome} Day 46: {table.outcome}",
                        facts={**_with(result, found).facts, **table.facts})


async def day_46(cast: ComparisonCast, spec: PhaseSpec) -> PhaseResult:
    """Day 46: the stolen credentials and the day-0 key again; the attack library; the table."""
    found: list[Measurement] = []
    plane = cast.unified.control
    if cast.theft_at is not None and cast.loot is not None:
        found.append(await uni.loot_after(cast.runtime, cast.stolen, row="api_access", step="step:stolen-config-day-46",
                                          since=cast.theft_at, contained_at=cast.contained_at))
        found.append(await trad.loot_after(cast.traditional, cast.loot, row="api_access",
                                           step="step:stolen-config-day-46", since=cast.loot.started_at))
    found.append(await uni.credential_measurement(
        cast.runtime, crm=plane.crm, secret=plane.jobs["shadow"].static_secret, row="credentials",
        step="step:day-0-key-on-day-46", note="the CRM secret hard-coded before discovery"))
    found.append(await trad.day_zero_key(cast.traditional))
    for m in found:
        await cast.add(m, spec)
    return await finish_comparison(cast, spec, found)


PHASES = {1: _sales(1), 2: phase_2_authentication, 3: _sales(3), 4: _sales(4), 5: phase_5_approval, 6: _sales(6),
          7: phase_7_reviews, 8: phase_8_drill}
