"""Pieces every attack of the library shares: delegated MCP tokens for the adversary to steal, and
the measured ``AttackOutcome`` built from the adversary's steps and the audit log (issue 11)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from actors.agent import Delegation
from actors.agent_cross_domain import CrossDomainFailed
from actors.runtime.actor import HttpActor
from actors.runtime.context import Runtime
from protocols.audit_chain import AuditEntry
from scenarios.attacks.cast import Stage, stage
from scenarios.attacks.measure import (
    audit_complete, denials, evidence_of, first_refusal, in_step, layer_key, step_evidence,
)
from scenarios.attacks.outcome import CONFIGURATIONS, AttackOutcome
from scenarios.attacks.traditional_stage import TraditionalStage, traditional_stage


def check_configuration(configuration: str) -> None:
    if configuration not in CONFIGURATIONS:
        raise ValueError(f"unknown configuration {configuration!r} (expected one of {', '.join(CONFIGURATIONS)})")


async def run_attack(*, configuration: str, seed: int, transport: str,
                     unified: Callable[[Stage], Awaitable[AttackOutcome]],
                     traditional: Callable[[TraditionalStage], Awaitable[AttackOutcome]],
                     extra: Callable[[Runtime], Sequence[HttpActor]] | None = None) -> AttackOutcome:
    """Start the configuration's cast in a fresh runtime and play the attack's steps against it."""
    check_configuration(configuration)
    if configuration == "unified":
        async with stage(seed=seed, transport=transport, extra=extra) as st:
            return await unified(st)
    async with traditional_stage(seed=seed, transport=transport) as ts:
        return await traditional(ts)


async def mcp_token(st: Stage, delegation: Delegation, server: str) -> str:
    """The delegated token the agent obtains for one MCP server (RFC 8693 at the IdP, as in phase 3)."""
    mcp = st.cast.mcp_servers[server]
    assert mcp.spec is not None
    return await st.mcp.token_for(delegation, resource=mcp.resource, scope=(mcp.spec.scope,))


def refused_by(failure: CrossDomainFailed) -> tuple[int, str | None, Any]:
    """A cross-domain client's refusal as an adversary step result: (HTTP status, error code, no value)."""
    error = failure.error
    return (error.status if error is not None else 0), (error.error if error is not None else failure.step), None


def entry_time(entry: AuditEntry) -> float:
    return datetime.fromisoformat(entry.time.replace("Z", "+00:00")).timestamp()


def measured(st: Stage, *, attack: str, configuration: str, records_exposed: int, unauthorised_actions: int,
             decisive: AuditEntry | None = None, evidence: Iterable[str] = ()) -> AttackOutcome:
    """The outcome as observed: stopped when nothing was exposed or executed and a refusal is on
    record (``decisive``, else the first deny entry of a refused step); its layer is ``stopped_by``;
    time to containment runs from the first step to that refusal."""
    entries = st.runtime.audit.store.entries()
    steps = st.adversary.steps
    refusal = decisive if decisive is not None else first_refusal(entries, steps)
    stopped = records_exposed == 0 and unauthorised_actions == 0 and refusal is not None
    started = steps[0].time if steps else st.runtime.clock.now_float()
    containment = max(0.0, round(entry_time(refusal) - started, 3)) if stopped and refusal is not None else None
    proof = []
    for step in steps:
        proof.append(step_evidence(step))
        proof += [evidence_of(e) for e in denials(in_step(entries, step))]
    if refusal is not None and evidence_of(refusal) not in proof:
        proof.append(evidence_of(refusal))
    return AttackOutcome(attack=attack, configuration=configuration, stopped=stopped,
                         stopped_by=layer_key(refusal) if stopped else None, records_exposed=records_exposed,
                         unauthorised_actions=unauthorised_actions, time_to_containment=containment,
                         audit_complete=audit_complete(entries, steps), evidence=(*proof, *evidence))
