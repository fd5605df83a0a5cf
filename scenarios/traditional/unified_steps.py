"""The comparison's scenario steps measured on the unified platform (the sales-agent cast, issue 11).

The sales phases run as they always do; these functions measure what the traditional steps measure,
against the same actors, from the adversary's answers and the platform's audit log: the shadow
integration's reads until discovery contained it and its static key afterwards; a high-value
action tried without an approval token; the phase-8 theft (the sales scenario's drill, replayed here
so its attempts are kept) and every stolen credential tried again a day later.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from actors.attacker import AttackReport, Probe
from actors.browser import Navigate
from actors.runtime.network import Unreachable
from actors.vault_client import DelegationExpired
from actors.runtime.context import Runtime
from protocols.audit_chain import AuditEntry
from protocols.http import HttpRequest, HttpResponse
from protocols.oauth.client_auth import basic_authorization
from scenarios.sales_governance import SHADOW_CLIENT
from scenarios.traditional.audit_coverage import UnifiedRequest, unified_coverage
from scenarios.traditional.comparison import Measurement

API_EVENTS = frozenset({"api.called", "api.denied"})


def epoch_of(entry: AuditEntry) -> float:
    return datetime.fromisoformat(entry.time.replace("Z", "+00:00")).timestamp()


@attrs.define(eq=False)
class UnifiedProber:
    """Sends the adversary's requests to the unified cast and keeps each one's audit window."""

    runtime: Runtime
    requests: list[UnifiedRequest] = attrs.field(factory=list)

    async def send(self, system: str, request: HttpRequest) -> HttpResponse:
        before = self.runtime.audit.store.last()[0]
        response = await self.runtime.network.send(request)
        self.requests.append(UnifiedRequest(system=system, seq_before=before,
                                            seq_after=self.runtime.audit.store.last()[0], status=response.status))
        return response


def measurement(*, runtime: Runtime, row: str, step: str, requests: Sequence[UnifiedRequest], started: float,
                records: int, actions: int, contained_at: float | None, evidence: Sequence[str],
                counted: tuple[int, int] = (0, 0)) -> Measurement:
    """``counted``: (logged, total) of adversary calls counted elsewhere (the shadow job's own count)."""
    coverage = unified_coverage(requests, runtime.audit.store.entries())
    logged, total = coverage.logged + counted[0], coverage.total + counted[1]
    return Measurement(row=row, configuration="unified", step=step, records_exposed=records,
                       unauthorised_actions=actions,
                       time_to_containment=None if contained_at is None else round(max(0.0, contained_at - started), 3),
                       observed=round(runtime.clock.now_float() - started, 3), steps_logged=logged,
                       steps_total=total, evidence=(*evidence, f"one log: the platform audit log ({logged}/{total})"))


async def static_secret_probe(prober: UnifiedProber, *, crm: object, secret: str) -> HttpResponse:
    """The shadow integration's original, hard-coded CRM secret, redeemed once more."""
    return await prober.send(crm.name, HttpRequest.form_post(  # type: ignore[attr-defined]
        url=crm.url("/token"), params={"grant_type": "client_credentials", "scope": "crm.read"},  # type: ignore[attr-defined]
        headers={"authorization": basic_authorization(SHADOW_CLIENT, secret)}))


def shadow_calls(entries: Sequence[AuditEntry], *, crm: str) -> list[AuditEntry]:
    return [e for e in entries if e.actor == crm and e.event in API_EVENTS and e.agent == SHADOW_CLIENT]


async def discovery_measurement(runtime: Runtime, *, crm: object, secret: str, job_calls: int) -> Measurement:
    """Records the unregistered integration read until discovery flagged it; its static key after."""
    entries = runtime.audit.store.entries()
    crm_name = crm.name  # type: ignore[attr-defined]
    found = next((e for e in entries if e.event == "shadow_ai.discovered"), None)
    replaced = next((e for e in entries if e.event == "integration.secret_replaced" and e.actor == crm_name), None)
    calls = shadow_calls(entries, crm=crm_name)
    before = [e for e in calls if found is not None and e.seq < found.seq]
    started = epoch_of(calls[0]) if calls else runtime.clock.now_float()
    prober = UnifiedProber(runtime=runtime)
    probe = await static_secret_probe(prober, crm=crm, secret=secret)
    # the job counted its own calls (ground truth); each is logged if the CRM's audit entries hold it
    return measurement(
        runtime=runtime, row="discovery", step="step:shadow-ai", requests=prober.requests,
        counted=(min(len(calls), job_calls), job_calls),
        started=started, records=sum(int(e.details.get("records", 0)) for e in before),
        actions=1 if probe.status == 200 else 0, contained_at=epoch_of(replaced) if replaced else None,
        evidence=(f"discovery finding: {found.details.get('account', '?') if found else 'none'} "
                  f"({found.decision if found else '-'})",
                  f"shadow calls before the finding: {len(before)}; static secret afterwards: HTTP {probe.status}"))


async def credential_measurement(runtime: Runtime, *, crm: object, secret: str, row: str, step: str,
                                 note: str) -> Measurement:
    """The hard-coded secret of day 0 tried now: refused since it was vaulted (and rotated)."""
    entries = runtime.audit.store.entries()
    crm_name = crm.name  # type: ignore[attr-defined]
    calls = shadow_calls(entries, crm=crm_name)
    replaced = next((e for e in entries if e.event == "integration.secret_replaced" and e.actor == crm_name), None)
    started = epoch_of(calls[0]) if calls else runtime.clock.now_float()
    prober = UnifiedProber(runtime=runtime)
    probe = await static_secret_probe(prober, crm=crm, secret=secret)
    return measurement(runtime=runtime, row=row, step=step, requests=prober.requests, started=started, records=0,
                       actions=1 if probe.status == 200 else 0,
                       contained_at=epoch_of(replaced) if replaced and probe.status != 200 else None,
                       evidence=(note, f"the static CRM secret of day 0: HTTP {probe.status}"))


async def action_without_approval(runtime: Runtime, *, gate: object, bearer: str, detail: dict) -> Measurement:
    """The agent executes the high-value proposal without an approval token (its user's access
    token instead, then no token at all)."""
    started = runtime.clock.now_float()
    prober = UnifiedProber(runtime=runtime)
    statuses = []
    for headers in ({"authorization": f"Bearer {bearer}"}, {}):
        for action in ("send_email", "update_crm"):
            response = await prober.send(gate.name, HttpRequest.json_post(  # type: ignore[attr-defined]
                url=gate.url("/actions"), payload={"action": action, "detail": detail},  # type: ignore[attr-defined]
                headers=headers))
            statuses.append(response.status)
    executed = sum(1 for s in statuses if 200 <= s < 300)
    return measurement(runtime=runtime, row="approval", step="step:high-value-proposal", requests=prober.requests,
                       started=started, records=0, actions=executed, contained_at=started if not executed else None,
                       evidence=(f"{detail.get('amount')} {detail.get('currency')} proposal without approval token: "
                                 f"HTTP {', '.join(map(str, statuses))}",))


def attempt_requests(report: AttackReport, *, first_seq: int) -> list[UnifiedRequest]:
    """Each attempt's audit window: from the previous attempt's sequence number to its own."""
    requests, before = [], first_seq
    for attempt in report.attempts:
        requests.append(UnifiedRequest(system=attempt.receiver, seq_before=before, seq_after=attempt.seq,
                                       status=attempt.status))
        before = attempt.seq
    return requests


def drill_measurement(runtime: Runtime, *, report: AttackReport, first_seq: int, contained_at: float | None,
                      theft_at: float) -> Measurement:
    accepted = [a for a in report.attempts if a.ok]
    return measurement(runtime=runtime, row="threats", step="step:bulk-read",
                       requests=attempt_requests(report, first_seq=first_seq), started=theft_at,
                       records=report.records_read, actions=len(accepted), contained_at=contained_at,
                       evidence=(f"{len(report.attempts)} attempts, {len(accepted)} accepted",
                                 f"records read: {report.records_read}"))


async def loot_after(runtime: Runtime, probes: Sequence[Probe], *, row: str, step: str, since: float,
                     contained_at: float | None) -> Measurement:
    """Every stolen credential tried once more: what still opens."""
    requests, opened, records, unsent = [], [], 0, []
    for probe in probes:
        before = runtime.audit.store.last()[0]
        try:
            result = await probe.attempt(0)
        except (Unreachable, DelegationExpired):  # e.g. the stolen ID token expired: nothing was sent
            unsent.append(probe.credential)
            continue
        requests.append(UnifiedRequest(system=probe.receiver, seq_before=before,
                                       seq_after=runtime.audit.store.last()[0], status=result.status))
        if result.ok:
            opened.append(probe.credential)
            records += result.records
    return measurement(runtime=runtime, row=row, step=step, requests=requests, started=since, records=records,
                       actions=len(opened), contained_at=contained_at if not opened else None,
                       evidence=(f"stolen credentials still accepted: {len(opened)} of {len(probes)}",
                                 *(f"accepted: {c}" for c in opened),
                                 *(f"could not even be presented (expired): {c}" for c in unsent)))


async def phished_password(runtime: Runtime, *, browser: Any, login_url: str, idp: str) -> Measurement:
    """An attacker's browser with a phished enterprise password (not the authenticator) signs in to
    the agent: the IdP's universal login asks for the second factor."""
    started = runtime.clock.now_float()
    before = runtime.audit.store.last()[0]
    result = await browser.ask(Navigate(url=login_url))
    signed_in = not result.problem and result.status == 200
    request = UnifiedRequest(system=idp, seq_before=before, seq_after=runtime.audit.store.last()[0],
                             status=result.status)
    refusals = [f"{e.event} {e.reason}" for e in runtime.audit.store.entries()
                if request.seq_before < e.seq <= request.seq_after and e.actor == idp and e.decision == "deny"]
    return measurement(runtime=runtime, row="user_auth", step="step:phished-password", requests=[request],
                       started=started, records=0, actions=1 if signed_in else 0,
                       contained_at=None if signed_in else runtime.clock.now_float(),
                       evidence=(f"sign-in with the password alone: HTTP {result.status} at "
                                 f"{result.final_url.split('?')[0]}"
                                 + (f" ({result.problem})" if result.problem else "")
                                 + ("; signed in" if signed_in else "; no session"),
                                 f"the IdP: {', '.join(refusals) or 'no refusal'}"))
