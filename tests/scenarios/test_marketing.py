"""The marketing scenario (issue 8, "must be shown" 3) over both transports: it ends with no grant
left anywhere for the agent — asked of every system directly, through each one's own API, not
governance's view —, the live tokens it held are refused by each system right after, and the agent's
whole history is still in the registry and the audit log."""

from urllib.parse import quote

import pytest

from actors.governance_connectors import IntegrationConnector
from actors.runtime.network import Transport
from actors.saas.database import basic
from protocols.audit_chain import verify_chain
from protocols.http import HttpRequest
from protocols.oauth.client_auth import client_assertion_params
from protocols.token_exchange import GRANT_TYPE_TOKEN_EXCHANGE
from scenarios.library import SCENARIOS
from scenarios.marketing_cast import CRM_ACCOUNT, DATABASE, DB_ACCOUNT, start_marketing_cast
from scenarios.phases.marketing import MARKETING_PHASES
from scenarios.world import load_world
from tests.actors.runtime.helpers import running_runtime
from tests.actors.vault_helpers import fast_crypto  # noqa: F401

WORLD = load_world(SCENARIOS["marketing"].world_file)
AGENT = WORLD.agents[0].id


async def call(cast, request):
    response = await cast.runtime.network.send(request)
    return response.status, (response.json() if response.body else {})


async def ask_every_system(cast) -> dict[str, object]:
    """What each system itself says it grants the agent, through its own API."""
    plane, base = cast.control, cast.base
    seen: dict[str, object] = {}
    _s, users = await call(cast, HttpRequest.get(cast.database.url("/admin/users"),
                                                 headers={"authorization": basic("dba", plane.db_admin[DATABASE])}))
    seen["database accounts"] = [u for u in users["users"] if u["name"] == DB_ACCOUNT]
    crm_admin = next(c for c in plane.governance.connectors if isinstance(c, IntegrationConnector)).client
    token = await crm_admin.access_token()
    _s, apps = await call(cast, HttpRequest.get(plane.crm.url("/admin/integrations"),
                                                headers={"authorization": f"Bearer {token}"}))
    seen["crm integrations"] = [a for a in apps["integrations"] if a["service_account"] == CRM_ACCOUNT]
    _s, creds = await call(cast, HttpRequest.get(plane.pam.url(f"/credentials?agent={AGENT}"),
                                                 headers={"authorization": f"Bearer {plane.pam_token}"}))
    seen["vaulted credentials in force"] = [c["id"] for c in creds["credentials"] if not c["revoked"]]
    vault = base.vault.vault
    _s, held = await call(cast, HttpRequest.get(vault.url(f"/admin/agents/{AGENT}"), headers={
        "authorization": f"Bearer {plane.admin_tokens[vault.name].issue()}"}))
    seen["token vault grants"] = held["grants"]
    seen["token vault registration"] = held["registered"]
    status, _c = await call(cast, HttpRequest.get(base.idp.url(f"/admin/clients/{quote(AGENT)}"), headers={
        "authorization": f"Bearer {plane.admin_tokens[base.idp.name].issue()}"}))
    seen["idp registration"] = status == 200
    # the IdP itself: does it still authenticate the agent's private_key_jwt client assertion?
    params = client_assertion_params(client_id=AGENT, audience=base.idp.base_url,
                                     key=base.agents[AGENT].signing_key, now=cast.runtime.clock.now(),
                                     entropy=cast.runtime.entropy_for("test-assertions").child(str(len(seen))))
    status, body = await call(cast, HttpRequest.form_post(url=base.idp.url("/token"),
                                                          params={"grant_type": GRANT_TYPE_TOKEN_EXCHANGE, **params}))
    seen["idp authenticates the agent"] = body.get("error") != "invalid_client"
    fga = base.fga
    _s, tuples = await call(cast, HttpRequest.json_post(url=fga.url(f"/stores/{fga.store_id}/read"),
                                                        payload={"page_size": 100}))
    seen["fga tuples"] = [t["key"] for t in tuples["tuples"] if t["key"]["user"] == f"agent:{AGENT}"]
    _s, check = await call(cast, HttpRequest.json_post(url=fga.url(f"/stores/{fga.store_id}/check"), payload={
        "tuple_key": {"user": f"agent:{AGENT}", "relation": "viewer", "object": "collection:campaign-assets"}}))
    seen["fga allows campaign assets"] = check["allowed"]
    return seen


@pytest.mark.parametrize("transport", list(Transport), ids=lambda t: t.value)
async def test_marketing_agent_ends_with_no_grant_anywhere_and_its_history_kept(transport, autojump_clock,
                                                                                fast_crypto):  # noqa: F811
    async with running_runtime(transport) as (runtime, nursery, _log):
        cast = await start_marketing_cast(world=WORLD, runtime=runtime, nursery=nursery)
        results = {}
        for phase in WORLD.phases:
            await runtime.clock.sleep_until(phase.at.timestamp())
            if phase.number == 5:
                before = await ask_every_system(cast)
            results[phase.number] = await MARKETING_PHASES[phase.number](cast, phase)
            assert results[phase.number].ok, (phase.number, results[phase.number].outcome, results[phase.number].facts)
        after = await ask_every_system(cast)
        again = await cast.runtime.network.send(HttpRequest(
            method="POST", url=cast.control.governance.url(f"/agents/{AGENT}/deprovision"),
            headers={"authorization": f"Bearer {cast.control.governance_token}"}))
        entries = runtime.audit.store.entries()
        record = await cast.control.security.get(AGENT)
        history = await cast.control.security.history(AGENT)

    # before deprovisioning the agent still held grants the review kept (so the check can fail) …
    assert before["crm integrations"] and before["vaulted credentials in force"] and before["fga tuples"]
    assert before["token vault grants"] and before["idp registration"] and before["idp authenticates the agent"]
    assert before["fga allows campaign assets"]
    assert before["database accounts"] == []  # the owner revoked the customer database in the review
    # … and afterwards every system says: nothing
    assert after == {"database accounts": [], "crm integrations": [], "vaulted credentials in force": [],
                     "token vault grants": [], "token vault registration": False, "idp registration": False,
                     "idp authenticates the agent": False, "fga tuples": [], "fga allows campaign assets": False}
    # the tokens the agent held just before deprovisioning worked, and right after each system itself
    # refuses the very same token (not only new token requests)
    facts = results[5].facts
    held = ("CRM integration", "IdP (userinfo)", "Gmail via the token vault")
    assert [facts[f"{name} token before"] for name in held] == ["200"] * 3
    assert [facts[f"{name} token after"] for name in held] == ["401 invalid_token"] * 3
    ended = {(e.details["system"], e.details["tokens"]) for e in entries if e.event == "governance.tokens_revoked"
             and e.reason.startswith("deprovisioned")}
    assert ended == {("crm", 1), ("google-workspace", 1), ("acme-idp", 2)}, ended
    assert [e.details["upstream_status"] for e in entries if e.event == "vault.tokens_revoked"] == [[200]]
    # deprovisioning again finds nothing to remove (and the retired record stays as it is)
    assert again.status == 200 and again.json()["removed"] == [] and again.json()["remaining"] == []
    # the registry keeps the decommissioned record and its history
    assert record["lifecycleState"] == "decommissioned"
    assert [c["after"] for h in history for c in h["changes"] if c["attribute"] == "lifecycleState"] == \
        ["registered", "active", "decommissioned"]
    # the full history is in the (intact) audit log: registration to deprovisioning
    assert verify_chain(entries).ok
    mine = [e.event for e in entries if e.agent == AGENT]
    for event in ("registry.agent_created", "credential.vaulted", "governance.entitlements_collected",
                  "access.elevation_refused", "access.elevation_granted", "access.elevation_expired",
                  "certification.campaign_opened", "certification.certified", "certification.revoked",
                  "certification.reminder_sent", "governance.entitlement_revoked", "certification.campaign_closed",
                  "vault.grant_revoked", "vault.agent_removed", "access.client_removed", "governance.deprovisioned",
                  "registry.lifecycle_changed"):
        assert event in mine, event
    assert mine.index("registry.agent_created") < mine.index("certification.revoked") < \
        mine.index("governance.deprovisioned")
    revoked = [e for e in entries if e.event == "certification.revoked"]
    assert {e.details["entitlement"].split(":")[0] for e in revoked} == {"privileged-vault", DATABASE}
    assert all(e.details["campaign"] and e.subject == "emma" for e in revoked)
    deadline = [e for e in entries if e.event == "governance.entitlement_revoked"
                and e.reason == "not certified by the deadline"]
    assert [e.details["entitlement"] for e in deadline] == ["token-vault:vault_integration:google-calendar "
                                                            "(google-workspace)"]


def test_marketing_run_is_byte_identical_for_the_same_seed(tmp_path, fast_crypto):  # noqa: F811
    from scenarios.runner import RunOptions, run_scenario

    runs = [run_scenario(RunOptions(scenario=SCENARIOS["marketing"], world=WORLD, transport=Transport.CHANNEL, seed=3,
                                    out_dir=tmp_path / name, render=False)) for name in ("a", "b")]
    assert all(run.ok for run in runs), [p.outcome for run in runs for p in run.phases if not p.ok]
    assert (tmp_path / "a" / "audit.jsonl").read_bytes() == (tmp_path / "b" / "audit.jsonl").read_bytes()
