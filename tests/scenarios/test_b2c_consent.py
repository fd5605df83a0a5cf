"""The B2C-consent scenario end to end over both transports: consumers see consent screens, grant less
than asked (the token and the API follow), decline (``access_denied`` at the app), revoke (the refresh
stops); the employee sees no screen — IT policy grants and refuses. Same decisions on both transports."""

import json

import pytest

from actors.runtime.network import Transport
from scenarios.library import SCENARIOS
from scenarios.world import load_world
from tests.scenarios.run_helpers import (
    audit_bytes, audit_entries, check_edited_world, decisions, rerun_audit_bytes, run_on_each_transport, secrets_in_run_files,
    unmet_expectations,
)

SCENARIO = SCENARIOS["b2c-consent"]
WORLD = load_world(SCENARIO.world_file)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return run_on_each_transport(scenario=SCENARIO, world=WORLD, tmp_path_factory=tmp_path_factory,
                                 label="b2c")


@pytest.mark.parametrize("transport", list(Transport), ids=lambda t: t.value)
def test_every_phase_meets_the_scenario(runs, transport):
    result = runs[transport]
    assert result.ok, [p.outcome for p in result.phases]


@pytest.mark.parametrize("transport", list(Transport), ids=lambda t: t.value)
def test_consent_screen_in_b2c_and_never_in_b2b(runs, transport):
    result, lines = runs[transport], audit_entries(runs[transport])
    travelbot, declined, meals, _, employee = result.phases
    assert travelbot.facts["consent screen shown"] and declined.facts["consent screen shown"]
    assert meals.facts["consent screen shown"]
    screens = [(e["agent"], e["subject"]) for e in lines if e["event"] == "consent.requested"]
    assert screens == [("travelbot", "100001"), ("travelbot", "100002"), ("meal-planner", "100001")]
    assert employee.facts["consent screens shown to the employee"] == 0
    sarah = [e for e in lines if e["subject"] == "100003"]
    assert not [e for e in sarah if e["event"].startswith("consent.")]
    assert [(e["event"], e["agent"], e["decision"]) for e in sarah if e["event"].startswith("policy.")] == [
        ("policy.allowed", "acme-scheduler", "allow"), ("policy.denied", "acme-scheduler", "deny"),
        ("policy.denied", "travelbot", "deny")]
    report = json.loads((result.out_dir / "report.json").read_text())
    layers = {d["event"].partition(".")[0]: d["layer"] for d in report["decisions"]
              if d["event"].startswith(("consent.", "policy."))}
    assert layers["consent"] != layers["policy"]   # the report shows them in different layers


@pytest.mark.parametrize("transport", list(Transport), ids=lambda t: t.value)
def test_scope_downgrading_follows_the_boxes_ticked(runs, transport):
    result, lines = runs[transport], audit_entries(runs[transport])
    travelbot, _, meals, _, _ = result.phases
    assert (travelbot.facts["requested"], travelbot.facts["granted"]) == (
        "calendar.readonly calendar.events", "calendar.readonly")
    assert travelbot.facts["API calls"] == "calendar.readonly → 200, calendar.events → 403"
    assert meals.facts["granted"] == "activity.read nutrition.read" and meals.facts["declined"] == "heart_rate.read"
    issued = [(e["agent"], e["details"]["scope"]) for e in lines if e["event"] == "token.issued"]
    assert issued[:2] == [("travelbot", "calendar.readonly"), ("meal-planner", "activity.read nutrition.read")]
    (granted,) = [e for e in lines if e["event"] == "consent.granted" and e["agent"] == "travelbot"]
    assert granted["details"]["declined_scope"] == "calendar.events"
    assert [e["reason"] for e in lines if e["event"] == "api.denied" and e["agent"] == "travelbot"][0] == \
        "insufficient_scope"


@pytest.mark.parametrize("transport", list(Transport), ids=lambda t: t.value)
def test_denial_reaches_the_app_as_access_denied(runs, transport):
    result, lines = runs[transport], audit_entries(runs[transport])
    declined = result.phases[1]
    assert declined.facts["answer at the app's redirect URI"] == "access_denied: the user declined access"
    (denied,) = [e for e in lines if e["event"] == "consent.denied"]
    assert (denied["agent"], denied["subject"], denied["decision"]) == ("travelbot", "100002", "deny")
    assert not [e for e in lines if e["event"] == "token.issued" and e["subject"] == "100002"]


@pytest.mark.parametrize("transport", list(Transport), ids=lambda t: t.value)
def test_revocation_stops_the_refresh_and_the_token(runs, transport):
    result, lines = runs[transport], audit_entries(runs[transport])
    revoke = result.phases[3]
    assert revoke.facts["consent on record"] == "calendar.readonly"
    assert (revoke.facts["refresh before revocation"], revoke.facts["refresh after revocation"],
            revoke.facts["API call after revocation"]) == ("ok", "invalid_grant", 401)
    after = [e["event"] for e in lines[[e["event"] for e in lines].index("consent.revoked"):]]
    assert after[:4] == ["consent.revoked", "token.denied", "agent.refresh_failed", "api.denied"]


def test_both_transports_make_the_same_decisions(runs):
    def made(result):
        return decisions(result, where=lambda e: e["event"] != "run.started")
    assert made(runs[Transport.CHANNEL]) == made(runs[Transport.HTTP])


def test_no_minted_secret_reaches_any_file(runs):
    for result in runs.values():
        assert secrets_in_run_files(result) == []


def test_same_seed_same_audit_bytes(runs, tmp_path):
    again = rerun_audit_bytes(scenario=SCENARIO, world=WORLD, out_dir=tmp_path)
    assert again == audit_bytes(runs[Transport.CHANNEL])


def test_the_shipped_expectations_hold_and_a_laxer_policy_fails_them(runs, tmp_path):
    unmet, checked = unmet_expectations(runs[Transport.CHANNEL], world=WORLD)
    assert unmet == [] and checked >= 12
    text = SCENARIO.world_file.read_text()
    lax = text.replace('scopes = ["calendar.readonly", "calendar.events"] }]',
                       'scopes = ["calendar.readonly", "calendar.events", "gmail.readonly"] }]')
    assert lax != text
    result = check_edited_world(scenario=SCENARIO, text=lax, out_dir=tmp_path)
    unmet = [v.expectation.text for v in result.verdicts if not v.met]
    assert unmet == ["the employee cannot grant a scope the IT policy does not allow"]
