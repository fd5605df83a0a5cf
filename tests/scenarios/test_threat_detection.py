"""Phase 8 of the sales-agent scenario over both transports, the customer-service drill with its
ablation (detection switched off in the world file), the threshold trade-off, and the world
sections that configure them."""

import json

import attrs
import pytest

from actors.runtime.network import Transport
from scenarios.ablation import NO_DETECTION, ablated_world, run_with_ablation
from scenarios.library import SCENARIOS
from scenarios.runner import RunOptions
from scenarios.world import WorldError, load_world, parse_world

AGENT = "sales-agent-prod-001"
AGENT_PRINCIPALS = {AGENT, "sales-automation-app", "svc-sales-automation", "acme-sales-agent"}
RECEIVERS = {"crm", "mcp-crm", "pricing-api", "privileged-vault", "acme-idp", "token-vault"}
USE_EVENTS = {"api.called", "token.issued", "token.exchanged", "token.refreshed", "userinfo.served",
              "credential.leased", "vault.token_served", "id_jag.issued", "id_jag.redeemed", "pricing.served"}


def audit(result):
    return [json.loads(line) for line in (result.out_dir / "audit.jsonl").read_text().splitlines()]


def phase(result, number):
    return next(p for p in result.phases if p.number == number)


def seconds(fact):
    return float(fact.removesuffix(" s"))


@pytest.fixture(scope="session")
def support_runs(tmp_path_factory):
    scenario = SCENARIOS["customer-service"]
    options = RunOptions(scenario=scenario, world=load_world(scenario.world_file), transport=Transport.CHANNEL, seed=1,
                         out_dir=tmp_path_factory.mktemp("customer-service"), render=False)
    return run_with_ablation(options)


@pytest.mark.parametrize("fixture", ["channel_run", "http_run"])
def test_phase_8_detects_contains_and_reports(fixture, request):
    result = request.getfixturevalue(fixture)
    drill = phase(result, 8)
    facts = drill.facts
    assert drill.ok, drill.outcome
    assert 0 < seconds(facts["detected after"]) <= 60 and seconds(facts["contained after"]) <= 60
    assert 0 < facts["records read before containment"] < 50  # of the 500 the attacker went for
    assert facts["attempts after containment"] >= 60 and facts["successful calls after containment"] == 0
    assert facts["agent lifecycle"] == "suspended" and facts["stolen CRM token still valid at the end"] is False
    afters = {k.removeprefix("after: "): v for k, v in facts.items() if k.startswith("after: ")}
    assert {label.split(" → ")[1] for label in afters} == RECEIVERS
    assert all(v.startswith("0 of ") and not v.startswith("0 of 0") for v in afters.values()), afters
    befores = {k.removeprefix("before: "): v for k, v in facts.items() if k.startswith("before: ")}
    accepted_before = {label for label, v in befores.items() if v == "accepted"}
    assert {"CRM access token → crm", "MCP token → mcp-crm", "pricing token → pricing-api",
            "agent signing key → privileged-vault", "user's access token → acme-idp"} <= accepted_before
    assert "Sales proposal agent temporarily suspended" in facts["mail to Sarah Johnson"]
    assert "[CRITICAL]" in facts["mail to security team"]


def test_both_transports_tell_the_same_phase_8(channel_run, http_run):
    assert phase(channel_run, 8).facts == phase(http_run, 8).facts


def test_no_pre_incident_credential_works_anywhere_after_containment(channel_run):
    entries = audit(channel_run)
    contained = next(e for e in entries if e["event"] == "incident.contained")
    assert contained["agent"] == AGENT and contained["details"]["containment"] is True
    after = [e for e in entries if e["seq"] > contained["seq"]]
    used = [e for e in after if e["decision"] == "allow" and e["event"] in USE_EVENTS
            and ({e["agent"], e["subject"]} & AGENT_PRINCIPALS)]
    assert used == []
    refused = {e["actor"] for e in after if e["decision"] == "deny"}
    # every receiver turned the attacker away on the record (the privileged vault answers its
    # invalid_client without an audit entry; the attacker's own log has those 401s)
    assert RECEIVERS - {"privileged-vault"} <= refused
    guard = [e for e in after if e["event"] == "token.refused"]
    assert {e["actor"] for e in guard} >= {"crm", "mcp-crm", "pricing-api"}


def test_the_response_reached_every_system(channel_run):
    entries = audit(channel_run)
    opened = next(e for e in entries if e["event"] == "incident.opened")
    txn = opened["details"]["incident"]
    delivered = {e["details"]["receiver"] for e in entries if e["event"] == "set.delivered"
                 and e["seq"] > opened["seq"]}
    assert delivered >= {"crm", "token-vault", "privileged-vault", "pricing-api", "mcp-crm", "mcp-docs",
                         "mcp-calendar", "mcp-pricing", "google-workspace", "slack"}
    accepted = [e for e in entries if e["event"] == "set.accepted" and e["details"]["txn"] == txn]
    assert {e["details"]["event_type"].rsplit("/", 1)[1] for e in accepted} == {"session-revoked", "credential-change"}
    assert {e["actor"] for e in entries if e["event"] == "gtr.revoked"} >= {"acme-idp", "crm", "pricing-as"}
    assert any(e["event"] == "registry.lifecycle_changed" and e["details"]["after"] == "suspended" for e in entries)
    assert any(e["event"] == "credential.revoked" and e["agent"] == AGENT for e in entries)
    evidence = next(e for e in entries if e["event"] == "incident.recorded")
    sealed = next(e for e in entries if e["seq"] == evidence["details"]["chain_head_seq"])
    assert sealed["hash"] == evidence["details"]["chain_head_hash"]
    assert all(step["ok"] for step in evidence["details"]["steps"])


def test_six_weeks_of_routine_never_leave_normal(channel_run):
    entries = audit(channel_run)
    stolen = phase(channel_run, 8).facts["stolen at"]
    before = [e for e in entries if e["event"] == "risk.scored" and e["time"] < stolen]
    assert len([e for e in before if e["details"]["period"] == "day"]) >= 40
    assert {e["decision"] for e in before} == {"NORMAL"}
    assert max(e["details"]["score"] for e in before) < 35


def test_customer_service_drill_with_and_without_detection(support_runs):
    main, ablated, comparison = support_runs
    assert main.ok and ablated.ok
    assert phase(main, 1).facts["levels seen"] == "NORMAL"
    rows = {row["fact"]: (row["with"], row["without"]) for row in comparison["rows"]}
    with_, without = rows["records read by the attacker"]
    assert with_ < 50 and without == 501  # the reconnaissance read and all 500
    assert rows["stolen CRM token still valid at the end"] == (False, True)
    assert rows["successful calls after containment"][0] == 0 and rows["contained after"][1] == "—"
    summary = (main.out_dir / "summary.md").read_text()
    assert "## Ablation" in summary and "| records read by the attacker |" in summary
    assert json.loads((main.out_dir / "comparison.json").read_text())["ablation"] == "no-detection"
    ablation_world = load_world(ablated.out_dir / "world.toml")
    assert ablation_world.security.detection.enabled is False
    no_response = [e for e in audit(ablated) if e["event"].startswith(("incident.", "risk.", "response."))]
    assert no_response == []


def test_threshold_sweep_shows_the_trade_off(support_runs):
    main, _, _ = support_runs
    document = json.loads((main.out_dir / "detection_sweep.json").read_text())
    points = document["points"]
    assert (main.out_dir / "detection_sweep.csv").read_text().startswith("threshold,false_alarms")
    by_threshold = {p["threshold"]: p for p in points}
    chosen = by_threshold[document["chosen_threshold"]]
    assert chosen["false_alarms"] == 0 and chosen["detection_delay"] <= 60
    assert by_threshold[10.0]["false_alarms"] > 0  # too low a threshold pages the team on routine work
    assert by_threshold[100.0]["detection_delay"] > chosen["detection_delay"]  # too high: the attacker reads on
    delays = [p["detection_delay"] if p["detection_delay"] is not None else float("inf") for p in points]
    alarms = [p["false_alarms"] for p in points]
    assert alarms == sorted(alarms, reverse=True) and delays == sorted(delays)
    assert "## Threshold trade-off" in (main.out_dir / "summary.md").read_text()


def test_the_ablated_world_extends_the_world_and_changes_only_detection(tmp_path):
    path = tmp_path / "w.toml"
    path.write_text(SCENARIOS["customer-service"].world_file.read_text())
    world = load_world(path)
    ablated, text = ablated_world(world, NO_DETECTION)
    assert ablated.security.detection.enabled is False and world.security.detection.enabled is True
    assert attrs.evolve(ablated.security, detection=world.security.detection) == world.security
    assert (ablated.people, ablated.agents, ablated.phases) == (world.people, world.agents, world.phases)
    assert f'extends = "{path}"' in text
    # a world that extends the shipped one can be ablated too
    child = tmp_path / "child.toml"
    child.write_text(f'[scenario]\nextends = "{SCENARIOS["customer-service"].world_file}"\n')
    assert ablated_world(load_world(child), NO_DETECTION)[0].security.detection.enabled is False
    no_detection = tmp_path / "none.toml"
    no_detection.write_text(f'[scenario]\nextends = "{path}"\ndrop = ["detection", "routine", "attack"]\n')
    with pytest.raises(WorldError, match="does not apply"):
        ablated_world(load_world(no_detection), NO_DETECTION)


@pytest.mark.parametrize("change, field", [
    (("high = 60", "high = 20"), "detection: thresholds must satisfy"),
    (("window = 600", "window = -5"), "detection.window"),
    (('security_team = "security@globex-support.example"', 'security_team = "nobody"'), "detection.security_team"),
    (('reads_per_day = [10, 15]', 'reads_per_day = [15, 10]'), "routine.reads_per_day"),
    (('agent = "support-agent-prod-001"\nreads', 'agent = "ghost"\nreads'), "routine.agent"),
    (("records = 500", "records = 0"), "attack.records"),
    (('start = "2025-03-04T00:00:00Z"', 'start = "2025-03-04T00:00:00"'), "detection.start"),
])
def test_bad_security_sections_are_one_line_world_errors(change, field):
    text = SCENARIOS["customer-service"].world_file.read_text()
    assert change[0] in text
    with pytest.raises(WorldError) as error:
        parse_world(text.replace(change[0], change[1]), source="cs.toml")
    assert field in str(error.value) and "\n" not in str(error.value)
