"""The data-pipeline scenario (SPEC "Other scenarios"): database credentials rotated every 30 days
without interruption.

1. Registration: the pipeline agent is registered (owner: the data-platform team), its static
   database password vaulted under a 30-day policy (48 h overlap, 24 h lease) and replaced at once;
   its twice-daily batch starts, leasing the password from the vault.
2. JIT: a one-off backfill needs INSERT on a staging table: the vault issues a one-hour account,
   the backfill runs, and an hour later the database refuses it.
3. After 180 days: six scheduled rotations, zero failed calls, and every superseded password —
   including the very first vaulted one — refused by the database.
"""

from __future__ import annotations

import trio

from actors.agent_jobs import DatabaseBatchJob
from actors.saas.database import basic
from protocols.http import HttpRequest
from scenarios.phase_result import PhaseResult
from scenarios.phases.discovery_registration import collect_entitlements, vault_credential
from scenarios.pipeline_cast import ACCOUNT, DATABASE, QUERIES, PipelineCast
from scenarios.world import PhaseSpec

POLICY = {"every_days": 30, "overlap_hours": 48, "lease_hours": 24}
"""The default; a world's ``[[credential_rotation]]`` for the agent replaces it."""
CREDENTIAL = "pipeline-db-password"


async def _query(cast: PipelineCast, user: str, password: str, statement: dict) -> int:
    db = cast.control.databases[DATABASE]
    response = await cast.runtime.network.send(HttpRequest.json_post(
        url=db.url("/query"), payload=statement, headers={"authorization": basic(user, password)}))
    return response.status


async def phase_1_register(cast: PipelineCast, phase: PhaseSpec) -> PhaseResult:
    plane, spec = cast.control, cast.world.agent(phase.agent)
    policy = cast.world.rotation_policy(spec.id, default=POLICY)
    cast.extra["policy"], cast.extra["vaulted_at"] = policy, cast.runtime.clock.now()
    record = await plane.security.create({
        "id": spec.id, "displayName": spec.name, "lifecycleState": "registered", "owner": {"value": spec.owner},
        "purpose": spec.purpose, "accounts": [{"system": DATABASE, "value": ACCOUNT}],
        "metadata": {"schedule": "07:00 and 19:00 UTC", "agent_type": spec.agent_type or "data-pipeline"}})
    credential = await vault_credential(plane, credential_id=CREDENTIAL, agent_id=spec.id, system=DATABASE,
                                        account=ACCOUNT, kind="database_password", secret=cast.static_password,
                                        policy=policy)
    static_status = await _query(cast, ACCOUNT, cast.static_password, QUERIES[0])
    entitlements = await collect_entitlements(plane, spec.id)
    await plane.security.replace(spec.id, lifecycleState="active")
    client = plane.credentials_for(spec.id)
    cast.extra["first_secret"] = (await plane.credentials_for(spec.id).secret(CREDENTIAL))[0]
    job = DatabaseBatchJob(runtime=cast.runtime, agent=spec.id, database_url=plane.databases[DATABASE].base_url,
                           account=ACCOUNT, password=lambda: client.secret(CREDENTIAL), queries=QUERIES,
                           first_at=cast.runtime.clock.now() + 22 * 3600, every=12 * 3600)
    plane.jobs[spec.id] = job
    plane.nursery.start_soon(job.run)
    ok = static_status == 401 and credential["version"] == 2
    return PhaseResult(number=phase.number, name=phase.name, ok=ok,
                       outcome=(f"{record['id']} registered (owner {record['owner']['display']}); its database "
                                f"password is vaulted under a {policy['every_days']}-day rotation and the static "
                                f"one is refused "
                                f"(HTTP {static_status})."),
                       facts={"credential": f"{credential['id']} v{credential['version']}",
                              "policy": (f"every {policy['every_days']} days, {policy['overlap_hours']} h overlap, "
                                         f"{policy['lease_hours']} h lease"),
                              "entitlements": ", ".join(e["label"] for e in entitlements)})


async def phase_2_jit(cast: PipelineCast, phase: PhaseSpec) -> PhaseResult:
    plane, spec = cast.control, cast.world.agent(phase.agent)
    grant = await plane.credentials_for(spec.id).jit(system=DATABASE, privileges=("insert:staging_orders",),
                                                     reason="backfill of 2024 orders", ttl=3600)
    insert = {"op": "insert", "table": "staging_orders", "rows": [{"id": 1}, {"id": 2}]}
    during = await _query(cast, grant["username"], grant["password"], insert)
    await trio.sleep(3601)
    after = await _query(cast, grant["username"], grant["password"], insert)
    return PhaseResult(number=phase.number, name=phase.name, ok=during == 200 and after == 401,
                       outcome=(f"A one-hour JIT account {grant['username']} ran the backfill (HTTP {during}); "
                                f"an hour later the database refused it (HTTP {after})."),
                       facts={"privileges": "INSERT on staging_orders", "expires_in": grant["expires_in"]})


async def phase_3_rotations(cast: PipelineCast, phase: PhaseSpec) -> PhaseResult:
    plane, spec = cast.control, cast.world.agent(phase.agent)
    job = plane.jobs[spec.id]
    entries = plane.runtime.audit.store.entries()
    rotations = [e for e in entries if e.event == "credential.rotated" and e.reason == "scheduled rotation"]
    retired = [e for e in entries if e.event == "credential.previous_retired"]
    first_status = await _query(cast, ACCOUNT, cast.extra["first_secret"], QUERIES[0])
    db = plane.databases[DATABASE]
    overlap_uses = sum(1 for e in db.log_entries if e.event == "auth.succeeded" and e.old_password)
    days = (cast.runtime.clock.now() - cast.extra["vaulted_at"]) // 86400
    expected = days // cast.extra["policy"]["every_days"]  # one rotation per full period since vaulting
    ok = len(rotations) == expected and job.stats.failed == 0 and first_status == 401 and job.stats.calls > 0
    return PhaseResult(number=phase.number, name=phase.name, ok=ok,
                       outcome=(f"{len(rotations)} scheduled rotations in {days} days; the pipeline made "
                                f"{job.stats.calls} calls with {job.stats.failed} failures; the first vaulted "
                                f"password is refused (HTTP {first_status})."),
                       facts={"batches": job.stats.runs, "calls": job.stats.calls, "failed": job.stats.failed,
                              "password versions used": " → ".join(map(str, job.stats.versions_used)),
                              "calls accepted on the previous password (overlap)": overlap_uses,
                              "previous passwords discarded": len(retired)})


PIPELINE_PHASES = {1: phase_1_register, 2: phase_2_jit, 3: phase_3_rotations}
