"""Runs of the sales-agent scenario shared by the scenario tests (each run takes about a second)."""

from pathlib import Path

import pytest

from actors.runtime.network import Transport
from scenarios.runner import RunOptions, RunResult, run_scenario
from scenarios.library import SCENARIOS
from scenarios.world import load_world


def run(tmp: Path, *, transport: Transport = Transport.CHANNEL, seed: int = 1) -> RunResult:
    scenario = SCENARIOS["sales-agent"]
    world = load_world(scenario.world_file)
    return run_scenario(RunOptions(scenario=scenario, world=world, transport=transport, seed=seed, out_dir=tmp))


@pytest.fixture(scope="session")
def channel_run(tmp_path_factory) -> RunResult:
    return run(tmp_path_factory.mktemp("channel-seed1"))


@pytest.fixture(scope="session")
def http_run(tmp_path_factory) -> RunResult:
    return run(tmp_path_factory.mktemp("http-seed1"), transport=Transport.HTTP)
