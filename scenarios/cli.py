"""The ``trustbench`` command line: run, check, report, verify, serve, scenarios, attacks.

Every failure the user can cause (bad argument, bad world file, missing run directory) ends with a
one-line message on stderr and exit status 2; a failed audit-chain verification (``verify``, or a
report whose evidence failed verification) and an unmet world-file expectation (``check``) exit 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from actors.runtime.network import Transport
from scenarios.verify import RunDirError, verify_run
from scenarios.library import SCENARIOS
from scenarios.world import WorldError, load_world
from reports import ReportInputError

EXIT_USAGE = 2
EXIT_FAILED = 1


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        raise CliError(f"{self.prog}: {message}")


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("seed must be zero or positive")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="trustbench",
        description="Simulate and audit a unified identity platform for AI agents: actors exchange real "
                    "signed tokens over in-process channels or real HTTP and run scripted scenarios.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = commands.add_parser("run", help="run a scenario and write its run directory",
                              description="Run a scenario in simulated time and write the run directory: "
                                          "audit.sqlite, audit.jsonl, summary.md, run.json, trustbench.log and "
                                          "the reports (report.html, report.md, report.json, report-*.svg).")
    run.add_argument("scenario", choices=sorted(SCENARIOS), help="the scenario to run")
    run.add_argument("--world", type=Path, help="world file (TOML); default: the scenario's built-in world")
    _add_run_options(run, out="runs/SCENARIO-seedN-TRANSPORT",
                     quiet="print nothing but errors (CI); the exit status tells",
                     json="print one JSON object: outcome, phases, report paths")

    check = commands.add_parser("check", help="run a world file's scenario and check its expectations (CI gate)",
                                description="Run the scenario of world file FILE (its [scenario] name, or "
                                            "--scenario), check every [[expectations]] entry against the finished "
                                            "run's audit log and run.json, print one line per expectation; exit 1 "
                                            "listing every unmet one, 2 for a malformed world file.")
    check.add_argument("world", type=Path, metavar="FILE", help="world file (TOML) with [[expectations]]")
    check.add_argument("--scenario", choices=sorted(SCENARIOS), help="the scenario to run (default: the world's)")
    _add_run_options(check, out="runs/check/WORLD-seedN-TRANSPORT", quiet="print only the unmet expectations",
                     json="print one JSON object: ok, run, every expectation")

    report = commands.add_parser("report", help="re-render a finished run's reports",
                                 description="Render RUN_DIR's audit log and run.json (without re-running) into "
                                             "report.html, report.md, report.json and report-*.svg; exit 1 if the "
                                             "audit evidence fails verification.")
    report.add_argument("run_dir", type=Path, metavar="RUN_DIR")

    verify = commands.add_parser("verify", help="check a run's audit hash chain",
                                 description="Recompute every hash of RUN_DIR/audit.sqlite; exit 1 and name "
                                             "the first altered entry if the chain is broken.")
    verify.add_argument("run_dir", type=Path, metavar="RUN_DIR")

    serve = commands.add_parser("serve", help="serve every actor on 127.0.0.1 with the real clock",
                                description="Start every actor of a world over real HTTP with the wall clock, "
                                            "print their base and discovery URLs, run until interrupted.")
    serve.add_argument("--world", type=Path, help="world file (default: the sales-agent world)")
    serve.add_argument("--seed", type=_seed, help="seed (default: random, from the operating system)")
    serve.add_argument("--out", type=Path, default=Path("runs/serve"), help="where the audit log and log go (default runs/serve)")

    commands.add_parser("scenarios", help="list the scenarios", description="List the built-in scenarios.")
    from scenarios.attacks.cli import add_attacks_parser

    add_attacks_parser(commands, seed=_seed)
    return parser


def _add_run_options(parser: argparse.ArgumentParser, *, out: str, quiet: str, json: str) -> None:
    """--transport, --seed, --out (default ``out``) and either --quiet or --json: how a scenario runs."""
    parser.add_argument("--transport", choices=[t.value for t in Transport], default="channel",
                        help="channel: in-process mailboxes (default, deterministic); http: real HTTP on 127.0.0.1")
    parser.add_argument("--seed", type=_seed, default=1, help="seed for every key and identifier (default 1)")
    parser.add_argument("--out", type=Path, help=f"run directory (default {out})")
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--quiet", action="store_true", help=quiet)
    shown.add_argument("--json", action="store_true", help=json)


def _world(path: Path | None, scenario: str):
    return load_world(path if path is not None else SCENARIOS[scenario].world_file)


def _run_dir(path: Path) -> Path:
    """``path``, created if needed; a directory that cannot be made is a user error (exit 2)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CliError(f"{path}: cannot create the run directory ({error.strerror or type(error).__name__})") from None
    return path


def _check(args: argparse.Namespace) -> int:
    from scenarios.check import check_world, report_json, report_lines, require_expectations, scenario_for

    world = load_world(args.world)
    scenario = scenario_for(world, args.scenario)
    require_expectations(world)
    out = _run_dir(args.out or Path("runs") / "check" / f"{args.world.stem}-seed{args.seed}-{args.transport}")
    result = check_world(world=world, scenario=scenario, transport=Transport(args.transport), seed=args.seed,
                         out_dir=out)
    lines = [report_json(result)] if args.json else report_lines(result)
    if args.quiet:
        lines = [line for line in lines if line.startswith("UNMET")]
    for line in lines:
        print(line)
    return 0 if result.ok else EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        if args.command == "scenarios":
            width = max(map(len, SCENARIOS))
            for scenario in SCENARIOS.values():
                print(f"{scenario.name:<{width}}  {scenario.summary}")
            return 0
        if args.command == "run":
            from scenarios.runner import RunOptions, run_scenario

            world = _world(args.world, args.scenario)
            out = _run_dir(args.out or Path("runs") / f"{args.scenario}-seed{args.seed}-{args.transport}")
            from scenarios.run_output import print_run, run_json
            from scenarios.progress import ConsoleProgress

            progress = None if args.quiet or args.json else ConsoleProgress()
            try:
                ablation_note = ""
                options = RunOptions(scenario=SCENARIOS[args.scenario], world=world, progress=progress,
                                     transport=Transport(args.transport), seed=args.seed, out_dir=out)
                ablation = options.scenario.ablation
                if ablation is not None and not ablation.check(world):  # e.g. detection on: also run it off
                    from scenarios.ablation import run_with_ablation

                    result, ablated, comparison = run_with_ablation(options)
                    ablation_note = (f"ablation ({comparison['description']}): {ablated.out_dir}; compared in "
                                     f"{result.out_dir / 'summary.md'} and comparison.json")
                else:
                    result = run_scenario(options)
            finally:
                if progress:
                    progress.close()
            if args.json:
                print(run_json(result))
            elif not args.quiet:
                print_run(result, console=progress.console)
                if ablation_note:
                    print(ablation_note)
            return 0 if result.ok and result.report.ok else EXIT_FAILED
        if args.command == "check":
            return _check(args)
        if args.command == "attacks":
            from scenarios.attacks.cli import run_attacks

            return run_attacks(args, error=CliError)
        if args.command == "report":
            from reports import render_run

            rendered = render_run(args.run_dir)
            print(f"report: {rendered.html}\nmarkdown: {rendered.markdown}\njson: {rendered.json}")
            if rendered.ok:
                return 0
            print(f"AUDIT LOG TAMPERED: {'; '.join(rendered.integrity.problems)}", file=sys.stderr)
            return EXIT_FAILED
        if args.command == "verify":

            report = verify_run(args.run_dir)
            if report.ok:
                print(f"audit chain intact: {report.entries} entries")
                return 0
            print(f"audit chain BROKEN: {report.problem}", file=sys.stderr)
            return EXIT_FAILED
        if args.command == "serve":
            from scenarios.serve import serve_world

            serve_world(_world(args.world, "sales-agent"), seed=args.seed, out_dir=args.out)
            return 0
    except (CliError, WorldError, RunDirError, ReportInputError) as error:
        print(str(error), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 0
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
