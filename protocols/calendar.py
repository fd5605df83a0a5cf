"""Free/busy arithmetic (RFC 5545 §3.3.6 PERIOD and §3.8.2.6 FREEBUSY semantics, as the Google
Calendar ``freeBusy.query`` API reports them): merge busy periods of several calendars and find the
free slots of a given length inside working hours.

Times are epoch seconds (UTC); a period is ``(start, end)`` with ``start < end``, end exclusive.
RFC 3339 timestamps (``2025-01-07T09:00:00Z``) are converted at the edges.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import attrs

Period = tuple[int, int]


@attrs.frozen(kw_only=True)
class WorkingHours:
    """Working days (0 = Monday) and hours in UTC during which meetings may be booked."""

    start_hour: int = 9
    end_hour: int = 17
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})

    def windows(self, start: int, end: int) -> list[Period]:
        """The working periods that intersect ``[start, end)``."""
        out: list[Period] = []
        day = datetime.fromtimestamp(start, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        while int(day.timestamp()) < end:
            if day.weekday() in self.weekdays:
                lo = int((day + timedelta(hours=self.start_hour)).timestamp())
                hi = int((day + timedelta(hours=self.end_hour)).timestamp())
                lo, hi = max(lo, start), min(hi, end)
                if lo < hi:
                    out.append((lo, hi))
            day += timedelta(days=1)
        return out


def merge(periods: Iterable[Period]) -> list[Period]:
    """Union of periods, sorted, overlapping or touching ones joined."""
    merged: list[Period] = []
    for start, end in sorted(periods):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def free_slots(*, busy: Iterable[Period], start: int, end: int, duration: int, hours: WorkingHours,
               step: int = 1800) -> list[Period]:
    """Every slot of ``duration`` seconds, aligned to ``step``, inside working hours, overlapping no
    busy period, within ``[start, end)``."""
    blocked = merge(busy)
    slots: list[Period] = []
    for lo, hi in hours.windows(start, end):
        t = lo + (-lo % step)
        while t + duration <= hi:
            overlaps = next((b for b in blocked if b[0] < t + duration and t < b[1]), None)
            if overlaps is None:
                slots.append((t, t + duration))
                t += step
            else:
                t = overlaps[1] + (-overlaps[1] % step)
    return slots


def rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> int:
    """Epoch seconds of an RFC 3339 date-time with offset (§5.6); ``ValueError`` otherwise."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("an RFC 3339 time needs an offset")
    return int(value.timestamp())
