"""Privileged credentials end to end: a database, the vault's rotation with overlap, leases, JIT."""

import attrs
import pytest
import trio

from actors.agent_jobs import DatabaseBatchJob
from actors.credential_client import VaultCredentialClient
from actors.privileged_vault import PrivilegedVaultActor
from actors.rotation_targets import DatabaseTarget
from actors.runtime.network import Transport
from actors.saas.database import DatabaseActor, basic
from protocols.http import HttpRequest
from protocols.jose.jwks import JwkSet
from protocols.jose.keys import Algorithm
from protocols.oauth.client_auth import ClientRegistration
from protocols.oauth.errors import OAuthError
from tests.actors.runtime.helpers import running_runtime

DAY = 86400
AGENT = "pipeline-agent-001"
QUERY = {"op": "select", "table": "orders", "limit": 10}


async def setup(runtime, nursery, *, lease_override=None):
    db = DatabaseActor(name="warehouse-db", runtime=runtime, base_url=runtime.network.base_url_for("warehouse-db"),
                       tables={"orders": [{"id": i} for i in range(20)], "staging": []})
    db.create_user("dba", password="dba-password-0001")
    db.create_user("svc_pipeline", password="static-password-1", privileges={"orders": {"select"}})
    key = runtime.new_signing_key(owner=AGENT, purpose="keys", alg=Algorithm.ES256)
    vault = PrivilegedVaultActor(
        name="pam", runtime=runtime, base_url=runtime.network.base_url_for("pam"),
        targets={"warehouse-db": DatabaseTarget(runtime=runtime, system="warehouse-db", base_url=db.base_url,
                                                admin_user="dba", admin_password="dba-password-0001")},
        clients={AGENT: ClientRegistration(client_id=AGENT, name=AGENT, redirect_uris=(),
                                           jwks=JwkSet.from_json({"keys": [key.public_jwk()]}))},
        jit_allowed={AGENT: frozenset({"warehouse-db:insert:staging"})})
    for actor in (db, vault):
        runtime.network.register(actor)
        await nursery.start(actor.run)
    await nursery.start(runtime.network.serve)
    operator = vault.issue_operator_token()
    client = VaultCredentialClient(runtime=runtime, vault_url=vault.base_url, agent_id=AGENT, signing_key=key,
                                   lease_override=lease_override)
    return db, vault, operator, client


async def vault_it(runtime, vault, operator, *, overlap_hours=48, lease_hours=24):
    response = await runtime.network.send(HttpRequest.json_post(
        url=vault.base_url + "/credentials", headers={"authorization": f"Bearer {operator}"},
        payload={"id": "cred-pipeline-db", "agent": AGENT, "system": "warehouse-db", "account": "svc_pipeline",
                 "kind": "database_password", "secret": "static-password-1", "replace_now": True,
                 "policy": {"every_days": 30, "overlap_hours": overlap_hours, "lease_hours": lease_hours}}))
    assert response.status == 201, response.body
    return response.json()


async def query_as(runtime, db, user, password):
    return await runtime.network.send(HttpRequest.json_post(url=db.base_url + "/query", payload=QUERY,
                                                            headers={"authorization": basic(user, password)}))


@pytest.mark.parametrize("transport", list(Transport), ids=lambda t: t.value)
async def test_static_password_is_replaced_at_vaulting(transport, autojump_clock):
    async with running_runtime(transport) as (runtime, nursery, log):
        db, vault, operator, client = await setup(runtime, nursery)
        assert (await query_as(runtime, db, "svc_pipeline", "static-password-1")).status == 200
        described = await vault_it(runtime, vault, operator)
        assert described["version"] == 2 and described["accepted_versions"] == [2]
        refused = await query_as(runtime, db, "svc_pipeline", "static-password-1")
        assert refused.status == 401 and refused.json()["error"] == "28P01"
        secret, version = await client.secret("cred-pipeline-db")
        assert version == 2 and (await query_as(runtime, db, "svc_pipeline", secret)).status == 200
        assert secret not in log.getvalue() and "static-password-1" not in log.getvalue()


async def test_six_rotations_in_180_days_without_a_failed_call(autojump_clock):
    async with running_runtime(Transport.CHANNEL) as (runtime, nursery, _log):
        db, vault, operator, client = await setup(runtime, nursery)
        await vault_it(runtime, vault, operator)
        job = DatabaseBatchJob(runtime=runtime, agent=AGENT, database_url=db.base_url, account="svc_pipeline",
                               password=lambda: client.secret("cred-pipeline-db"), queries=[QUERY] * 2,
                               first_at=runtime.clock.now() + 23 * 3600, every=12 * 3600)  # 07:00 and 19:00
        nursery.start_soon(job.run)
        first_secret, _ = await VaultCredentialClient(runtime=runtime, vault_url=vault.base_url, agent_id=AGENT,
                                                      signing_key=client.signing_key).secret("cred-pipeline-db")
        await trio.sleep(181 * DAY)
        job.stop()
        entries = runtime.audit.store.entries()
        rotations = [e for e in entries if e.event == "credential.rotated" and e.reason == "scheduled rotation"]
        assert len(rotations) == 6
        assert job.stats.failed == 0 and job.stats.calls == 2 * job.stats.runs >= 700
        assert job.stats.versions_used == [2, 3, 4, 5, 6, 7, 8]
        assert (await query_as(runtime, db, "svc_pipeline", first_secret)).status == 401
        old_used = [e for e in db.log_entries if e.event == "auth.succeeded" and e.old_password]
        assert old_used, "the overlap window was never needed: the test would not show it"
        retired = [e for e in entries if e.event == "credential.previous_retired"]
        assert len(retired) == 5  # the sixth overlap (opened on day 180) is still running on day 181
        (credential,) = vault.store.all()
        assert [v.state.value for v in credential.versions[-2:]] == ["previous", "current"]


async def test_a_consumer_caching_beyond_the_overlap_fails(autojump_clock):
    """The same schedule with a consumer that ignores its lease: once the overlap closes the
    database refuses the old password — the overlap is enforced, not assumed."""
    async with running_runtime(Transport.CHANNEL) as (runtime, nursery, _log):
        db, vault, operator, client = await setup(runtime, nursery, lease_override=40 * DAY)
        await vault_it(runtime, vault, operator)
        job = DatabaseBatchJob(runtime=runtime, agent=AGENT, database_url=db.base_url, account="svc_pipeline",
                               password=lambda: client.secret("cred-pipeline-db"), queries=[QUERY],
                               first_at=runtime.clock.now() + 3600, every=12 * 3600)
        nursery.start_soon(job.run)
        await trio.sleep(35 * DAY)
        job.stop()
        assert job.stats.failed > 0 and all("HTTP 401" in f for f in job.stats.failures)


async def test_jit_credential_works_then_expires_and_policy_limits(autojump_clock):
    async with running_runtime(Transport.CHANNEL) as (runtime, nursery, _log):
        db, vault, operator, client = await setup(runtime, nursery)
        grant = await client.jit(system="warehouse-db", privileges=("insert:staging",), reason="backfill", ttl=3600)
        insert = {"op": "insert", "table": "staging", "rows": [{"id": 1}]}
        ok = await runtime.network.send(HttpRequest.json_post(
            url=db.base_url + "/query", payload=insert, headers={"authorization": basic(grant["username"], grant["password"])}))
        assert ok.status == 200
        await trio.sleep(3601)
        late = await runtime.network.send(HttpRequest.json_post(
            url=db.base_url + "/query", payload=insert, headers={"authorization": basic(grant["username"], grant["password"])}))
        assert late.status == 401
        assert grant["username"] not in {u["name"] for u in (await vault.targets["warehouse-db"].users())}
        with pytest.raises(OAuthError) as denied:
            await client.jit(system="warehouse-db", privileges=("select:orders",), reason="x", ttl=60)
        assert denied.value.error == "access_denied"
        with pytest.raises(OAuthError) as too_long:
            await client.jit(system="warehouse-db", privileges=("insert:staging",), reason="x", ttl=86400)
        assert too_long.value.error == "invalid_request"


async def test_another_agent_cannot_lease_and_bad_policy_is_refused(autojump_clock):
    async with running_runtime(Transport.CHANNEL) as (runtime, nursery, _log):
        db, vault, operator, client = await setup(runtime, nursery)
        bad = await runtime.network.send(HttpRequest.json_post(
            url=vault.base_url + "/credentials", headers={"authorization": f"Bearer {operator}"},
            payload={"agent": AGENT, "system": "warehouse-db", "account": "svc_pipeline", "kind": "database_password",
                     "secret": "static-password-1",
                     "policy": {"every_days": 30, "overlap_hours": 1, "lease_hours": 24}}))
        assert bad.status == 400 and "shorter than the lease" in bad.json()["error_description"]
        await vault_it(runtime, vault, operator)
        other_key = runtime.new_signing_key(owner="intruder", purpose="keys", alg=Algorithm.ES256)
        intruder = VaultCredentialClient(runtime=runtime, vault_url=vault.base_url, agent_id=AGENT,
                                         signing_key=other_key)
        with pytest.raises(OAuthError) as caught:
            await intruder.secret("cred-pipeline-db")
        assert caught.value.error == "invalid_client"
        anonymous = await runtime.network.send(HttpRequest.get(vault.base_url + "/credentials"))
        assert anonymous.status == 401


def _denials(runtime, event):
    return [e for e in runtime.audit.store.entries() if e.event == event]


async def test_every_refused_lease_is_audited_with_its_reason(autojump_clock):
    """A stolen or wrong key, a suspended agent, an unknown or revoked credential: each refusal is a
    ``credential.lease_denied`` entry (deny, ``error: description``), naming the agent when it was
    authenticated and otherwise the client the request claimed to be — never the assertion."""
    async with running_runtime(Transport.CHANNEL) as (runtime, nursery, _log):
        db, vault, operator, client = await setup(runtime, nursery)
        await vault_it(runtime, vault, operator)
        intruder = VaultCredentialClient(runtime=runtime, vault_url=vault.base_url, agent_id=AGENT,
                                         signing_key=runtime.new_signing_key(owner="intruder", purpose="keys",
                                                                             alg=Algorithm.ES256))
        with pytest.raises(OAuthError):
            await intruder.secret("cred-pipeline-db")
        with pytest.raises(OAuthError) as unknown:
            await client.secret("cred-nobody")
        assert unknown.value.error == "not_found"
        vault.clients[AGENT] = attrs.evolve(vault.clients[AGENT], jwks=JwkSet.from_json({"keys": []}))  # suspended
        with pytest.raises(OAuthError):
            await client.secret("cred-pipeline-db")
        wrong_key, not_found, suspended = _denials(runtime, "credential.lease_denied")
        assert all(e.decision == "deny" and e.actor == "pam" for e in (wrong_key, not_found, suspended))
        assert wrong_key.agent is None and wrong_key.details["claimed_client"] == AGENT
        assert wrong_key.reason.startswith("invalid_client: client_assertion rejected")
        assert wrong_key.details["credential"] == "cred-pipeline-db"
        assert not_found.agent == AGENT and not_found.reason == "not_found: no credential 'cred-nobody'"
        assert suspended.agent is None and suspended.reason.endswith("its keys were withdrawn)")
        for entry in (wrong_key, not_found, suspended):
            assert "client_assertion" not in entry.details


async def test_refused_revoked_lease_jit_and_operator_calls_are_audited(autojump_clock):
    async with running_runtime(Transport.CHANNEL) as (runtime, nursery, _log):
        db, vault, operator, client = await setup(runtime, nursery)
        await vault_it(runtime, vault, operator)
        revoked = await runtime.network.send(HttpRequest.form_post(
            url=vault.base_url + "/credentials/cred-pipeline-db/revoke", params={},
            headers={"authorization": f"Bearer {operator}"}))
        assert revoked.status == 200
        with pytest.raises(OAuthError) as caught:
            await client.secret("cred-pipeline-db")
        assert caught.value.error == "access_denied"
        (lease,) = _denials(runtime, "credential.lease_denied")
        assert lease.agent == AGENT and lease.reason == "access_denied: this credential has been revoked"
        with pytest.raises(OAuthError):
            await client.jit(system="warehouse-db", privileges=("select:orders",), reason="x", ttl=60)
        (jit,) = _denials(runtime, "jit.denied")
        assert jit.agent == AGENT and jit.decision == "deny" and jit.details["privileges"] == ["select:orders"]
        assert jit.reason == "access_denied: privilege outside the JIT policy: select:orders"
        for method, path in (("GET", "/credentials"), ("POST", "/credentials/cred-pipeline-db/rotate")):
            response = await runtime.network.send(HttpRequest(method=method, url=vault.base_url + path,
                                                              headers={"authorization": "Bearer pam_guessed"}))
            assert response.status == 401
        listed, rotated = _denials(runtime, "credential.operation_denied")
        assert (listed.details["operation"], rotated.details["operation"]) == ("list", "rotate")
        assert rotated.details["credential"] == "cred-pipeline-db" and rotated.decision == "deny"
        assert listed.reason == "invalid_token: a vault operator token is required"
