"""Runs of the sales-agent scenario shared by the scenario tests (each run takes about a second)."""

from pathlib import Path

import pytest

from actors.runtime.network import Transport
from scenarios.runner import RunOptions, RunResult, run_scenario
from scenarios.world import builtin_world, load_world


def run(tmp: Path, *, transport: Transport = Transport.CHANNEL, seed: int = 1) -> RunResult:
    world = load_world(builtin_world("sales-agent"))
    return run_scenario(RunOptions(world=world, transport=transport, seed=seed, out_dir=tmp))


@pytest.fixture(scope="session")
def channel_run(tmp_path_factory) -> RunResult:
    return run(tmp_path_factory.mktemp("channel-seed1"))


@pytest.fixture(scope="session")
def http_run(tmp_path_factory) -> RunResult:
    return run(tmp_path_factory.mktemp("http-seed1"), transport=Transport.HTTP)
