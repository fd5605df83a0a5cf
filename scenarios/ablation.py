"""Ablation runs: the same world with one setting switched off, run beside the real one and compared.

The customer-service scenario's ablation switches detection off *in a world file*: the ablated
world is a small file that extends the run's world file (``[scenario] extends``, by absolute path)
and sets ``enabled = false`` in its ``[detection]`` table — nothing else changes. It is parsed like
any other world (so it is checked like one) and written into the ablation's run directory as
``world.toml``: ``trustbench run customer-service --world RUN/ablation/world.toml`` replays it.
``run_with_ablation`` runs both, then adds a comparison to the main run's ``summary.md`` and
``run.json`` and writes ``comparison.json``; from the ablation's trail (the attack ran to its end)
it measures the threshold trade-off (``scenarios.detection_sweep``: ``detection_sweep.json`` and
``.csv``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from actors.audit_log import load_entries
from scenarios.detection_sweep import sweep, write_sweep
from scenarios.world import World, parse_world

COMPARED = ("records read by the attacker", "calls accepted after the theft", "calls refused after the theft",
            "last accepted call after the theft", "detected after", "contained after",
            "records read before containment", "successful calls after containment",
            "stolen CRM token still valid at the end")
"""Facts of the drill phase the comparison puts side by side (absent ones show as "—")."""


@attrs.frozen(kw_only=True)
class Ablation:
    name: str
    description: str
    override: str
    """TOML merged over the world's own file (``[scenario] extends``)."""
    applies: Callable[[World], bool] = attrs.field(eq=False)
    check: Callable[[World], bool] = attrs.field(eq=False)


NO_DETECTION = Ablation(name="no-detection", description="[detection] enabled = false (no detector, no response)",
                        override="[detection]\nenabled = false\n",
                        applies=lambda world: world.security is not None,
                        check=lambda world: world.security is not None and not world.security.detection.enabled)


def ablated_world(world: World, ablation: Ablation) -> tuple[World, str]:
    """The ablated world and its TOML text: a file extending ``world``'s file with ``ablation.override``."""
    if not ablation.applies(world):
        raise world.error("", f"the ablation {ablation.name} does not apply to this world ({ablation.description})")
    base = Path(world.source).resolve()
    text = (f"# Ablation {ablation.name}: {ablation.description}\n"
            f"[scenario]\nextends = {json.dumps(str(base))}\n\n{ablation.override}")
    ablated = parse_world(text, source=str(base.with_name(f"{base.stem}.ablation-{ablation.name}.toml")))
    if not ablation.check(ablated):
        raise world.error("", f"the ablation {ablation.name} did not take effect")
    return ablated, text


def compare(main: Any, ablated: Any) -> dict[str, Any]:
    """The drill phase's facts with and without the ablated setting, key by key."""
    def drill(result: Any) -> Any:
        return next((p for p in reversed(result.phases) if "records read by the attacker" in p.facts), None)

    with_, without = drill(main), drill(ablated)
    rows = [{"fact": key, "with": (with_.facts.get(key, "—") if with_ else "—"),
             "without": (without.facts.get(key, "—") if without else "—")} for key in COMPARED]
    return {"rows": rows, "with_ok": main.ok, "without_ok": ablated.ok}


def _markdown(ablation: Ablation, comparison: dict[str, Any]) -> str:
    lines = ["", f"## Ablation — {ablation.description}", "",
             "The same world and seed, run again with detection switched off in the world file "
             "(`ablation/world.toml`, run directory `ablation/`).", "",
             "| | with detection | without detection |", "|---|---|---|"]
    for row in comparison["rows"]:
        lines.append(f"| {row['fact']} | {row['with']} | {row['without']} |")
    return "\n".join(lines) + "\n"


def _sweep_section(options: Any, ablated: Any) -> str:
    """The threshold trade-off, replayed on the ablation run's trail (the attack ran to its end)."""
    drill = next((p for p in ablated.phases if "stolen at" in p.facts), None)
    security = options.world.security
    if drill is None or security is None:
        return ""
    stolen = drill.facts["stolen at"]
    agent = next(p.agent for p in options.world.phases if p.number == drill.number)
    entries = load_entries(ablated.out_dir / "audit.sqlite")
    started = datetime.fromisoformat(stolen.replace("Z", "+00:00")).timestamp()
    points = sweep(entries, agent=agent, attack_started=started)
    return write_sweep(points, options.out_dir, chosen=security.detection.policy.high, attack_started=stolen)


def run_with_ablation(options: Any) -> tuple[Any, Any, dict[str, Any]]:
    """Run ``options`` and its scenario's ablation; write the comparison into the main run."""
    from scenarios.runner import run_scenario

    ablation = options.scenario.ablation
    main = run_scenario(options)
    world, text = ablated_world(options.world, ablation)
    out = options.out_dir / "ablation"
    ablated = run_scenario(attrs.evolve(options, world=world, out_dir=out, progress=None))
    (out / "world.toml").write_text(text, encoding="utf-8")
    comparison = {"ablation": ablation.name, "description": ablation.description, **compare(main, ablated)}
    (options.out_dir / "comparison.json").write_text(json.dumps(comparison, indent=2, sort_keys=True) + "\n")
    sections = _markdown(ablation, comparison) + _sweep_section(options, ablated)
    with (options.out_dir / "summary.md").open("a", encoding="utf-8") as summary:
        summary.write(sections)
    run_json = options.out_dir / "run.json"
    metadata = json.loads(run_json.read_text())
    metadata["comparison"] = comparison
    run_json.write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    return main, ablated, comparison
