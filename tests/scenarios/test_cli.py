"""The command line: help, one-line errors with exit 2, verify detecting tampering."""

import hashlib
import json
import shutil
import sqlite3

import pytest

from scenarios.library import SCENARIOS
from scenarios.cli import main
from scenarios.world import WORLDS_DIR


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["verify", "--help"], ["serve", "--help"],
                                  ["scenarios", "--help"], ["check", "--help"]])
def test_every_help_is_clear(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: trustbench") and len(out.splitlines()) >= 4


def test_scenarios_lists_one_line_each(capsys):
    code, out, _ = run_cli(capsys, "scenarios")
    lines = out.splitlines()
    assert code == 0 and [line.split()[0] for line in lines] == list(SCENARIOS)
    assert len({line.index(scenario.summary) for line, scenario in zip(lines, SCENARIOS.values())}) == 1


@pytest.mark.parametrize("argv,fragment", [
    (["run", "no-such-scenario"], "invalid choice"),
    (["run", "sales-agent", "--seed", "abc"], "seed must be an integer"),
    (["run", "sales-agent", "--seed", "-1"], "zero or positive"),
    (["run", "sales-agent", "--transport", "carrier-pigeon"], "invalid choice"),
    (["run", "sales-agent", "--world", "/nonexistent/world.toml"], "no such world file"),
    (["verify", "/nonexistent/run"], "not a run directory"),
    (["frobnicate"], "invalid choice"),
    (["check"], "the following arguments are required: FILE"),
    (["check", "/nonexistent/world.toml"], "no such world file"),
    (["check", str(WORLDS_DIR / "procurement.toml"), "--scenario", "nope"], "invalid choice"),
])
def test_bad_arguments_give_one_line_and_exit_2(capsys, argv, fragment):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert fragment in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("text,fragment", [
    ("not toml [", "world.toml:1: invalid TOML"),
    ('[scenario]\nname = "x"\n', "world.toml:1: organization: missing table"),
])
def test_bad_world_file_gives_one_line_and_exit_2(capsys, tmp_path, text, fragment):
    world = tmp_path / "world.toml"
    world.write_text(text)
    code, _, err = run_cli(capsys, "run", "sales-agent", "--world", str(world), "--out", str(tmp_path / "out"))
    assert code == 2 and fragment in err and str(world) in err and len(err.strip().splitlines()) == 1


PROCUREMENT = (WORLDS_DIR / "procurement.toml").read_text()


@pytest.mark.parametrize("old,new,fragment", [
    ('manager = "lena"', 'manager = "bob"', "people[0].manager: unknown person 'bob'"),
    ('kind = "no_secrets"', 'kind = "no_secret"', "kind: must be one of access"),
    ('name = "procurement"', 'name = "marketing-x"', "scenario.name: no scenario 'marketing-x' in the library"),
])
def test_check_with_a_malformed_world_gives_file_line_and_exit_2(capsys, tmp_path, old, new, fragment):
    assert old in PROCUREMENT
    world = tmp_path / "w.toml"
    world.write_text(PROCUREMENT.replace(old, new, 1))
    line = PROCUREMENT[:PROCUREMENT.index(old)].count("\n") + 1
    code, out, err = run_cli(capsys, "check", str(world), "--out", str(tmp_path / "out"))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith(f"{world}:{line}: ") and fragment in err


def test_check_needs_expectations(capsys, tmp_path):
    world = tmp_path / "w.toml"
    world.write_text(PROCUREMENT[:PROCUREMENT.index("[[expectations]]")])
    code, _, err = run_cli(capsys, "check", str(world), "--out", str(tmp_path / "out"))
    assert code == 2 and "no [[expectations]] to check" in err and not (tmp_path / "out").exists()


def test_run_uses_the_world_file_given(capsys, tmp_path):
    world = tmp_path / "my-procurement.toml"
    assert PROCUREMENT.count("delay = 600") == 1
    world.write_text(PROCUREMENT.replace("delay = 600", "delay = 900"))  # Maria approves five minutes later
    code, _, err = run_cli(capsys, "run", "procurement", "--world", str(world), "--out", str(tmp_path / "out"),
                           "--quiet")
    assert code == 0, err
    meta = json.loads((tmp_path / "out" / "run.json").read_text())
    assert meta["world_file"] == "my-procurement.toml"
    assert meta["world_sha256"] == hashlib.sha256(world.read_bytes()).hexdigest()
    entries = [json.loads(line) for line in (tmp_path / "out" / "audit.jsonl").read_text().splitlines()]
    assert [e["details"]["waited"] for e in entries if e["event"] == "ciba.approved"] == [900]


@pytest.mark.parametrize("command", ["run", "check"])
def test_an_out_directory_that_cannot_be_made_is_one_line_and_exit_2(capsys, tmp_path, command):
    blocker = tmp_path / "file"
    blocker.write_text("")
    target = ["procurement"] if command == "run" else [str(WORLDS_DIR / "procurement.toml")]
    code, out, err = run_cli(capsys, command, *target, "--out", str(blocker / "run"))
    assert code == 2 and out == "" and err.strip() == f"{blocker / 'run'}: cannot create the run directory (Not a directory)"
