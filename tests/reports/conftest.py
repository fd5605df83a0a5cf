"""Runs shared by the report tests: the live sales-agent scenario (twice with the same seed) and the
synthetic run of ``synthetic.py``; each is rendered by ``reports.render_run``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from actors.runtime.network import Transport
from reports import RenderedReport, render_run
from scenarios.library import SCENARIOS
from scenarios.runner import RunOptions, RunResult, run_scenario
from scenarios.world import load_world
from tests.reports.synthetic import write_run


def sales_run(out: Path, *, transport: Transport = Transport.CHANNEL, seed: int = 1) -> RunResult:
    scenario = SCENARIOS["sales-agent"]
    return run_scenario(RunOptions(scenario=scenario, world=load_world(scenario.world_file), transport=transport,
                                   seed=seed, out_dir=out))


@pytest.fixture(scope="session")
def sales(tmp_path_factory) -> RunResult:
    return sales_run(tmp_path_factory.mktemp("sales-a"))


@pytest.fixture(scope="session")
def sales_again(tmp_path_factory) -> RunResult:
    return sales_run(tmp_path_factory.mktemp("sales-b"))


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory) -> RenderedReport:
    return render_run(write_run(tmp_path_factory.mktemp("synthetic") / "run"))


@pytest.fixture
def copy_of(tmp_path):
    """A fresh copy of a run directory, safe to tamper with."""
    def copy(run_dir: Path) -> Path:
        target = tmp_path / "copy"
        shutil.copytree(run_dir, target)
        return target
    return copy
