"""structlog configuration (DESIGN.md §5): simulated time on every line, secrets redacted.

One processor chain for the whole run: add the scenario time, redact every registered secret and
every value under a secret-named key, render JSON lines into the run directory's log file.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import structlog

from actors.runtime.clock import ScenarioClock
from actors.runtime.secrets import SecretRegistry


def configure_logging(*, clock: ScenarioClock, secrets: SecretRegistry, stream: IO[str]) -> None:
    """Send structured, redacted JSON lines to ``stream``; called once per run."""

    def add_time(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
        event["time"] = clock.iso()
        return event

    def redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
        return secrets.redact(event)

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            add_time,
            redact,
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )


def open_log(path: Path) -> IO[str]:
    return path.open("w", encoding="utf-8")
