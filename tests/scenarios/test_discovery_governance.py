"""Phases 1 and 7 of the sales-agent scenario over both transports, and discovery from logs alone."""

import pytest
import trio

from actors.governance_connectors import AgentAccounts, IntegrationConnector
from actors.runtime.network import Transport
from protocols.http import HttpRequest
from scenarios.phases.discovery_registration import scan
from scenarios.phases.governance import open_campaign, review_email, submit
from scenarios.sales_governance import attach_control_plane
from tests.actors.runtime.helpers import running_runtime


@pytest.mark.parametrize("which", ["channel_run", "http_run"])
def test_phases_1_and_7_pass_over_both_transports(which, request):
    run = request.getfixturevalue(which)
    by_number = {p.number: p for p in run.phases}
    assert by_number[1].ok and by_number[7].ok, (by_number[1].outcome, by_number[7].outcome)
    assert by_number[1].facts["risk"] == "HIGH"
    reasons = by_number[1].facts["reasons"]
    assert "privileged access" in reasons and "no owner" in reasons and "no governance" in reasons
    assert by_number[1].facts["old static key"].startswith("refused")
    assert by_number[1].facts["lifecycle"] == "discovered → registered → active"
    # the review lists every system the agent reaches: CRM, Google Workspace, pricing DB, e-mail, calendar
    listed = by_number[7].facts["entitlements"]
    for system in ("CRM (Salesforce)", "Google Workspace (Drive)", "pricing DB (pricing AS", "E-mail (Gmail)",
                   "Calendar (Google Calendar)"):
        assert system in listed, system
    # John certifies all but the calendar; its live token is refused by Google itself, the Drive one still works
    assert by_number[7].facts["certified"] + 1 == by_number[7].facts["entitlements"].count(" | ") + 1 >= 5
    assert by_number[7].facts["revoked"] == "token-vault:vault_integration:google-calendar (google-workspace)"
    assert (by_number[7].facts["google-calendar token before"], by_number[7].facts["google-calendar token after"]) \
        == ("200", "401 invalid_token")
    assert by_number[7].facts["google-drive token after"] == "200"
    # both calendar tokens still live: phase 6's (calendar.events, meeting booked) and this morning's free/busy one
    assert by_number[7].facts["tokens revoked"] == "google-workspace: 2 (RFC 7009 revocation by the token vault)"


class _Bare:
    """A cast reduced to what the control plane needs: no registry entry, no world agent wiring
    beyond the signing key — the shadow integration is visible only in the CRM's own logs."""


async def test_shadow_agent_found_from_provider_logs_alone(autojump_clock):
    from scenarios.library import SCENARIOS
    from scenarios.world import load_world

    world = load_world(SCENARIOS["sales-agent"].world_file)
    async with running_runtime(Transport.CHANNEL) as (runtime, nursery, _log):
        cast = _Bare()
        cast.world, cast.runtime = world, runtime
        key = runtime.new_signing_key(owner="x", purpose="k", alg=world.agents[0].signing_alg)
        cast.agents = {a.id: type("A", (), {"signing_key": key})() for a in world.agents}
        plane = await attach_control_plane(cast, nursery)
        await nursery.start(runtime.network.serve)
        await trio.sleep(30 * 60)
        assert await plane.security.query() == []  # the registry knows nothing
        anonymous = await runtime.network.send(HttpRequest(method="POST", url=plane.discovery.url("/scans"),
                                                           headers={"authorization": "Bearer dsc_guessed"}))
        assert anonymous.status == 401
        (refused,) = [e for e in runtime.audit.store.entries() if e.event == "discovery.request_refused"]
        assert refused.decision == "deny" and refused.reason == "invalid_token: a discovery operator token is required"
        findings = await scan(plane)
        (finding,) = [f for f in findings if f["account"] == "svc-sales-automation"]
        assert finding["risk"] == "HIGH" and finding["score"] >= 70
        codes = {s["code"] for s in finding["signals"]}
        assert {"service_account_credential", "no_interactive_login", "machine_cadence"} <= codes
        # the platform's own integrations are not shadow AI
        assert all(not f["account"].startswith("platform-") for f in findings)


async def test_only_the_owner_can_decide_and_undecided_items_are_revoked_at_the_deadline(autojump_clock):
    from scenarios.library import SCENARIOS
    from scenarios.phases.discovery_registration import collect_entitlements
    from scenarios.world import load_world

    world = load_world(SCENARIOS["sales-agent"].world_file)
    async with running_runtime(Transport.CHANNEL) as (runtime, nursery, _log):
        cast = _Bare()
        cast.world, cast.runtime = world, runtime
        key = runtime.new_signing_key(owner="x", purpose="k", alg=world.agents[0].signing_alg)
        cast.agents = {a.id: type("A", (), {"signing_key": key})() for a in world.agents}
        plane = await attach_control_plane(cast, nursery)
        await nursery.start(runtime.network.serve)
        agent = world.agents[0]
        plane.jobs[agent.id].stop()
        await plane.security.create({"id": agent.id, "displayName": agent.name, "lifecycleState": "registered",
                                     "owner": {"value": "john"}, "purpose": agent.purpose,
                                     "accounts": [{"system": "crm", "value": "svc-sales-automation"}]})
        assert len(await collect_entitlements(plane, agent.id)) == 1
        john_campaign = await open_campaign(plane, agent.id)
        _mail, john_token = await review_email(plane, "john", john_campaign["id"])
        item = john_campaign["items"][0]["id"]
        # Sarah is not the owner: a review token of her own (for another agent she owns) does not work here
        await plane.security.create({"id": "sarah-helper-001", "displayName": "helper", "lifecycleState": "registered",
                                     "owner": {"value": "sarah"}, "purpose": "notes",
                                     "accounts": [{"system": "crm", "value": "svc-sales-automation"}]})
        sarah_campaign = await open_campaign(plane, "sarah-helper-001")
        _mail, sarah_token = await review_email(plane, "sarah", sarah_campaign["id"])
        status, body = await submit(plane, campaign_id=john_campaign["id"], token=sarah_token, entitlement=item,
                                    decision="certify")
        assert status == 403 and body["error"] == "access_denied"
        status, body = await submit(plane, campaign_id=john_campaign["id"], token="forged.token.value",
                                    entitlement=item, decision="certify")
        assert status == 401 and body["error"] == "invalid_token"
        (forged,) = [e for e in runtime.audit.store.entries() if e.event == "governance.request_refused"]
        assert forged.decision == "deny" and forged.reason.startswith("invalid_token: review token rejected")
        assert "forged.token.value" not in repr(forged.details)
        refused = [e for e in runtime.audit.store.entries() if e.event == "certification.decision_refused"]
        assert len(refused) == 1  # Sarah's attempt: its own entry, not a second one from the seam
        status, body = await submit(plane, campaign_id=john_campaign["id"], token=john_token, entitlement="nope",
                                    decision="certify")
        assert status == 404
        status, body = await submit(plane, campaign_id=john_campaign["id"], token=john_token, entitlement=item,
                                    decision="maybe")
        assert status == 400
        # John lets the deadline pass: a reminder goes out, then the entitlement is revoked at the CRM
        await trio.sleep(15 * 86400)
        events = [e.event for e in runtime.audit.store.entries()]
        assert "certification.reminder_sent" in events and "certification.campaign_closed" in events
        crm = next(c for c in plane.governance.connectors if isinstance(c, IntegrationConnector))
        integrations = await crm.entitlements(AgentAccounts(id=agent.id, accounts=(("crm", "svc-sales-automation"),)))
        assert integrations == []
        status, body = await submit(plane, campaign_id=john_campaign["id"], token=john_token, entitlement=item,
                                    decision="certify")
        assert status in (400, 401)


def test_data_pipeline_scenario_rotates_six_times_without_a_failed_call(tmp_path):
    from scenarios.library import SCENARIOS
    from scenarios.runner import RunOptions, run_scenario
    from scenarios.world import load_world

    scenario = SCENARIOS["data-pipeline"]
    result = run_scenario(RunOptions(scenario=scenario, world=load_world(scenario.world_file),
                                     transport=Transport.CHANNEL, seed=1, out_dir=tmp_path))
    assert result.ok, [p.outcome for p in result.phases]
    final = result.phases[-1].facts
    assert final["failed"] == 0 and final["password versions used"] == "2 → 3 → 4 → 5 → 6 → 7 → 8"
    assert final["calls accepted on the previous password (overlap)"] > 0
