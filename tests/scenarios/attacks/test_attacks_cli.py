"""``trustbench attacks``: one line per measured outcome, exit 0 when the unified platform stops
each attack with its expected layer, one-line error and exit 2 for an unknown attack."""

import pytest

from scenarios.cli import main


def test_attacks_command_prints_measured_outcomes(capsys):
    assert main(["attacks", "forged-jwt", "shadow-agent-hardcoded-key", "--configuration", "traditional"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all("traditional" in line and "NOT STOPPED" in line for line in lines)
    assert "records=100" in lines[1]


def test_unknown_attack_is_a_usage_error(capsys):
    assert main(["attacks", "teleportation"]) == 2
    err = capsys.readouterr().err
    assert "unknown attack 'teleportation'" in err and len(err.strip().splitlines()) == 1


def test_attacks_help_names_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["attacks", "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and "--configuration" in out and "traditional" in out
