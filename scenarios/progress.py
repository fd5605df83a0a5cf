"""Live progress of ``trustbench run``: the runner reports each phase, the console shows it.

The runner calls an optional ``ProgressCallback`` with a ``ProgressEvent`` when a phase starts and
when it ends (``RunOptions.progress``). ``ConsoleProgress`` prints them with rich: a spinner while
a phase runs, then one line per phase with its outcome. Without a terminal the same lines are
printed plain (rich drops the styles and the spinner).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import attrs
from rich.console import Console
from rich.markup import escape
from rich.status import Status


@attrs.frozen(kw_only=True)
class ProgressEvent:
    stage: Literal["phase.started", "phase.finished"]
    number: int
    name: str
    at: str
    ok: bool | None = None
    outcome: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


@attrs.define(eq=False)
class ConsoleProgress:
    """Prints phase progress to ``console``; call ``close()`` when the run ends."""

    console: Console = attrs.field(factory=Console)
    _status: Status | None = attrs.field(default=None, init=False)

    def __call__(self, event: ProgressEvent) -> None:
        title = f"Phase {event.number} · {escape(event.name)}"
        if event.stage == "phase.started":
            self.close()
            self._status = self.console.status(f"{title} [dim](simulated {escape(event.at)})[/dim]")
            self._status.start()
            return
        self.close()
        mark = "[bold green]✓[/bold green]" if event.ok else "[bold red]✗[/bold red]"
        self.console.print(f"{mark} [bold]{title}[/bold] [dim]{escape(event.at)}[/dim]")
        self.console.print(f"  {escape(event.outcome)}", highlight=False, soft_wrap=True)

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
