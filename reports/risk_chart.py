"""Risk score over simulated time: one line per agent, the threshold, detection and containment.

The area above the threshold is tinted; a red dotted line marks each incident's detection and a
solid dark line its containment, labelled with the time it took.
"""

from __future__ import annotations

from collections.abc import Sequence

from reports.audit_fields import duration_label, parse_time
from reports.incidents import Incident, RiskPoint
from reports.svg_figures import DENY, GRID, INK, MUTED, figure_to_svg, svg_figure
from reports.time_axis import seconds_since, time_axis

LINE_COLOURS = ("#2563eb", "#7c3aed", "#0891b2", "#c2410c", "#059669")
THRESHOLD_COLOUR = "#d97706"


def risk_svg(*, points: Sequence[RiskPoint], incidents: Sequence[Incident]) -> str:
    origin = parse_time(min(p.time for p in points))
    times = [seconds_since(origin, p.time) for p in points]
    marks = [seconds_since(origin, i.opened_at) for i in incidents]
    marks += [seconds_since(origin, i.contained_at) for i in incidents if i.contained_at]
    low, high = min(times + marks), max(times + marks)
    span = max(high - low, 60.0)
    pad = span * 0.06
    thresholds = sorted({p.threshold for p in points if p.threshold is not None})
    top = max([p.score for p in points] + thresholds + [1.0]) * 1.18
    with svg_figure(width=11.0, height=3.6) as figure:
        axes = figure.add_axes((0.07, 0.14, 0.9, 0.78))
        for spine in ("top", "right"):
            axes.spines[spine].set_visible(False)
        for spine in ("left", "bottom"):
            axes.spines[spine].set_color(GRID)
        axes.tick_params(axis="both", colors=MUTED, labelsize=8, length=0)
        axes.yaxis.grid(True, color=GRID, linewidth=0.6)
        axes.set_axisbelow(True)
        axes.set_ylim(0, top)
        axes.set_ylabel("risk score", color=MUTED, fontsize=8.5)
        for threshold in thresholds:
            axes.axhline(threshold, color=THRESHOLD_COLOUR, linestyle=(0, (6, 3)), linewidth=1.3, zorder=2)
            axes.axhspan(threshold, top, color=DENY, alpha=0.05, zorder=0)
            axes.text(low - pad, threshold, f" threshold {threshold:g}", color=THRESHOLD_COLOUR, fontsize=8,
                      va="bottom", ha="left")
        agents = list(dict.fromkeys(p.agent for p in points))
        for index, agent in enumerate(agents):
            series = [(t, p.score) for t, p in zip(times, points) if p.agent == agent]
            axes.plot([t for t, _ in series], [s for _, s in series], color=LINE_COLOURS[index % len(LINE_COLOURS)],
                      linewidth=2.0, marker="o", markersize=4, label=agent, zorder=3, drawstyle="steps-post")
        for incident in incidents:
            opened = seconds_since(origin, incident.opened_at)
            axes.axvline(opened, color=DENY, linestyle=(0, (2, 2)), linewidth=1.1, zorder=2)
            axes.text(opened, top * 0.97, " detected", color=DENY, fontsize=8, va="top", ha="left")
            if incident.contained_at:
                contained = seconds_since(origin, incident.contained_at)
                axes.axvline(contained, color=INK, linewidth=1.6, zorder=2)
                label = f"contained after {duration_label(incident.seconds_to_contain or 0)}"
                if incident.records_read is not None:
                    label += f"\n{incident.records_read} records read before"
                right_half = contained > low + (high - low) / 2
                axes.text(contained + (-1 if right_half else 1) * span * 0.01, top * 0.85, label, color=INK,
                          fontsize=8.5, va="top", ha="right" if right_half else "left", fontweight="bold",
                          bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": GRID})
        if len(agents) > 1:
            axes.legend(loc="upper left", fontsize=8, frameon=False)
        time_axis(axes, start=origin, low=low - pad, high=high + pad)
        return figure_to_svg(figure)
