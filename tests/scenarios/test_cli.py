"""The command line: help, one-line errors with exit 2, verify detecting tampering."""

import shutil
import sqlite3

import pytest

from scenarios.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["verify", "--help"], ["serve", "--help"],
                                  ["scenarios", "--help"]])
def test_every_help_is_clear(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: trustbench") and len(out.splitlines()) >= 4


def test_scenarios_lists_one_line_each(capsys):
    code, out, _ = run_cli(capsys, "scenarios")
    assert code == 0 and "sales-agent" in out


@pytest.mark.parametrize("argv,fragment", [
    (["run", "no-such-scenario"], "invalid choice"),
    (["run", "sales-agent", "--seed", "abc"], "seed must be an integer"),
    (["run", "sales-agent", "--seed", "-1"], "zero or positive"),
    (["run", "sales-agent", "--transport", "carrier-pigeon"], "invalid choice"),
    (["run", "sales-agent", "--world", "/nonexistent/world.toml"], "no such world file"),
    (["verify", "/nonexistent/run"], "not a run directory"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments_give_one_line_and_exit_2(capsys, argv, fragment):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert fragment in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("text,fragment", [
    ("not toml [", "invalid TOML"),
    ('[scenario]\nname = "x"\n', "organization: missing table"),
])
def test_bad_world_file_gives_one_line_and_exit_2(capsys, tmp_path, text, fragment):
    world = tmp_path / "world.toml"
    world.write_text(text)
    code, _, err = run_cli(capsys, "run", "sales-agent", "--world", str(world), "--out", str(tmp_path / "out"))
    assert code == 2 and fragment in err and str(world) in err and len(err.strip().splitlines()) == 1


def test_verify_names_the_tampered_entry(capsys, channel_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(channel_run.out_dir, copy)
    code, out, _ = run_cli(capsys, "verify", str(copy))
    assert code == 0 and "intact" in out
    with sqlite3.connect(copy / "audit.sqlite") as db:
        db.execute("UPDATE audit_entries SET decision = 'deny' WHERE seq = 3")
    code, _, err = run_cli(capsys, "verify", str(copy))
    assert code == 1 and "entry 3" in err and "altered" in err


def test_verify_detects_a_deleted_entry(capsys, channel_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(channel_run.out_dir, copy)
    with sqlite3.connect(copy / "audit.sqlite") as db:
        db.execute("DELETE FROM audit_entries WHERE seq = 2")
    code, _, err = run_cli(capsys, "verify", str(copy))
    assert code == 1 and "entry 3" in err
