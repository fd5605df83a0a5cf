"""Data-egress policy for agent output (SPEC capability 4, the output filter; whitepaper "prompt
injection / data exfiltration"): internal data may not be sent to recipients outside the
organisation, whatever the agent was told to do.

A message is checked against the content the agent holds for the task (its context items, by
source URI): the sources whose URI starts with one of ``internal_sources`` are *internal*; their
distinctive fragments (text values of at least ``MIN_TEXT`` characters, numbers of at least
``MIN_DIGITS`` digits, in plain and grouped forms) are looked for in the outgoing text. If any is
found and any recipient's domain is not one of ``internal_domains``, the message is blocked; the
verdict names the sources and the external recipients, never the matched text. Pure functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

MIN_TEXT = 8
MIN_DIGITS = 4


@attrs.frozen(kw_only=True)
class EgressPolicy:
    internal_domains: frozenset[str]
    internal_sources: tuple[str, ...]
    """URI prefixes (``docs://pricing/``, ``pricing://``...) whose content stays inside."""

    def is_internal_source(self, uri: str) -> bool:
        return uri.startswith(self.internal_sources)


@attrs.frozen(kw_only=True)
class EgressVerdict:
    allowed: bool
    external_recipients: tuple[str, ...]
    sources: tuple[str, ...]
    """Internal sources whose content appears in the message."""


def domain_of(address: str) -> str:
    address = address.strip()
    if "<" in address and address.endswith(">"):
        address = address.rsplit("<", 1)[1][:-1]
    return address.rpartition("@")[2].lower()


def external_recipients(recipients: Iterable[str], *, internal_domains: frozenset[str]) -> tuple[str, ...]:
    return tuple(r for r in recipients if r.strip() and domain_of(r) not in internal_domains)


def _number_forms(value: int | float) -> set[str]:
    if isinstance(value, float) and not value.is_integer():
        return {repr(value)} if len(str(int(value))) >= MIN_DIGITS else set()
    number = int(value)
    if len(str(abs(number))) < MIN_DIGITS:
        return set()
    grouped = f"{number:,}"
    return {str(number), grouped, grouped.replace(",", " "), grouped.replace(",", "\u202f"), grouped.replace(",", ".")}


def fragments(content: Any) -> set[str]:
    """The distinctive leaf values of a JSON-like content (texts, numbers)."""
    found: set[str] = set()
    if isinstance(content, str):
        if len(content.strip()) >= MIN_TEXT:
            found.add(content.strip())
    elif isinstance(content, bool):
        pass
    elif isinstance(content, (int, float)):
        found |= _number_forms(content)
    elif isinstance(content, Mapping):
        for value in content.values():
            found |= fragments(value)
    elif isinstance(content, (list, tuple)):
        for value in content:
            found |= fragments(value)
    return found


def decide(*, text: str, recipients: Iterable[str], context: Mapping[str, Any], policy: EgressPolicy) -> EgressVerdict:
    """``context``: source URI → content the agent holds. Blocked iff internal content would reach
    an external recipient."""
    external = external_recipients(recipients, internal_domains=policy.internal_domains)
    leaked = tuple(sorted(uri for uri, content in context.items() if policy.is_internal_source(uri)
                          and any(fragment in text for fragment in fragments(content))))
    return EgressVerdict(allowed=not (external and leaked), external_recipients=external, sources=leaked)
