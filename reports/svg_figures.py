"""Deterministic matplotlib SVG: the same data gives the same bytes.

Figures are built without pyplot (no global figure state) inside ``rc_context(SVG_STYLE)``:
``svg.hashsalt`` fixes the clip-path and glyph ids, ``svg.fonttype = "path"`` draws text as glyph
outlines of matplotlib's bundled DejaVu Sans (the SVG looks the same with or without fonts
installed, offline), and ``metadata={"Date": None}`` drops the timestamp. ``inline_svg`` prepares a
file for embedding in HTML: no XML prolog, ids prefixed so several charts share one page.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

SVG_STYLE = {
    "svg.hashsalt": "trustbench-report",
    "svg.fonttype": "path",
    "svg.id": None,
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.unicode_minus": False,
    "path.simplify": False,
}
METADATA = {"Date": None, "Creator": "trustbench reports (matplotlib)", "Format": None, "Type": None}

INK = "#1e293b"
MUTED = "#64748b"
GRID = "#e2e8f0"
ALLOW = "#15803d"
DENY = "#dc2626"
LAYER_COLOURS = {
    "fga": "#7c3aed", "vault": "#0891b2", "access": "#2563eb", "cross_domain": "#c2410c",
    "authentication": "#059669", "approval": "#db2777", "threat": "#b91c1c", "governance": "#475569",
    "other": "#94a3b8",
}


@contextmanager
def svg_figure(*, width: float, height: float) -> Iterator[Figure]:
    """A figure (inches) whose creation and drawing both happen under the deterministic style."""
    with matplotlib.rc_context(SVG_STYLE):
        figure = Figure(figsize=(width, height), dpi=72)
        FigureCanvasSVG(figure)
        yield figure


def figure_to_svg(figure: Figure) -> str:
    """Serialize (call inside ``svg_figure``); the result ends with exactly one newline."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata=METADATA, facecolor="white")
    return buffer.getvalue().decode("utf-8").rstrip("\n") + "\n"


_PROLOG = re.compile(r"^\s*<\?xml[^>]*\?>\s*(<!DOCTYPE[^>]*>\s*)?", re.DOTALL)
_ID = re.compile(r'\bid="([^"]+)"')
_HREF = re.compile(r'((?:xlink:)?href)="#([^"]+)"')
_URL = re.compile(r"url\(#([^)]+)\)")
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)


def inline_svg(svg: str, *, prefix: str, title: str) -> str:
    """The SVG as an element for an HTML page: ids namespaced by ``prefix``, an accessible title."""
    body = _METADATA.sub("", _PROLOG.sub("", svg, count=1))
    body = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', body)
    body = _HREF.sub(lambda m: f'{m.group(1)}="#{prefix}-{m.group(2)}"', body)
    body = _URL.sub(lambda m: f"url(#{prefix}-{m.group(1)})", body)
    safe_title = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return body.replace("<svg ", f'<svg role="img" aria-label="{safe_title.replace(chr(34), "&quot;")}" ', 1).rstrip()
