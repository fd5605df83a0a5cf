"""The ``[rag]`` section of a world file: the financial RAG agent's document index and question.

```toml
[rag]
agent = "finance-rag-agent"          # the agent (from [[agents]]) that answers
service = "report-index"             # the retrieval service's actor name
question = "What were our Q3 2025 results?"
k = 6                                # chunks retrieved per question (1 to 20)
sentences_per_chunk = 2

[[rag.reports]]
id = "retail-q3-2025"                # FGA object report:<id>; its division comes from the [fga] tuples
division = "retail"
quarter = "2025-Q3"
title = "Retail division: Q3 2025 results"
text = \"\"\"Revenue was ...\"\"\"
```

Who may read which report is *not* here: it is the ``[fga]`` model and tuples (``report:<id>`` with
its ``division``), so the authorization data lives in one place. ``division`` here is what the
scenario's own checks compare against (a person's ``team`` is their division). Problems raise
:class:`RagSectionError` naming the field.
"""

from __future__ import annotations

from typing import Any

import attrs

from protocols.fga.tuples import is_valid_object_id
from protocols.retrieval import Report

KEYS = frozenset({"agent", "service", "question", "k", "sentences_per_chunk", "reports"})
REPORT_KEYS = frozenset({"id", "division", "quarter", "title", "text"})


class RagSectionError(ValueError):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"rag{where}: {problem}")
        self.where = where
        self.problem = problem


@attrs.frozen(kw_only=True)
class RagSettings:
    agent: str
    service: str
    question: str
    k: int
    sentences_per_chunk: int
    reports: tuple[Report, ...]

    def divisions(self) -> tuple[str, ...]:
        return tuple(sorted({r.division for r in self.reports}))


def _text(data: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise RagSectionError(f"{where}.{key}", "missing" if value is None else "expected a non-empty string")
    return value


def _int(data: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RagSectionError(f".{key}", f"expected an integer from {low} to {high}")
    return value


def parse_rag(section: Any, *, agent_ids: set[str] | frozenset[str]) -> RagSettings | None:
    if section is None:
        return None
    if not isinstance(section, dict):
        raise RagSectionError("", "expected a table")
    unknown = sorted(set(section) - KEYS)
    if unknown:
        raise RagSectionError(f".{unknown[0]}", f"unknown key (use {', '.join(sorted(KEYS))})")
    agent = _text(section, "agent", "")
    if agent not in agent_ids:
        raise RagSectionError(".agent", f"unknown agent {agent!r}")
    raw = section.get("reports")
    if not isinstance(raw, list) or not raw or not all(isinstance(r, dict) for r in raw):
        raise RagSectionError(".reports", "expected at least one [[rag.reports]] table")
    reports: list[Report] = []
    for i, r in enumerate(raw):
        where = f".reports[{i}]"
        bad = sorted(set(r) - REPORT_KEYS)
        if bad:
            raise RagSectionError(f"{where}.{bad[0]}", "unknown key")
        report = Report(id=_text(r, "id", where), division=_text(r, "division", where),
                        quarter=_text(r, "quarter", where), title=_text(r, "title", where),
                        text=_text(r, "text", where))
        if not is_valid_object_id(report.id) or "#" in report.id:
            raise RagSectionError(f"{where}.id", f"{report.id!r} is not a valid FGA object id")
        if any(other.id == report.id for other in reports):
            raise RagSectionError(f"{where}.id", f"two reports share the id {report.id!r}")
        reports.append(report)
    return RagSettings(agent=agent, service=_text(section, "service", "", default="report-index"),
                       question=_text(section, "question", ""), k=_int(section, "k", 6, 1, 20),
                       sentences_per_chunk=_int(section, "sentences_per_chunk", 2, 1, 20), reports=tuple(reports))
