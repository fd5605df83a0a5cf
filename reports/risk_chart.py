"""Risk score over simulated time: one line per agent, the threshold, detection and containment.

The left panel shows the whole run (the behavioural baseline over days or weeks); when there is an
incident, the right panel zooms on the first one — from a little before detection to a little after
containment — where a red dotted line marks the detection and a dark line the containment, labelled
with the time it took and the records read before it. The area above the threshold is tinted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from matplotlib.axes import Axes

from reports.audit_fields import duration_label, parse_time
from reports.incidents import Incident, RiskPoint
from reports.svg_figures import DENY, GRID, INK, MUTED, figure_to_svg, svg_figure
from reports.time_axis import seconds_since, time_axis

LINE_COLOURS = ("#2563eb", "#7c3aed", "#0891b2", "#c2410c", "#059669")
THRESHOLD_COLOUR = "#d97706"
ZOOM_MIN = 600.0


def _style(axes: Axes, *, top: float) -> None:
    for spine in ("top", "right"):
        axes.spines[spine].set_visible(False)
    for spine in ("left", "bottom"):
        axes.spines[spine].set_color(GRID)
    axes.tick_params(axis="both", colors=MUTED, labelsize=8, length=0)
    axes.yaxis.grid(True, color=GRID, linewidth=0.6)
    axes.set_axisbelow(True)
    axes.set_ylim(0, top)


def _series(axes: Axes, *, origin: datetime, points: Sequence[RiskPoint], agents: list[str],
            low: float, high: float) -> None:
    for index, agent in enumerate(agents):
        mine = [(seconds_since(origin, p.time), p.score) for p in points if p.agent == agent]
        before = [(t, s) for t, s in mine if t < low]
        inside = [(t, s) for t, s in mine if low <= t <= high]
        if before:
            inside.insert(0, (low, before[-1][1]))
        if not inside:
            continue
        axes.plot([t for t, _ in inside], [s for _, s in inside], color=LINE_COLOURS[index % len(LINE_COLOURS)],
                  linewidth=2.0, marker="o", markersize=3.5, label=agent, zorder=3, drawstyle="steps-post")


def _thresholds(axes: Axes, *, thresholds: list[float], top: float, low: float, label: bool) -> None:
    for threshold in thresholds:
        axes.axhline(threshold, color=THRESHOLD_COLOUR, linestyle=(0, (6, 3)), linewidth=1.3, zorder=2)
        axes.axhspan(threshold, top, color=DENY, alpha=0.05, zorder=0)
        if label:
            axes.text(low, threshold, f" threshold {threshold:g}", color=THRESHOLD_COLOUR, fontsize=8,
                      va="bottom", ha="left")


def _incident_marks(axes: Axes, *, origin: datetime, incident: Incident, label: bool) -> None:
    opened = seconds_since(origin, incident.opened_at)
    axes.axvline(opened, color=DENY, linestyle=(0, (2, 2)), linewidth=1.2, zorder=2)
    if incident.contained_at:
        axes.axvline(seconds_since(origin, incident.contained_at), color=INK, linewidth=1.6, zorder=2)
    if not label:
        return
    text = f"reads began {incident.reads_began_at[11:19]}\n" if incident.reads_began_at else ""
    text += f"detected {incident.opened_at[11:19]}"
    if incident.contained_at:
        text += f"\ncontained after {duration_label(incident.seconds_to_contain or 0)}"
        if incident.seconds_from_first_read is not None:
            text += f" ({duration_label(incident.seconds_from_first_read)} from the first read)"
        if incident.records_read is not None:
            text += f"\n{incident.records_read} records read before"
    else:
        text += "\nnot contained"
    axes.text(0.03, 0.96, text, transform=axes.transAxes, color=INK, fontsize=8.5, va="top", ha="left",
              fontweight="bold", bbox={"boxstyle": "round,pad=0.35", "facecolor": "white", "edgecolor": GRID})


def risk_svg(*, points: Sequence[RiskPoint], incidents: Sequence[Incident]) -> str:
    origin = parse_time(min(p.time for p in points))
    times = [seconds_since(origin, p.time) for p in points]
    marks = [seconds_since(origin, i.opened_at) for i in incidents]
    marks += [seconds_since(origin, i.contained_at) for i in incidents if i.contained_at]
    low, high = min(times + marks), max(times + marks)
    span = max(high - low, 60.0)
    thresholds = sorted({p.threshold for p in points if p.threshold is not None})
    top = max([p.score for p in points] + thresholds + [1.0]) * 1.18
    agents = list(dict.fromkeys(p.agent for p in points))
    zoom = incidents[0] if incidents else None
    with svg_figure(width=11.0, height=3.4) as figure:
        main = figure.add_axes((0.06, 0.14, 0.56 if zoom else 0.91, 0.78))
        _style(main, top=top)
        main.set_ylabel("risk score", color=MUTED, fontsize=8.5)
        _thresholds(main, thresholds=thresholds, top=top, low=low - span * 0.04, label=True)
        _series(main, origin=origin, points=points, agents=agents, low=low - span, high=high + span)
        for incident in incidents:
            _incident_marks(main, origin=origin, incident=incident, label=False)
        if len(agents) > 1:
            main.legend(loc="upper left", fontsize=8, frameon=False)
        time_axis(main, start=origin, low=low - span * 0.04, high=high + span * 0.04)
        if zoom:
            opened = seconds_since(origin, zoom.opened_at)
            closed = seconds_since(origin, zoom.contained_at) if zoom.contained_at else opened
            pad = max(ZOOM_MIN, (closed - opened) * 1.5)
            zoom_low, zoom_high = opened - pad, closed + pad / 2
            detail = figure.add_axes((0.68, 0.14, 0.3, 0.78))
            _style(detail, top=top)
            _thresholds(detail, thresholds=thresholds, top=top, low=zoom_low, label=False)
            _series(detail, origin=origin, points=points, agents=agents, low=zoom_low, high=zoom_high)
            _incident_marks(detail, origin=origin, incident=zoom, label=True)
            detail.set_title(f"incident on {zoom.agent}", fontsize=8.5, color=MUTED, loc="left")
            time_axis(detail, start=origin, low=zoom_low, high=zoom_high)
        return figure_to_svg(figure)
