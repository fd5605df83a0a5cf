"""Discovery of shadow AI (SPEC capability 9), sans-IO: non-human accounts found in the SaaS
providers' own authentication and API-usage logs, matched against the agent registry, scored.

Recognising a non-human account (each signal is stated in the finding):

- ``service_account_credential``: its tokens come from the ``client_credentials`` grant (RFC 6749
  §4.4) or the provider marks its calls as made by a service account / integration user;
- ``no_interactive_login``: it never signed in through a login page or consent screen;
- ``api_only``: every trace it leaves is an API call — no browser-bound grant (authorization code);
- ``machine_cadence``: calls at regular intervals (coefficient of variation of the gaps at most
  ``MACHINE_CV``) or at night as much as by day.

An account is non-human when it holds a service-account credential, or shows at least two of the
other signals. The risk score adds stated factors — privileged access (write/admin/audit scopes,
or a service account that bypasses record sharing), no owner, no governance (not registered, or
registered but never brought under lifecycle management) — and maps to LOW / MEDIUM / HIGH.
"""

from __future__ import annotations

import enum
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

MACHINE_CV = 0.25
MIN_CALLS_FOR_CADENCE = 5
PRIVILEGED_WORDS = ("write", "admin", "audit", "full", "manage", "delete", "modify_all")
INTERACTIVE_EVENTS = frozenset({"auth.login_succeeded", "consent.granted", "login.succeeded"})
WEIGHTS = {"privileged_access": 40, "no_owner": 30, "no_governance": 30}
HIGH, MEDIUM = 70, 40


class Risk(enum.Enum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class LogFormatError(ValueError):
    """A provider log entry that lacks a field discovery needs."""


@attrs.frozen(kw_only=True)
class AuthRecord:
    """One authorization-server event from a provider's authentication log."""

    system: str
    time: int
    event: str
    client_id: str | None
    subject: str | None
    decision: str
    grant_type: str = ""
    scope: str = ""


@attrs.frozen(kw_only=True)
class ApiRecord:
    """One API call from a provider's API-usage log."""

    system: str
    time: int
    client_id: str | None
    subject: str | None
    service_account: bool
    method: str
    path: str
    status: int
    scope: str
    records: int


def _field(entry: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = entry.get(name)
    if value is not None and not isinstance(value, kind):
        raise LogFormatError(f"log entry field {name!r} has the wrong type")
    return value


def parse_logs(system: str, body: Mapping[str, Any]) -> tuple[list[AuthRecord], list[ApiRecord]]:
    """Read ``{"auth_events": [...], "api_calls": [...]}`` as the providers' log APIs return it."""
    auth, api = [], []
    raw_auth, raw_api = body.get("auth_events", []), body.get("api_calls", [])
    if not isinstance(raw_auth, list) or not isinstance(raw_api, list):
        raise LogFormatError("auth_events and api_calls must be arrays")
    for entry in raw_auth:
        if not isinstance(entry, dict) or not isinstance(entry.get("time"), int):
            raise LogFormatError("an auth event lacks its time")
        auth.append(AuthRecord(system=system, time=entry["time"], event=str(_field(entry, "event", str) or ""),
                               client_id=_field(entry, "client_id", str), subject=_field(entry, "subject", str),
                               decision=str(_field(entry, "decision", str) or ""),
                               grant_type=str(_field(entry, "grant_type", str) or ""),
                               scope=str(_field(entry, "scope", str) or "")))
    for entry in raw_api:
        if not isinstance(entry, dict) or not isinstance(entry.get("time"), int):
            raise LogFormatError("an API call lacks its time")
        api.append(ApiRecord(system=system, time=entry["time"], client_id=_field(entry, "client_id", str),
                             subject=_field(entry, "subject", str),
                             service_account=bool(_field(entry, "service_account", bool)),
                             method=str(_field(entry, "method", str) or ""), path=str(_field(entry, "path", str) or ""),
                             status=int(_field(entry, "status", int) or 0), scope=str(_field(entry, "scope", str) or ""),
                             records=int(_field(entry, "records", int) or 0)))
    return auth, api


@attrs.frozen(kw_only=True)
class Signal:
    code: str
    detail: str


@attrs.frozen(kw_only=True)
class KnownAgent:
    """What the registry says about an account: the agent id, whether it has an owner, its stage."""

    agent_id: str
    has_owner: bool
    lifecycle: str


@attrs.frozen(kw_only=True)
class Finding:
    system: str
    account: str
    client_ids: tuple[str, ...]
    first_seen: int
    last_seen: int
    api_calls: int
    records_read: int
    scopes: tuple[str, ...]
    signals: tuple[Signal, ...]
    risk: Risk
    score: int
    reasons: tuple[str, ...]
    registry_id: str | None = None

    @property
    def key(self) -> str:
        return f"{self.system}:{self.account}"

    def to_json(self) -> dict[str, Any]:
        return {"system": self.system, "account": self.account, "client_ids": list(self.client_ids),
                "first_seen": self.first_seen, "last_seen": self.last_seen, "api_calls": self.api_calls,
                "records_read": self.records_read, "scopes": list(self.scopes),
                "signals": [attrs.asdict(s) for s in self.signals], "risk": self.risk.value, "score": self.score,
                "reasons": list(self.reasons), "registry_id": self.registry_id}


def cadence_signal(times: Sequence[int]) -> Signal | None:
    """Regular gaps between bursts (calls in the same second form one burst; low coefficient of
    variation) or round-the-clock activity betray a machine."""
    ordered = sorted(set(times))
    if len(ordered) >= MIN_CALLS_FOR_CADENCE:
        gaps = [b - a for a, b in zip(ordered, ordered[1:])]
        mean = statistics.fmean(gaps)
        if mean > 0:
            cv = statistics.pstdev(gaps) / mean
            if cv <= MACHINE_CV:
                return Signal(code="machine_cadence",
                              detail=f"{len(ordered)} bursts of calls every {mean:.0f}s (variation {cv:.2f})")
    night = [t for t in ordered if (t % 86400) // 3600 < 6]
    if len(ordered) >= MIN_CALLS_FOR_CADENCE and len(night) * 4 >= len(ordered):
        return Signal(code="machine_cadence", detail=f"{len(night)} of {len(ordered)} calls between 00:00 and 06:00 UTC")
    return None


def privileged_scopes(scopes: Iterable[str]) -> list[str]:
    return sorted(s for s in scopes if any(word in s.lower() for word in PRIVILEGED_WORDS))


def classify(*, system: str, account: str, auth: Sequence[AuthRecord], api: Sequence[ApiRecord],
             known: KnownAgent | None) -> Finding | None:
    """The finding for one account of one system, or ``None`` when it looks human."""
    signals: list[Signal] = []
    client_credentials = [a for a in auth if a.grant_type == "client_credentials" and a.decision == "allow"]
    if client_credentials or any(c.service_account for c in api):
        grant = "client_credentials tokens" if client_credentials else "calls flagged by the provider"
        signals.append(Signal(code="service_account_credential", detail=f"service-account credential ({grant})"))
    interactive = [a for a in auth if a.event in INTERACTIVE_EVENTS or a.grant_type == "authorization_code"]
    if not interactive:
        signals.append(Signal(code="no_interactive_login", detail="never signed in through a login or consent page"))
    if api and not any(a.grant_type == "authorization_code" for a in auth):
        signals.append(Signal(code="api_only", detail=f"{len(api)} API calls, no browser-bound grant"))
    cadence = cadence_signal([c.time for c in api])
    if cadence is not None:
        signals.append(cadence)
    codes = {s.code for s in signals}
    if "service_account_credential" not in codes and len(codes) < 2:
        return None
    scopes = sorted({s for c in api for s in c.scope.split() if s} | {s for a in auth for s in a.scope.split() if s})
    reasons, score = [], 0
    elevated = privileged_scopes(scopes)
    if elevated or "service_account_credential" in codes:
        why = []
        if elevated:
            why.append(f"scopes {' '.join(elevated)}")
        if "service_account_credential" in codes:
            why.append("a service account bypasses per-user record sharing")
        reasons.append("privileged access: " + "; ".join(why))
        score += WEIGHTS["privileged_access"]
    if known is None or not known.has_owner:
        reasons.append("no owner: no accountable person or team in the agent registry")
        score += WEIGHTS["no_owner"]
    if known is None or known.lifecycle in ("discovered", "decommissioned"):
        state = "not in the agent registry" if known is None else f"registry state {known.lifecycle}"
        reasons.append(f"no governance: {state}, no access review, credential outside the vault")
        score += WEIGHTS["no_governance"]
    risk = Risk.HIGH if score >= HIGH else Risk.MEDIUM if score >= MEDIUM else Risk.LOW
    times = [c.time for c in api] + [a.time for a in auth]
    return Finding(system=system, account=account,
                   client_ids=tuple(sorted({c.client_id for c in api if c.client_id} |
                                           {a.client_id for a in auth if a.client_id})),
                   first_seen=min(times), last_seen=max(times), api_calls=len(api),
                   records_read=sum(c.records for c in api if c.method == "GET"), scopes=tuple(scopes),
                   signals=tuple(signals), risk=risk, score=score, reasons=tuple(reasons),
                   registry_id=known.agent_id if known else None)


def find_shadow_agents(*, auth: Sequence[AuthRecord], api: Sequence[ApiRecord],
                       registry: Mapping[tuple[str, str], KnownAgent],
                       ignore_clients: Iterable[str] = ()) -> list[Finding]:
    """Every non-human account that is not a governed agent of the registry, riskiest first.

    ``registry`` maps (system, account) to what the registry knows; governed agents (an owner and
    a lifecycle stage other than discovered/decommissioned) are not shadow AI and are skipped.
    ``ignore_clients`` are the platform's own integrations (e.g. discovery itself).
    """
    ignored = set(ignore_clients)
    accounts: dict[tuple[str, str], tuple[list[AuthRecord], list[ApiRecord]]] = {}
    for record in auth:
        if record.subject and record.client_id not in ignored:
            accounts.setdefault((record.system, record.subject), ([], []))[0].append(record)
    for call in api:
        if call.subject and call.client_id not in ignored:
            accounts.setdefault((call.system, call.subject), ([], []))[1].append(call)
    findings = []
    for (system, account), (auth_records, api_records) in sorted(accounts.items()):
        known = registry.get((system, account))
        if known is not None and known.has_owner and known.lifecycle not in ("discovered", "decommissioned"):
            continue
        finding = classify(system=system, account=account, auth=auth_records, api=api_records, known=known)
        if finding is not None:
            findings.append(finding)
    return sorted(findings, key=lambda f: (-f.score, f.key))
