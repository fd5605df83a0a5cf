"""Decisions per layer: allowed (green) and denied (red) stacked, counts (✓ allowed, ✗ denied) at the bar ends.

The four defence-in-depth layers are always drawn (an empty bar says the layer took no decision
in this run); other layers only when they decided something.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from reports.svg_figures import ALLOW, DENY, GRID, INK, MUTED, figure_to_svg, svg_figure

WIDTH = 7.6


@attrs.frozen(kw_only=True)
class LayerBar:
    label: str
    defence: bool
    allowed: int
    denied: int


def layer_svg(bars: Sequence[LayerBar]) -> str:
    height = 0.6 + 0.4 * len(bars)
    peak = max([bar.allowed + bar.denied for bar in bars] + [1])
    with svg_figure(width=WIDTH, height=height) as figure:
        axes = figure.add_axes((0.25, 0.42 / height, 0.72, 1 - 0.55 / height))
        for spine in ("top", "right", "left"):
            axes.spines[spine].set_visible(False)
        axes.spines["bottom"].set_color(GRID)
        axes.tick_params(axis="both", colors=MUTED, labelsize=8, length=0)
        positions = list(range(len(bars)))[::-1]
        labels = [("◆ " if bar.defence else "") + bar.label for bar in bars]
        axes.set_yticks(positions, labels, fontsize=10, color=INK)
        for y, bar in zip(positions, bars):
            axes.barh(y, bar.allowed, height=0.6, color=ALLOW, zorder=2)
            axes.barh(y, bar.denied, left=bar.allowed, height=0.6, color=DENY, zorder=2)
            total = bar.allowed + bar.denied
            text = f"{bar.allowed} ✓  {bar.denied} ✗" if total else "no decision"
            axes.text(total + peak * 0.012, y, text, va="center", ha="left", fontsize=9.5,
                      color=DENY if bar.denied else (INK if total else MUTED))
        axes.set_xlim(0, peak * 1.3)
        axes.set_ylim(-0.6, len(bars) - 0.4)
        axes.xaxis.grid(True, color=GRID, linewidth=0.6, zorder=0)
        axes.set_axisbelow(True)
        axes.xaxis.get_major_locator().set_params(integer=True)
        return figure_to_svg(figure)
