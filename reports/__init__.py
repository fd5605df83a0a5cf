"""Reports: turn a finished run (its audit log and run.json) into HTML, Markdown and JSON with charts.

``render_run(run_dir)`` is the entry point used by ``trustbench run`` and ``trustbench report``.
This package reads files only; it never imports actors/ or scenarios/ (DESIGN.md §1).
"""

from reports.render import RenderedReport, render_run
from reports.run_reader import ReportInputError

__all__ = ["RenderedReport", "ReportInputError", "render_run"]
