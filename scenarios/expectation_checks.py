"""Check a world's ``[[expectations]]`` against a finished run's evidence.

The evidence is what ``reports`` reads — the run directory's ``audit.sqlite`` and ``run.json``
(``reports.run_reader.read_run``) — plus the secrets the run minted (kept in memory by the runner,
never written) for ``no_secrets``. Each check returns a ``Verdict``: met or not, and what was
observed, in one line (``scenarios.expectations`` describes the kinds).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import attrs

from actors.runtime.secrets import SecretRegistry
from protocols.audit_chain import AuditEntry
from reports.classification import counted_outcome
from reports.incidents import Incident, find_incidents
from reports.integrity import check_integrity
from reports.run_reader import RunRecord
from scenarios.expectations import Expectation, money

REDACTED = "<redacted:sha256:"


@attrs.frozen(kw_only=True)
class Verdict:
    expectation: Expectation
    met: bool
    observed: str


def _times(n: int) -> str:
    return f"{n} time{'' if n == 1 else 's'}"


def _scopes(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(value.split())
    if isinstance(value, (list, tuple)):
        return {s for v in value if isinstance(v, str) for s in v.split()}
    return set()


def _access(x: Expectation, record: RunRecord, _: Any) -> tuple[bool, str]:
    decisions = [e for e in record.entries
                 if e.event in ("authz.allowed", "authz.denied") and e.subject == x.get("subject")
                 and e.details.get("object") == x.get("object") and e.details.get("relation", "viewer") == x.get("relation")]
    if not decisions:
        return False, f"FGA never decided {x.get('subject')} {x.get('relation')} on {x.get('object')}"
    allowed = [e for e in decisions if e.event == "authz.allowed"]
    denied = [e for e in decisions if e.event == "authz.denied"]
    observed = f"allowed {_times(len(allowed))}, denied {_times(len(denied))}"
    wrong = denied if x.get("decision") == "allow" else allowed
    if wrong:
        observed += f" (e.g. seq {wrong[0].seq}: {(wrong[0].reason or '').split(':')[0]})"
    return not wrong, observed


def _scope(x: Expectation, record: RunRecord, _: Any) -> tuple[bool, str]:
    scope, agent = x.get("scope"), x.get("agent")
    granted, refused = [], []
    word = re.compile(rf"(?<![\w:.-]){re.escape(scope)}(?![\w:.-])")
    for entry in record.entries:
        outcome = counted_outcome(entry)
        if outcome is None or (agent and entry.agent != agent):
            continue
        held = _scopes(entry.details.get("scope"))
        asked = set().union(*(_scopes(entry.details.get(k)) for k in ("requested_scope", "scopes")))
        reason = entry.reason or ""
        if outcome == "allow" and scope in held | asked and not entry.event.endswith("requested"):
            granted.append(entry)
        elif outcome == "deny" and (word.search(reason) or scope in asked
                                    # insufficient_scope (RFC 6750 §3.1): ``scope`` is what the token had
                                    or (scope in held and "insufficient_scope" not in reason)):
            refused.append(entry)
    observed = f"granted {_times(len(granted))}, refused {_times(len(refused))}"
    examples = granted if x.get("decision") == "refused" else refused
    if examples:
        observed += f" (e.g. {examples[0].event} seq {examples[0].seq} by {examples[0].actor})"
    if x.get("decision") == "refused":
        return bool(refused) and not granted, observed
    return bool(granted), observed


def _amounts(entry: AuditEntry, *, currency: str, detail_type: str | None) -> list[Decimal]:
    found = []
    for detail in entry.details.get("authorization_details") or ():
        if not isinstance(detail, dict) or detail.get("currency", currency) != currency:
            continue
        if detail_type and detail.get("type") != detail_type:
            continue
        try:
            found.append(Decimal(str(detail.get("amount"))))
        except InvalidOperation:
            continue
    return found


def _answer(request: AuditEntry, entries: Sequence[AuditEntry]) -> str:
    """What became of a CIBA request: approved / denied (same ``txn``), expired, or unanswered."""
    txn = request.details.get("txn")
    later = [e for e in entries if e.seq > request.seq and e.agent == request.agent]
    for entry in later:
        if entry.event == "ciba.requested":
            break
        if entry.event in ("ciba.approved", "ciba.denied") and entry.details.get("txn") == txn:
            return entry.event.removeprefix("ciba.")
        if entry.event in ("ciba.expired_token", "ciba.expired"):
            return "expired"
    return "unanswered"


def _approval(x: Expectation, record: RunRecord, _: Any) -> tuple[bool, str]:
    amount, currency = x.get("amount"), x.get("currency")
    requests = [e for e in record.entries if e.event == "ciba.requested"
                and (not x.get("agent") or e.agent == x.get("agent"))]
    matching = [e for e in requests if amount in _amounts(e, currency=currency, detail_type=x.get("type"))]
    if not matching:
        seen = sorted({a for e in requests for a in _amounts(e, currency=currency, detail_type=None)})
        others = f" (requests seen: {', '.join(money(a) for a in seen)} {currency})" if seen else " (none at all)"
        return x.get("outcome") == "not_requested", f"no CIBA request for {money(amount)} {currency}{others}"
    answers = [_answer(e, record.entries) for e in matching]
    observed = f"CIBA request at {matching[0].time} → {', '.join(answers)}"
    outcome = x.get("outcome")
    if outcome == "requested":
        return True, observed
    if outcome == "not_requested":
        return False, observed
    return outcome in answers, observed


def _containment(x: Expectation, record: RunRecord, _: Any) -> tuple[bool, str]:
    incidents = [i for i in find_incidents(record.entries) if not x.get("agent") or i.agent == x.get("agent")]
    if not incidents:
        return False, "no incident was detected"

    def seconds(incident: Incident) -> float | None:
        if x.get("measured_from") == "first_read":
            return incident.seconds_from_first_read
        return incident.seconds_to_contain

    contained = [i for i in incidents if seconds(i) is not None]
    if not contained:
        if any(i.contained_at for i in incidents):
            return False, f"{len(incidents)} incident(s) contained, but no record read is dated before them"
        return False, f"{len(incidents)} incident(s) detected, none contained"
    best = min(contained, key=seconds)
    began = f"reads began {best.reads_began_at}, " if best.reads_began_at else ""
    observed = (f"{best.agent}: {began}detected {best.opened_at} ({best.opened_by}), contained "
                f"{best.contained_at} ({best.contained_by}): {seconds(best):g} s from "
                f"{x.get('measured_from').replace('_', ' ')}, {best.records_read} records read")
    limit = x.get("max_records")
    ok = seconds(best) <= x.get("within") and (limit is None or (best.records_read or 0) <= limit)
    return ok, observed


def _phases(record: RunRecord) -> dict[int, dict[str, Any]]:
    return {p.get("number"): p for p in record.metadata.get("phases", []) if isinstance(p, dict)}


def _phase(x: Expectation, record: RunRecord, _: Any) -> tuple[bool, str]:
    phase = _phases(record).get(x.get("phase"))
    if phase is None:
        return False, f"phase {x.get('phase')} did not run"
    outcome = "pass" if phase.get("ok") else "fail"
    return outcome == x.get("outcome"), f"{outcome}: {phase.get('outcome', '')}"


def _leading_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    match = re.match(r"\s*(-?[\d\u202f ,]*\.?\d+)", str(value))
    if not match:
        return None
    return float(re.sub(r"[\u202f ,]", "", match.group(1)))


def _fact(x: Expectation, record: RunRecord, _: Any) -> tuple[bool, str]:
    phase = _phases(record).get(x.get("phase"))
    if phase is None:
        return False, f"phase {x.get('phase')} did not run"
    facts = phase.get("facts") or {}
    if x.get("fact") not in facts:
        return False, f"phase {x.get('phase')} recorded no fact '{x.get('fact')}'"
    value = facts[x.get("fact")]
    observed = f"'{x.get('fact')}' = {value}"
    equals = x.get("equals")
    if equals is not None and str(value).lower() != str(equals).lower():
        return False, observed
    number = _leading_number(value)
    for bound, holds in (("at_least", lambda v, b: v >= b), ("at_most", lambda v, b: v <= b)):
        if x.get(bound) is not None and (number is None or not holds(number, x.get(bound))):
            return False, observed
    return True, observed


def _event(x: Expectation, record: RunRecord, _: Any) -> tuple[bool, str]:
    def matches(e: AuditEntry) -> bool:
        return (fnmatch.fnmatchcase(e.event, x.get("event"))
                and (not x.get("actor") or e.actor == x.get("actor"))
                and (not x.get("agent") or e.agent == x.get("agent"))
                and (not x.get("decision") or e.decision == x.get("decision"))
                and (not x.get("reason_contains") or x.get("reason_contains") in (e.reason or "")))

    found = [e for e in record.entries if matches(e)]
    ok = len(found) >= x.get("at_least") and (x.get("at_most") is None or len(found) <= x.get("at_most"))
    observed = f"{_times(len(found))}" + (f" (first: seq {found[0].seq} at {found[0].time})" if found else "")
    return ok, observed


def _files(run_dir: Path) -> Iterable[Path]:
    return sorted(p for p in run_dir.rglob("*") if p.is_file())


def _no_secrets(x: Expectation, record: RunRecord, secrets: SecretRegistry) -> tuple[bool, str]:
    if len(secrets) == 0:
        return False, "the run's secrets are not known (check runs the scenario itself)"
    leaks = []
    files = list(_files(record.run_dir))
    for path in files:
        text = path.read_bytes().decode("latin-1")  # secrets are ASCII: a byte-for-byte view finds them
        found = secrets.redact_text(text).count(REDACTED) - text.count(REDACTED)
        if found:
            leaks.append(f"{path.relative_to(record.run_dir)} ({found})")
    if leaks:
        return False, f"minted secrets found in {', '.join(leaks)}"
    return True, f"{len(secrets)} minted secrets, none in the {len(files)} files of the run directory"


def _audit_intact(x: Expectation, record: RunRecord, _: Any) -> tuple[bool, str]:
    integrity = check_integrity(record)
    if integrity.ok:
        return True, f"{integrity.entries} entries, chain intact"
    return False, "; ".join(integrity.problems)


CHECKS: dict[str, Callable[[Expectation, RunRecord, Any], tuple[bool, str]]] = {
    "access": _access, "scope": _scope, "approval": _approval, "containment": _containment, "phase": _phase,
    "fact": _fact, "event": _event, "no_secrets": _no_secrets, "audit_intact": _audit_intact,
}


def check_expectations(expectations: Iterable[Expectation], *, record: RunRecord,
                       secrets: Iterable[str] = ()) -> tuple[Verdict, ...]:
    """One verdict per expectation, in file order, from the finished run ``record``."""
    registry = SecretRegistry()
    registry.add_all(secrets)
    verdicts = []
    for expectation in expectations:
        met, observed = CHECKS[expectation.kind](expectation, record, registry)
        verdicts.append(Verdict(expectation=expectation, met=met, observed=observed))
    return tuple(verdicts)
