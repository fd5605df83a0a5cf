"""Simulated-time axes: seconds since the run's start, with readable, deterministic ticks."""

from __future__ import annotations

from datetime import datetime, timedelta

from matplotlib.axes import Axes

from reports.audit_fields import parse_time

MINUTE, HOUR, DAY = 60, 3600, 86400
STEPS = (1, 5, 10, 30, MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 3 * HOUR,
         6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 90 * DAY)


def seconds_since(start: datetime, iso: str) -> float:
    return (parse_time(iso) - start).total_seconds()


def tick_step(span: float, *, most: int = 9) -> int:
    for step in STEPS:
        if span / step <= most:
            return step
    return STEPS[-1]


def tick_label(moment: datetime, step: int) -> str:
    if step >= DAY:
        return moment.strftime("%d %b")
    if step >= HOUR:
        return moment.strftime("%d %b %H:%M")
    if step >= MINUTE:
        return moment.strftime("%H:%M")
    return moment.strftime("%H:%M:%S")


def time_axis(axes: Axes, *, start: datetime, low: float, high: float) -> None:
    """X ticks from ``low`` to ``high`` seconds after ``start``, aligned on whole steps of UTC time."""
    step = tick_step(high - low)
    first = start + timedelta(seconds=low)
    origin = datetime(first.year, first.month, first.day, tzinfo=first.tzinfo)
    k = int(((first - origin).total_seconds() + step - 1) // step)
    ticks, labels = [], []
    while True:
        moment = origin + timedelta(seconds=k * step)
        at = (moment - start).total_seconds()
        if at > high:
            break
        ticks.append(at)
        labels.append(tick_label(moment, step))
        k += 1
    axes.set_xticks(ticks, labels)
    axes.set_xlim(low, high)
