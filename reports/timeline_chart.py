"""The run on a simulated-time axis: one row per layer, a dot per burst of events, phases marked.

Events of a row that fall in the same 1/60 of a panel's span form one dot, sized by how many they
are (the bigger bursts and every burst with denials are labelled with the count); a red ring means
the burst holds denials. Dashed lines mark the
start of each phase (phases starting at nearly the same moment share one label).

Scenarios jump in time (phase 8 happens on day 45): a quiet stretch longer than a quarter of the
run and than an hour is cut out, and the axis is drawn as panels with ``//`` breaks labelled with
the time skipped, so every active stretch keeps a readable scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import attrs
from matplotlib.axes import Axes

from reports.audit_fields import duration_label, parse_time
from reports.classification import LAYER_BY_KEY, LAYERS
from reports.svg_figures import DENY, GRID, INK, LAYER_COLOURS, MUTED, figure_to_svg, svg_figure
from reports.time_axis import seconds_since, time_axis

BUCKETS = 60
MIN_SPAN = 60.0
BREAK_SHARE = 0.25
BREAK_MIN = 3600.0
PANEL_GAP = 0.035
LABEL_MERGE = 0.04
LABEL_SHARE = 0.25
"""A burst is labelled with its count if it holds a denial or a quarter of the biggest burst."""


@attrs.frozen(kw_only=True)
class TimelineEvent:
    time: str
    layer: str
    outcome: str | None


@attrs.frozen(kw_only=True)
class PhaseMark:
    number: int
    time: str


def panels(moments: Sequence[float]) -> list[tuple[float, float]]:
    """Active stretches ``(start, end)`` in seconds: split where the run is quiet for long."""
    ordered = sorted(set(moments))
    if not ordered:
        return [(0.0, MIN_SPAN)]
    span = ordered[-1] - ordered[0]
    cut = max(span * BREAK_SHARE, BREAK_MIN)
    stretches = [[ordered[0], ordered[0]]]
    for moment in ordered[1:]:
        if moment - stretches[-1][1] > cut:
            stretches.append([moment, moment])
        else:
            stretches[-1][1] = moment
    return [(start, end) for start, end in stretches]


def _phase_labels(marks: Sequence[tuple[float, int]], span: float) -> list[tuple[float, str]]:
    groups: list[list[tuple[float, int]]] = []
    for at, number in sorted(marks):
        if groups and at - groups[-1][-1][0] <= span * LABEL_MERGE:
            groups[-1].append((at, number))
        else:
            groups.append([(at, number)])
    labels = []
    for group in groups:
        numbers = [str(number) for _, number in group]
        text = f"Phase {numbers[0]}" if len(numbers) == 1 else f"Phases {numbers[0]}–{numbers[-1]}"
        labels.append((group[0][0], text))
    return labels


def _draw_panel(axes: Axes, *, origin: datetime, low: float, high: float, rows: dict[str, int],
                events: Sequence[tuple[float, TimelineEvent]], marks: Sequence[tuple[float, int]]) -> None:
    span = max(high - low, MIN_SPAN)
    pad = span * 0.06
    for spine in ("top", "right", "left"):
        axes.spines[spine].set_visible(False)
    axes.spines["bottom"].set_color(GRID)
    axes.tick_params(axis="both", colors=MUTED, labelsize=8, length=0)
    top = len(rows) - 0.3
    axes.set_ylim(-0.7, top + 0.7)
    for y in rows.values():
        axes.axhline(y, color=GRID, linewidth=0.8, zorder=0)
    for at, _ in marks:
        axes.axvline(at, color=MUTED, linewidth=0.8, linestyle=(0, (4, 3)), zorder=1)
    for index, (at, text) in enumerate(_phase_labels(marks, span)):
        axes.text(at, top + 0.12 + 0.25 * (index % 2), text, ha="center", va="bottom", fontsize=8, color=MUTED)
    bursts: dict[tuple[str, int], list[tuple[float, TimelineEvent]]] = {}
    for at, event in events:
        bucket = int((at - low) / span * BUCKETS)
        bursts.setdefault((event.layer, bucket), []).append((at, event))
    labelled = max([len(burst) for burst in bursts.values()] + [0]) * LABEL_SHARE
    for (key, _), burst in sorted(bursts.items(), key=lambda item: (rows[item[0][0]], item[0][1])):
        x = burst[0][0]
        denied = sum(1 for _, event in burst if event.outcome == "deny")
        size = 5 + 3.2 * math.sqrt(len(burst))
        axes.plot([x], [rows[key]], marker="o", markersize=size, color=LAYER_COLOURS.get(key, MUTED), linestyle="none",
                  markeredgecolor=DENY if denied else "white", markeredgewidth=2.0 if denied else 0.8, zorder=3)
        if denied or (len(burst) > 1 and len(burst) >= labelled):
            text = str(len(burst)) + (f" ({denied}✗)" if denied else "")
            axes.annotate(text, (x, rows[key]), xytext=(size / 2 + 2, 3), textcoords="offset points",
                          fontsize=8, color=DENY if denied else INK, va="bottom", zorder=4)
    time_axis(axes, start=origin, low=low - pad, high=low + span + pad)


def timeline_svg(*, events: Sequence[TimelineEvent], phases: Sequence[PhaseMark], start: str, finish: str) -> str:
    origin = parse_time(start)
    placed = [(seconds_since(origin, event.time), event) for event in events]
    marks = [(seconds_since(origin, mark.time), mark.number) for mark in phases]
    stretches = panels([at for at, _ in placed] + [at for at, _ in marks])
    keys = [layer.key for layer in LAYERS if any(event.layer == layer.key for event in events)]
    rows = {key: index for index, key in enumerate(reversed(keys))}
    height = 1.5 + 0.42 * max(len(keys), 1)
    left, right = 0.15, 0.95
    usable = right - left - PANEL_GAP * (len(stretches) - 1)
    lengths = [max(end - begin, MIN_SPAN) for begin, end in stretches]
    shares = [0.5 / len(stretches) + 0.5 * length / sum(lengths) for length in lengths]
    with svg_figure(width=11.0, height=height) as figure:
        x = left
        for index, ((begin, end), share) in enumerate(zip(stretches, shares)):
            width = usable * share
            axes = figure.add_axes((x, 0.62 / height, width, 1 - 1.05 / height))
            mine = [(at, event) for at, event in placed if begin <= at <= end]
            _draw_panel(axes, origin=origin, low=begin, high=end, rows=rows, events=mine,
                        marks=[(at, number) for at, number in marks if begin <= at <= end])
            if index == 0:
                axes.set_yticks(list(rows.values()), [LAYER_BY_KEY[key].short for key in rows], fontsize=9,
                                color=INK)
            else:
                axes.set_yticks([])
                gap = begin - stretches[index - 1][1]
                figure.text(x - PANEL_GAP / 2, 0.62 / height - 0.01, "//", ha="center", va="center", fontsize=11,
                            color=MUTED, fontweight="bold")
                middle = (0.62 / height + 1 - 0.43 / height) / 2
                figure.text(x - PANEL_GAP / 2, middle, f"+{duration_label(gap)}", ha="center", va="center",
                            fontsize=8.5, color=MUTED, rotation=90,
                            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none"})
            x += width + PANEL_GAP
        return figure_to_svg(figure)
