"""The customer-service scenario's phases: weeks of routine support work, then the credential-theft
drill (the same drill as the sales scenario's phase 8, ``scenarios.phases.threat_detection``)."""

from __future__ import annotations

from scenarios.customer_service import SupportCast
from scenarios.phase_result import PhaseResult
from scenarios.phases.routine_watch import routine_summary
from scenarios.phases.threat_detection import DrillTarget, drill_result, run_drill, sign_in
from scenarios.world import PhaseSpec


async def phase_1_routine(cast: SupportCast, phase: PhaseSpec) -> PhaseResult:
    assert cast.security is not None
    return await routine_summary(cast.security, phase)


async def phase_2_credential_theft(cast: SupportCast, phase: PhaseSpec) -> PhaseResult:
    assert cast.security is not None
    plane, agent = cast.control, cast.agents[phase.agent]
    problem = await sign_in(cast.browsers.get(phase.user), agent)
    if problem:
        return PhaseResult(number=phase.number, name=phase.name, ok=False, outcome=f"Sign-in failed: {problem}.")
    person, owner = cast.world.person(phase.user), cast.world.person(cast.world.agent(phase.agent).owner)
    team = cast.security.settings.detection.security_team
    target = DrillTarget(
        runtime=cast.runtime, security=cast.security, agent=agent, crm=plane.crm, idp=cast.idp, pam=plane.pam, credential_id=cast.integrations[agent.name].credential_id,
        crm_client=cast.crm_clients[agent.name], credentials=plane.credentials_for(agent.name),
        registry=plane.security,
        mailboxes={"security team": (team, cast.security.security_password),
                   person.name: (person.email, plane.mailboxes[person.id].password),
                   f"{owner.name} (owner)": (owner.email, plane.mailboxes[owner.id].password)})
    outcome = await run_drill(target, signed_in_at=cast.runtime.clock.now_float())
    return drill_result(phase, target=target, outcome=outcome)


CUSTOMER_SERVICE_PHASES = {1: phase_1_routine, 2: phase_2_credential_theft}
