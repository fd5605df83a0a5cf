"""A phase's sequence diagram: actors as lifelines, audit-derived messages as arrows, denials in red.

Messages come from ``reports.messages`` (see its mapping). Rows run top to bottom in audit order;
the simulated time is printed in the left margin whenever it changes. A note on a lifeline is an
event an actor recorded on its own (no client or peer). Very long phases are cut at ``MAX_ROWS``
with a final row saying how many messages are only in the audit table.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.patches import FancyBboxPatch

from reports.audit_fields import clock_label
from reports.messages import Message, lifelines
from reports.svg_figures import DENY, GRID, INK, MUTED, figure_to_svg, svg_figure

MAX_ROWS = 80
ROW = 0.36
LIFELINE_GAP = 2.3
MAX_LABEL = 58


def _short(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sequence_svg(flow: Sequence[Message]) -> str:
    """The diagram as SVG text (empty ``flow`` is the caller's concern: it has nothing to draw)."""
    shown = list(flow[:MAX_ROWS])
    hidden = len(flow) - len(shown)
    actors = lifelines(shown)
    column = {name: index for index, name in enumerate(actors)}
    rows = len(shown) + (1 if hidden else 0)
    width = max(7.5, LIFELINE_GAP * len(actors) + 1.6)
    height = ROW * (rows + 2.25)
    with svg_figure(width=width, height=height) as figure:
        axes = figure.add_axes((0, 0, 1, 1))
        axes.set_axis_off()
        left, right = -1.05, len(actors) - 1 + 0.95
        top, bottom = 0.0, -(rows + 0.8)
        axes.set_xlim(left * LIFELINE_GAP, right * LIFELINE_GAP)
        axes.set_ylim(bottom * ROW, (top + 1.45) * ROW)
        for name, index in column.items():
            x = index * LIFELINE_GAP
            axes.plot([x, x], [bottom * ROW + 0.1, 0.75 * ROW], color=GRID, linewidth=1.4, zorder=1,
                      solid_capstyle="butt")
            axes.text(x, 0.8 * ROW, _short(name, 26), ha="center", va="center", fontsize=10, color="white",
                      fontweight="bold", zorder=4,
                      bbox={"boxstyle": "round,pad=0.45", "facecolor": INK, "edgecolor": INK})
        previous_time = None
        for row, message in enumerate(shown, start=1):
            y = -row * ROW
            colour = DENY if message.outcome == "deny" else INK
            label = _short(message.label)
            time = clock_label(message.time)
            if time != previous_time:
                axes.text(left * LIFELINE_GAP + 0.1, y, time, ha="left", va="center", fontsize=8.5, color=MUTED)
                previous_time = time
            xs, xr = column[message.sender] * LIFELINE_GAP, column[message.receiver] * LIFELINE_GAP
            if message.is_note:
                axes.plot([xs], [y], marker="o", markersize=4, color=colour, zorder=3)
                axes.text(xs + 0.12, y, label, ha="left", va="center", fontsize=8.5, color=colour, zorder=3,
                          bbox={"boxstyle": "round,pad=0.25", "facecolor": "#fef2f2" if colour == DENY else "#f8fafc",
                                "edgecolor": colour if colour == DENY else GRID, "linewidth": 0.8})
                continue
            axes.annotate("", xy=(xr, y), xytext=(xs, y), zorder=3,
                          arrowprops={"arrowstyle": "-|>,head_length=0.5,head_width=0.25", "color": colour,
                                      "linewidth": 1.3 if colour == DENY else 1.0, "shrinkA": 0, "shrinkB": 2,
                                      "linestyle": "--" if message.outcome == "deny" else "-"})
            axes.text((xs + xr) / 2, y + 0.055, label, ha="center", va="bottom", fontsize=8.5, color=colour,
                      zorder=3, fontweight="bold" if colour == DENY else "normal")
            if message.outcome == "deny":
                axes.plot([xr], [y], marker="X", markersize=7, color=DENY, zorder=4)
        if hidden:
            y = -(len(shown) + 1) * ROW
            axes.add_patch(FancyBboxPatch((left * LIFELINE_GAP + 0.1, y - 0.1), (right - left) * LIFELINE_GAP - 0.2,
                                          0.2, boxstyle="round,pad=0.02", facecolor="#f1f5f9", edgecolor=GRID))
            axes.text(0.5 * (left + right) * LIFELINE_GAP, y, f"… {hidden} more messages: see the audit trail",
                      ha="center", va="center", fontsize=8, color=MUTED)
        return figure_to_svg(figure)
