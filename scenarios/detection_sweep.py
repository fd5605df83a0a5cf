"""The detection-delay / false-alarm trade-off of the HIGH threshold, measured on a real run.

Input: the audit trail of a run in which the attack was *not* contained (the ablation run, detection
switched off), so it holds weeks of routine traffic and the whole attack. ``actors.threat_detection.
replay`` scores it exactly as the live detector would; every score is then compared with each
candidate threshold:

- false alarms: evaluations before the theft scoring at or above the threshold (and on how many
  distinct days) — each would have suspended a legitimate agent;
- detection delay: seconds from the theft to the first evaluation at or above the threshold, and
  the records the attacker had read by then.

``write_sweep`` stores the table as ``detection_sweep.json`` and ``detection_sweep.csv`` (what the
report charts) and returns a Markdown table for the summary.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from actors.threat_detection import ActivityReader, replay
from protocols.audit_chain import AuditEntry
from protocols.behaviour import DAY, DetectionPolicy

THRESHOLDS = tuple(range(10, 101, 5))


@attrs.frozen(kw_only=True)
class SweepPoint:
    threshold: float
    false_alarms: int
    false_alarm_days: int
    detection_delay: float | None
    records_before_detection: int | None

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen(kw_only=True)
class DetectionConfig:
    """What ``detection.configured`` recorded in the audit trail at startup."""

    agents: Mapping[str, str]
    policy: DetectionPolicy
    monitor_from: float

    @classmethod
    def from_entry(cls, entry: AuditEntry) -> DetectionConfig:
        details = entry.details
        return cls(agents=dict(details["accounts"]), monitor_from=float(details["monitor_from"]),
                   policy=DetectionPolicy(window=int(details["window"]), elevated=float(details["elevated"]),
                                          high=float(details["high"]), baseline_days=int(details["baseline_days"]),
                                          min_baseline_days=int(details["min_baseline_days"])))


def sweep(entries: Sequence[AuditEntry], *, agent: str, attack_started: float,
          thresholds: Iterable[float] = THRESHOLDS) -> list[SweepPoint]:
    config = next((DetectionConfig.from_entry(e) for e in entries if e.event == "detection.configured"), None)
    if config is None:
        raise ValueError("the run has no detection.configured entry")
    scores = [a for a in replay(entries, agents=config.agents, policy=config.policy,
                                monitor_from=config.monitor_from) if a.agent == agent]
    reader = ActivityReader(agents=config.agents, monitor_from=config.monitor_from)
    reads = [(o.time, o.records) for o in map(reader.observe, entries)
             if o is not None and o.agent == agent and o.time >= attack_started]
    points = []
    for threshold in thresholds:
        before = [a for a in scores if a.time < attack_started and a.score >= threshold]
        hit = next((a for a in scores if a.time >= attack_started and a.score >= threshold), None)
        points.append(SweepPoint(
            threshold=float(threshold), false_alarms=len(before),
            false_alarm_days=len({int(a.time // DAY) for a in before}),
            detection_delay=round(hit.time - attack_started, 3) if hit is not None else None,
            records_before_detection=sum(n for t, n in reads if t <= hit.time) if hit is not None else None))
    return points


def write_sweep(points: Sequence[SweepPoint], directory: Path, *, chosen: float, attack_started: str) -> str:
    """Write ``detection_sweep.json`` / ``.csv``; return the Markdown table for the summary."""
    document = {"chosen_threshold": chosen, "attack_started": attack_started,
                "points": [p.to_json() for p in points]}
    (directory / "detection_sweep.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    with (directory / "detection_sweep.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["threshold", "false_alarms", "false_alarm_days", "detection_delay_s",
                         "records_before_detection"])
        for p in points:
            writer.writerow([p.threshold, p.false_alarms, p.false_alarm_days,
                             "" if p.detection_delay is None else p.detection_delay,
                             "" if p.records_before_detection is None else p.records_before_detection])
    lines = ["", "## Threshold trade-off (HIGH)", "",
             "Every evaluation the detector would have made over the ablation run (weeks of routine work, then "
             "the whole attack), replayed against each threshold (`detection_sweep.json`, `.csv`).", "",
             "| threshold | false alarms (days) | detected after | records read by then |", "|---|---|---|---|"]
    for p in points:
        mark = " ← world file" if p.threshold == chosen else ""
        delay = f"{p.detection_delay:.0f} s" if p.detection_delay is not None else "never"
        records = p.records_before_detection if p.records_before_detection is not None else "all"
        lines.append(f"| {p.threshold:g}{mark} | {p.false_alarms} ({p.false_alarm_days}) | {delay} | {records} |")
    return "\n".join(lines) + "\n"
