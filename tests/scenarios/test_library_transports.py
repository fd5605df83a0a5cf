"""Every scenario of the library runs over both transports (issue 11): the ones whose own test files
only run in-process are run here over HTTP too, and must make the same decisions as in-process."""

import json

import pytest

from actors.runtime.network import Transport
from scenarios.library import SCENARIOS
from scenarios.runner import RunOptions, run_scenario
from scenarios.world import load_world

HTTP_TESTED_ELSEWHERE = {
    "sales-agent": "tests/scenarios/test_sales_agent.py::test_both_transports_make_the_same_decisions",
    "procurement": "tests/scenarios/test_procurement.py::test_both_transports_make_the_same_decisions",
    "marketing": "tests/scenarios/test_marketing.py::test_marketing_agent_ends_with_no_grant_anywhere_and_its_history_kept",
    "financial-rag": "tests/scenarios/test_financial_rag.py",
    "b2c-consent": "tests/scenarios/test_b2c_consent.py",
    "traditional-vs-unified": "tests/scenarios/traditional/test_traditional_vs_unified.py::"
                              "test_http_transport_measures_the_same_steps",
}
HTTP_TESTED_HERE = ("customer-service", "data-pipeline")


def test_every_scenario_of_the_library_has_an_http_test():
    assert set(SCENARIOS) == set(HTTP_TESTED_ELSEWHERE) | set(HTTP_TESTED_HERE)


def decisions(out_dir):
    lines = [json.loads(line) for line in (out_dir / "audit.jsonl").read_text().splitlines()]
    return [(e["event"], e["actor"], e["agent"], e["subject"], e["decision"], e["reason"]) for e in lines]


@pytest.mark.parametrize("name", HTTP_TESTED_HERE)
def test_the_scenario_makes_the_same_decisions_over_http(name, tmp_path):
    scenario = SCENARIOS[name]
    world = load_world(scenario.world_file)
    results = {transport: run_scenario(RunOptions(scenario=scenario, world=world, transport=transport, seed=1,
                                                  out_dir=tmp_path / transport.value, render=False))
               for transport in Transport}
    for result in results.values():
        assert result.ok, [p.outcome for p in result.phases if not p.ok]
    channel, http = (decisions(results[t].out_dir) for t in (Transport.CHANNEL, Transport.HTTP))
    assert len(http) > 100 and http == channel
