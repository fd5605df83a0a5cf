"""``trustbench attacks``: run the attack library under one or both configurations and print one
line per outcome (or one JSON array); exit 1 if a unified run was not stopped by the layer the
library expects (a CI gate for the platform's defences)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

import attrs

from actors.runtime.network import Transport
from actors.runtime.scheduling import run_simulated
from scenarios.attacks import ATTACKS, AttackOutcome


def add_attacks_parser(commands: Any, *, seed: Callable[[str], int]) -> None:
    attacks = commands.add_parser(
        "attacks", help="run the attack library (unified vs traditional)",
        description="Run each attack of the library against the unified platform and/or the traditional stack "
                    "and print the measured outcome: stopped by which layer, records exposed, unauthorised "
                    "actions, time to containment, audit completeness. Exit 1 if a unified run was not stopped "
                    "by its expected layer.")
    attacks.add_argument("ids", nargs="*", metavar="ID", help=f"attacks to run (default all: {', '.join(ATTACKS)})")
    attacks.add_argument("--configuration", choices=["unified", "traditional", "both"], default="both")
    attacks.add_argument("--transport", choices=[t.value for t in Transport], default=Transport.CHANNEL.value)
    attacks.add_argument("--seed", type=seed, default=1, help="seed (default 1)")
    attacks.add_argument("--json", action="store_true", help="print one JSON array of outcomes")


def _line(outcome: AttackOutcome) -> str:
    verdict = f"STOPPED by {outcome.stopped_by}" if outcome.stopped else "NOT STOPPED"
    contained = "-" if outcome.time_to_containment is None else f"{outcome.time_to_containment:g}s"
    return (f"{outcome.attack:<30} {outcome.configuration:<11} {verdict:<30} records={outcome.records_exposed:<4} "
            f"actions={outcome.unauthorised_actions:<2} contained={contained:<6} "
            f"audit={'complete' if outcome.audit_complete else 'incomplete'}")


def run_attacks(args: argparse.Namespace, *, error: Callable[[str], Exception]) -> int:
    unknown = [i for i in args.ids if i not in ATTACKS]
    if unknown:
        raise error(f"trustbench attacks: unknown attack {unknown[0]!r} (known: {', '.join(ATTACKS)})")
    ids = args.ids or list(ATTACKS)
    configurations = ["unified", "traditional"] if args.configuration == "both" else [args.configuration]

    async def everything() -> list[AttackOutcome]:
        return [await ATTACKS[i].run(configuration=c, seed=args.seed, transport=args.transport)
                for i in ids for c in configurations]

    # Threshold 0 on both transports: over HTTP the network holds the clock while bytes are on the wire.
    outcomes = run_simulated(everything, seed=args.seed, autojump_threshold=0)
    if args.json:
        print(json.dumps([attrs.asdict(o) for o in outcomes], indent=2))
    else:
        for outcome in outcomes:
            print(_line(outcome))
    failed = [o for o in outcomes if o.configuration == "unified"
              and not (o.stopped and o.stopped_by == ATTACKS[o.attack].expected_unified)]
    return 1 if failed else 0
