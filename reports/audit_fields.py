"""Reading audit entries defensively: detail values, identifiers and simulated times.

Events are emitted by many actors, some not written yet, so every reader here accepts missing or
oddly typed values. ``detail`` also looks one level down in ``details["details"]`` (a caller that
passes ``details={...}`` to ``AuditLog.record(**details)`` nests them there).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from protocols.audit_chain import AuditEntry

FINGERPRINT = re.compile(r"^<redacted:sha256:([0-9a-f]{8})>$")


def detail(entry: AuditEntry, key: str) -> Any:
    if key in entry.details:
        return entry.details[key]
    nested = entry.details.get("details")
    if isinstance(nested, dict):
        return nested.get(key)
    return None


def text_detail(entry: AuditEntry, *keys: str) -> str | None:
    """The first of ``keys`` whose value is a non-empty string (or number), as text."""
    for key in keys:
        value = detail(entry, key)
        if isinstance(value, bool):
            continue
        if isinstance(value, (str, int, float)) and str(value) != "":
            return str(value)
    return None


def number_detail(entry: AuditEntry, key: str) -> float | None:
    value = detail(entry, key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def identifier_key(value: str) -> str:
    """A token identifier as an 8-hex-digit key: the fingerprint the audit redactor wrote, or the
    same fingerprint computed from a clear identifier — so redacted and clear mentions link."""
    match = FINGERPRINT.match(value)
    if match:
        return match.group(1)
    return hashlib.sha256(value.encode()).hexdigest()[:8]


def is_actor_name(value: Any) -> bool:
    """A peer named by an actor name (not a URL, path or sentence)."""
    return isinstance(value, str) and 0 < len(value) <= 64 and not any(c in value for c in "/: \t\n")


def parse_time(iso: str) -> datetime:
    """An audit time (``2025-01-06T09:00:00.000Z``) as an aware datetime; the epoch if unreadable."""
    try:
        moment = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return datetime.fromtimestamp(0, UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def clock_label(iso: str) -> str:
    return parse_time(iso).strftime("%H:%M:%S")


def day_time_label(iso: str) -> str:
    return parse_time(iso).strftime("%Y-%m-%d %H:%M:%S")


def duration_label(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
