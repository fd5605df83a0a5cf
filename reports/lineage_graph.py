"""The token lineage drawn left to right: one column per generation, arrows from parent to child.

Each box names the token's kind and fingerprint, who issued it and who holds it; a revoked token
has a red border and says when. Columns are top-aligned; ``layout`` orders each column (see there).
"""

from __future__ import annotations

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from reports.audit_fields import clock_label
from reports.lineage import Lineage, TokenNode
from reports.svg_figures import DENY, GRID, INK, MUTED, figure_to_svg, svg_figure

KIND_COLOURS = {
    "id_token": "#059669", "access_token": "#2563eb", "refresh_token": "#64748b", "id_jag": "#c2410c",
    "exchanged_token": "#7c3aed", "vault_token": "#0891b2", "approval_token": "#db2777",
}
KIND_NAMES = {
    "id_token": "ID token", "access_token": "access token", "refresh_token": "refresh token", "id_jag": "ID-JAG",
    "exchanged_token": "exchanged token", "vault_token": "vault token", "approval_token": "approval token",
}
BOX_W, BOX_H, COL_GAP, ROW_GAP = 3.0, 0.78, 1.0, 0.32


def kind_name(kind: str) -> str:
    return KIND_NAMES.get(kind, kind.replace("_", " "))


def _lines(node: TokenNode) -> tuple[str, str, str]:
    first = f"{kind_name(node.kind)}  {node.label}"
    issuer = node.issuer or "?"
    second = f"{issuer} → {node.holder}" if node.holder and node.holder != issuer else f"by {issuer}"
    third = f"issued {clock_label(node.time)}"
    if node.uses:
        third += f" · used {node.uses}×"
    if node.revoked_time:
        third = f"REVOKED {clock_label(node.revoked_time)}"
    return first, second[:44], third


def layout(lineage: Lineage) -> dict[int, list[TokenNode]]:
    """Columns by generation; roots with descendants first, then each column ordered by the mean row
    of its parents (fewer crossing arrows), ties by audit order."""
    depth = lineage.depth()
    parents: dict[str, list[str]] = {}
    for edge in lineage.edges:
        parents.setdefault(edge.child, []).append(edge.parent)
    has_children = {edge.parent for edge in lineage.edges}
    columns: dict[int, list[TokenNode]] = {}
    for node in lineage.nodes:
        columns.setdefault(depth[node.key], []).append(node)
    row: dict[str, int] = {}
    for col in sorted(columns):
        if col == 0:
            columns[col].sort(key=lambda n: (n.key not in has_children, n.seq))
        else:
            columns[col].sort(key=lambda n: (sum(row.get(p, 0) for p in parents.get(n.key, [])) /
                                             max(len(parents.get(n.key, [])), 1), n.seq))
        row.update({node.key: index for index, node in enumerate(columns[col])})
    return columns


def lineage_svg(lineage: Lineage) -> str:
    columns = layout(lineage)
    n_cols = max(columns) + 1 if columns else 1
    n_rows = max((len(nodes) for nodes in columns.values()), default=1)
    width = max(7.5, n_cols * (BOX_W + COL_GAP) + 0.6)
    height = n_rows * (BOX_H + ROW_GAP) + 0.5
    centre: dict[str, tuple[float, float]] = {}
    for col, nodes in columns.items():
        for row, node in enumerate(nodes):
            x = 0.3 + col * (BOX_W + COL_GAP)
            y = height - 0.25 - row * (BOX_H + ROW_GAP) - BOX_H
            centre[node.key] = (x, y)
    with svg_figure(width=width, height=height) as figure:
        axes = figure.add_axes((0, 0, 1, 1))
        axes.set_axis_off()
        axes.set_xlim(0, width)
        axes.set_ylim(0, height)
        for edge in lineage.edges:
            (px, py), (cx, cy) = centre[edge.parent], centre[edge.child]
            axes.add_patch(FancyArrowPatch(
                (px + BOX_W, py + BOX_H / 2), (cx, cy + BOX_H / 2), arrowstyle="-|>,head_length=6,head_width=3",
                connectionstyle="arc3,rad=0.0", color=MUTED, linewidth=1.1,
                linestyle="--" if edge.relation == "federated" else "-", zorder=1))
        for node in lineage.nodes:
            x, y = centre[node.key]
            colour = KIND_COLOURS.get(node.kind, INK)
            revoked = node.revoked_time is not None
            axes.add_patch(FancyBboxPatch((x, y), BOX_W, BOX_H, boxstyle="round,pad=0,rounding_size=0.08",
                                          facecolor="white", edgecolor=DENY if revoked else GRID,
                                          linewidth=2.0 if revoked else 1.0, zorder=2))
            axes.add_patch(FancyBboxPatch((x, y), 0.09, BOX_H, boxstyle="square,pad=0", facecolor=colour,
                                          edgecolor=colour, zorder=3))
            first, second, third = _lines(node)
            axes.text(x + 0.2, y + BOX_H - 0.2, first, fontsize=9, fontweight="bold", color=colour, va="center",
                      zorder=4)
            axes.text(x + 0.2, y + BOX_H / 2, second, fontsize=8, color=INK, va="center", zorder=4)
            axes.text(x + 0.2, y + 0.18, third, fontsize=7.5, color=DENY if revoked else MUTED, va="center", zorder=4)
        return figure_to_svg(figure)
