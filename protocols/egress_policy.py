"""Data-egress policy for agent output (SPEC capability 4, the output filter; whitepaper "prompt
injection / data exfiltration"): internal data may not be sent to recipients outside the
organisation, whatever the agent was told to do.

A message is checked against the content the agent holds for the task (its context items, by
source URI): the sources whose URI starts with one of ``internal_sources`` are *internal*; their
distinctive fragments (text values of at least ``MIN_TEXT`` characters, numbers of at least
``MIN_DIGITS`` digits, in plain and grouped forms) are looked for in the outgoing text. If any is
found and any recipient's domain is not one of ``internal_domains``, the message is blocked; the
verdict names the sources and the external recipients, never the matched text. Pure functions.

Recipients an approval covers are not external for this check: ``approved_recipients`` reads them
from the RFC 9396 authorization details of approvals granted to the agent (the ``recipients`` of a
detail whose ``actions`` include ``send_email``) — the approver saw and approved exactly them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from protocols.rar import AuthorizationDetail

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
    approved: tuple[str, ...] = ()
    """Outside recipients not counted as external because an approval names them."""


def domain_of(address: str) -> str:
    return address_of(address).rpartition("@")[2]


def address_of(recipient: str) -> str:
    """The bare, lower-cased address of ``Name <address>`` or ``address``."""
    recipient = recipient.strip()
    if "<" in recipient and recipient.endswith(">"):
        recipient = recipient.rsplit("<", 1)[1][:-1]
    return recipient.strip().lower()


def approved_recipients(details: Iterable[AuthorizationDetail], *, action: str = "send_email") -> frozenset[str]:
    """The addresses approved details let the agent ``action`` to: each detail's ``recipients``
    when its ``actions`` include ``action``."""
    return frozenset(address_of(r) for detail in details if action in detail.values.get("actions", ())
                     for r in detail.values.get("recipients", ()))


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


def decide(*, text: str, recipients: Iterable[str], context: Mapping[str, Any], policy: EgressPolicy,
           approved: frozenset[str] = frozenset()) -> EgressVerdict:
    """``context``: source URI → content the agent holds; ``approved``: addresses an approval
    covers (``approved_recipients``). Blocked iff internal content would reach an external
    recipient no approval covers."""
    outside = external_recipients(recipients, internal_domains=policy.internal_domains)
    external = tuple(r for r in outside if address_of(r) not in approved)
    leaked = tuple(sorted(uri for uri, content in context.items() if policy.is_internal_source(uri)
                          and any(fragment in text for fragment in fragments(content))))
    return EgressVerdict(allowed=not (external and leaked), external_recipients=external, sources=leaked,
                         approved=tuple(r for r in outside if address_of(r) in approved))
