"""Every chart of a report, rendered to deterministic SVG, with its file name and caption.

=============================  ==================================================  =====================
file                           what                                                drawn when
=============================  ==================================================  =====================
``report-layers.svg``          decisions allowed / denied per layer                always
``report-timeline.svg``        the run's events on the simulated-time axis         the log has events
``report-lineage.svg``         token lineage graph                                 tokens were found
``report-risk.svg``            risk score over time, threshold, containment        scores were recorded
``report-<anchor>-sequence.svg``  sequence diagram of a phase (or of the setup)    the phase has events
=============================  ==================================================  =====================
"""

from __future__ import annotations

import attrs

from reports.layer_chart import LayerBar, layer_svg
from reports.lineage import drawable
from reports.lineage_graph import lineage_svg
from reports.report_model import Report
from reports.risk_chart import risk_svg
from reports.sequence_diagram import sequence_svg
from reports.svg_figures import inline_svg
from reports.timeline_chart import PhaseMark, TimelineEvent, timeline_svg
from reports.classification import LAYER_BY_KEY, RUN, layer_of, shown_outcome

CHART_PREFIX = "report-"
LINEAGE_LIMIT = 60


@attrs.frozen(kw_only=True)
class Chart:
    key: str
    title: str
    caption: str
    svg: str = attrs.field(repr=False)

    @property
    def file(self) -> str:
        return f"{CHART_PREFIX}{self.key}.svg"

    @property
    def inline(self) -> str:
        return inline_svg(self.svg, prefix=f"chart-{self.key}", title=self.title)


def build_charts(report: Report) -> dict[str, Chart]:
    charts: dict[str, Chart] = {}

    def add(key: str, title: str, caption: str, svg: str) -> None:
        charts[key] = Chart(key=key, title=title, caption=caption, svg=svg)

    bars = [LayerBar(label=LAYER_BY_KEY[layer.key].short, defence=layer.defence, allowed=layer.allowed,
                     denied=layer.denied)
            for layer in report.layers if layer.defence or layer.allowed or layer.denied]
    add("layers", "Decisions per layer",
        "Allowed (green, ✓) and denied (red, ✗) decisions; ◆ marks the four authorization layers of the defence "
        "in depth.",
        layer_svg(bars))
    events = [TimelineEvent(time=e.time, layer=layer_of(e).key, outcome=shown_outcome(e))
              for e in report.entries if layer_of(e) is not RUN]
    if events:
        marks = [PhaseMark(number=phase.number, time=phase.started_at)
                 for phase in report.run_phases if phase.started_at]
        add("timeline", "Timeline of the run (simulated time)",
            "Each dot is a burst of events of one layer (count beside it, ✗ = denied); red rings hold denials; "
            "dashed lines mark the start of each phase; // cuts out a long quiet stretch (time skipped above it).",
            timeline_svg(events=events, phases=marks, start=report.header.started, finish=report.header.finished))
    if report.lineage.nodes:
        shown, left_out = drawable(report.lineage, limit=LINEAGE_LIMIT)
        rest = (f" {left_out} token(s) outside every derivation chain are listed in the table only."
                if left_out else "")
        add("lineage", "Token lineage",
            "Each box is a token (kind, fingerprint of its jti, issuer → holder); arrows go from the token a "
            "token was derived from; dashed arrows are federation (upstream ID token behind a session)." + rest,
            lineage_svg(shown))
    if report.risk:
        add("risk", "Risk score over time",
            "Risk score per agent against its threshold, with the detection and containment of each incident.",
            risk_svg(points=report.risk, incidents=report.incidents))
    for phase in report.phases:
        if phase.flow:
            add(phase.chart_key, f"Sequence diagram — {phase.title}",
                "Actors are lifelines; arrows run from the client to the actor that recorded the event; red "
                "dashed arrows marked ✗ are denials; dots are events an actor recorded on its own.",
                sequence_svg(phase.flow))
    return charts
