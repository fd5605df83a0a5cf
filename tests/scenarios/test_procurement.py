"""The procurement scenario end to end over both transports: the 5 000 € licence purchase is approved
by the purchasing manager and ordered; the second purchase is refused and not ordered; the third is
never answered and expires. Same decisions on both transports; no secret in any file."""

import pytest

from actors.runtime.network import Transport
from scenarios.library import SCENARIOS
from scenarios.runner import RunOptions, run_scenario
from scenarios.world import load_world
from tests.scenarios.run_helpers import audit_bytes, audit_entries, decisions, secrets_in_run_files


def run(tmp, transport, world):
    return run_scenario(RunOptions(scenario=SCENARIOS["procurement"], world=world, transport=transport, seed=1,
                                   out_dir=tmp))


@pytest.fixture(scope="module")
def world():
    return load_world(SCENARIOS["procurement"].world_file)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, world):
    return {t: run(tmp_path_factory.mktemp(f"procurement-{t.value}"), t, world) for t in Transport}


def ciba_decisions(result):
    return decisions(result, where=lambda e: e["actor"] != "crm")


@pytest.mark.parametrize("transport", list(Transport), ids=lambda t: t.value)
def test_approved_refused_unanswered(runs, transport):
    result = runs[transport]
    assert result.ok, [p.outcome for p in result.phases]
    approved, refused, silent = result.phases
    assert approved.facts["approver"] == "Maria Garcia <maria.garcia@northwind.example>"
    assert approved.facts["amount"] == "5 000.00 EUR" and approved.facts["orders placed"] == 1
    assert approved.facts["token scope"] == "purchase:order" and approved.facts["delivery mode"] == "ping"
    assert approved.facts["notifications"] == 1
    assert refused.facts["answer"] == "denied" and refused.facts["orders placed"] == 0
    assert refused.outcome == ("Your purchase PO-2025-0042 (12 500.00 EUR, Fabrikam Analytics) was not placed: "
                               "Maria Garcia refused the purchase. Nothing was ordered.")
    assert silent.facts["answer"] == "expired" and silent.facts["orders placed"] == 0
    assert silent.facts["notifications"] == 1
    lines = audit_entries(result)
    executed = [e for e in lines if e["event"] == "action.executed"]
    assert [e["details"]["authorization_details"][0]["identifier"] for e in executed] == ["PO-2025-0041"]
    (denied,) = [e for e in lines if e["event"] == "ciba.denied"]
    assert denied["details"]["approver"] == "Maria Garcia" and denied["details"]["answer"] == "Not in this quarter's budget"
    assert [e["event"] for e in lines if e["event"] in ("ciba.pinged", "ciba.expired")] == \
        ["ciba.pinged", "ciba.pinged", "ciba.expired", "ciba.pinged"]      # the OP pings the expiry too


@pytest.mark.parametrize("transport", list(Transport), ids=lambda t: t.value)
def test_the_audit_log_names_approver_time_details_and_the_token_used(runs, transport):
    lines = audit_entries(runs[transport])
    (approved,) = [e for e in lines if e["event"] == "ciba.approved"]
    assert approved["details"]["approver"] == "Maria Garcia" and approved["details"]["device"] == "authenticator-maria"
    assert approved["time"] == "2025-02-03T09:10:00.001Z"                    # phase 1 at 09:00, her delay 600 s
    (detail,) = approved["details"]["authorization_details"]
    assert (detail["vendor"], detail["amount"], detail["identifier"]) == ("Contoso Software GmbH", "5000.00", "PO-2025-0041")
    (issued,) = [e for e in lines if e["event"] == "token.issued" and e["details"].get("kind") == "approval_token"]
    assert issued["details"]["scope"] == "purchase:order" and issued["details"]["authorization_details"] == [detail]
    (executed,) = [e for e in lines if e["event"] == "action.executed"]
    assert executed["details"]["jti"] == issued["details"]["jti"] and executed["subject"] == approved["subject"]
    (report,) = [e for e in lines if e["event"] == "agent.reported" and e["details"]["answer"] == "expired"]
    assert report["reason"] == ("Your purchase PO-2025-0043 (2 400.00 EUR, Litware Diagrams) was not placed: "
                                "Maria Garcia did not answer within 60 minutes. Nothing was ordered.")


def test_same_seed_same_audit_log(runs, world, tmp_path):
    again = run(tmp_path, Transport.CHANNEL, world)
    assert audit_bytes(again) == audit_bytes(runs[Transport.CHANNEL])


def test_both_transports_make_the_same_decisions(runs):
    assert ciba_decisions(runs[Transport.CHANNEL]) == ciba_decisions(runs[Transport.HTTP])


def test_no_minted_secret_reaches_any_file(runs):
    for result in runs.values():
        assert secrets_in_run_files(result) == []
