"""The agent registry's resource model and rules (SPEC capability 8), sans-IO.

An agent is a first-class identity, exposed as a SCIM 2.0 resource (RFC 7643 §3 common attributes
``schemas``/``id``/``externalId``/``meta``, RFC 7643 §3.3 for a custom resource type) of type
``Agent`` with schema ``AGENT_SCHEMA``:

- ``id``: unique and persistent. Deviation from RFC 7643 §3.1 (where the service provider always
  issues ``id``): the platform's naming convention lets security propose a readable id such as
  ``sales-agent-prod-001``; it must match ``ID_PATTERN`` and be unused, else ``uniqueness``.
  Without one the registry issues ``agt-<hex>``.
- ``owner`` (a person or a team of the directory), ``purpose``, ``displayName``, ``metadata``;
- ``accounts``: the non-human accounts the agent uses in each system (what discovery matches);
- ``lifecycleState``: discovered → registered → active → suspended → decommissioned (``TRANSITIONS``);
- ``dependencies``: the systems and scopes it reaches — read-only for clients, derived by the
  governance service from the grants it actually finds in each system;
- change history: every create/patch yields a ``Change`` with per-attribute before/after values.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from protocols.scim import InvalidPath, InvalidSyntax, InvalidValue, Mutability, PatchOperation, Uniqueness

AGENT_SCHEMA = "urn:trustbench:params:scim:schemas:core:1.0:Agent"
RESOURCE_TYPE = "Agent"
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MAX_METADATA = 50
FILTERABLE = ("id", "lifecycleState", "owner.value", "accounts.value", "externalId")


class LifecycleStage(enum.Enum):
    DISCOVERED = "discovered"
    REGISTERED = "registered"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DECOMMISSIONED = "decommissioned"


TRANSITIONS: Mapping[LifecycleStage, frozenset[LifecycleStage]] = {
    LifecycleStage.DISCOVERED: frozenset({LifecycleStage.REGISTERED, LifecycleStage.DECOMMISSIONED}),
    LifecycleStage.REGISTERED: frozenset({LifecycleStage.ACTIVE, LifecycleStage.DECOMMISSIONED}),
    LifecycleStage.ACTIVE: frozenset({LifecycleStage.SUSPENDED, LifecycleStage.DECOMMISSIONED}),
    LifecycleStage.SUSPENDED: frozenset({LifecycleStage.ACTIVE, LifecycleStage.DECOMMISSIONED}),
    LifecycleStage.DECOMMISSIONED: frozenset(),
}
INITIAL_STAGES = frozenset({LifecycleStage.DISCOVERED, LifecycleStage.REGISTERED})
GOVERNED_STAGES = frozenset({LifecycleStage.REGISTERED, LifecycleStage.ACTIVE, LifecycleStage.SUSPENDED})


class InvalidTransition(InvalidValue):
    """A lifecycle change the state machine does not allow."""


class UnknownOwner(InvalidValue):
    """An owner that is neither a person nor a team of the directory."""


class DuplicateAgent(Uniqueness):
    """An ``id`` (or account) already registered."""


def stage(value: Any) -> LifecycleStage:
    try:
        return LifecycleStage(value)
    except ValueError:
        allowed = ", ".join(s.value for s in LifecycleStage)
        raise InvalidValue(f"lifecycleState must be one of {allowed}, got {value!r}") from None


def check_transition(current: LifecycleStage, target: LifecycleStage) -> None:
    """Refuse any lifecycle move ``TRANSITIONS`` does not list, naming the allowed ones."""
    if target is current:
        return
    allowed = TRANSITIONS[current]
    if target not in allowed:
        options = ", ".join(sorted(s.value for s in allowed)) or "none (terminal state)"
        raise InvalidTransition(f"an agent cannot go from {current.value} to {target.value} (allowed: {options})")


@attrs.frozen(kw_only=True)
class Owner:
    value: str
    display: str
    type: str  # "person" | "team"

    def to_json(self) -> dict[str, str]:
        return {"value": self.value, "display": self.display, "type": self.type}


@attrs.frozen(kw_only=True)
class Directory:
    """Who may own an agent: people and teams by id, with their display names."""

    people: Mapping[str, str] = attrs.field(factory=dict)
    teams: Mapping[str, str] = attrs.field(factory=dict)

    def owner(self, value: str) -> Owner:
        if value in self.people:
            return Owner(value=value, display=self.people[value], type="person")
        if value in self.teams:
            return Owner(value=value, display=self.teams[value], type="team")
        raise UnknownOwner(f"unknown owner {value!r}: not a person or team of the directory")


@attrs.frozen(kw_only=True)
class Account:
    """A non-human account the agent uses: ``system`` (e.g. ``crm``) and its id there."""

    system: str
    value: str

    def to_json(self) -> dict[str, str]:
        return {"system": self.system, "value": self.value}


@attrs.frozen(kw_only=True)
class Dependency:
    """A system the agent reaches and the scopes it holds there, as found in an actual grant."""

    system: str
    scopes: tuple[str, ...]
    grant: str

    def to_json(self) -> dict[str, Any]:
        return {"system": self.system, "scopes": list(self.scopes), "grant": self.grant}


@attrs.frozen(kw_only=True)
class AgentRecord:
    id: str
    display_name: str
    lifecycle: LifecycleStage
    owner: Owner | None = None
    purpose: str = ""
    external_id: str | None = None
    accounts: tuple[Account, ...] = ()
    metadata: Mapping[str, str] = attrs.field(factory=dict)
    dependencies: tuple[Dependency, ...] = ()
    created: int = 0
    last_modified: int = 0
    version: int = 1

    def snapshot(self) -> dict[str, Any]:
        """The client-visible attributes, for change history and comparison."""
        return {"displayName": self.display_name, "lifecycleState": self.lifecycle.value,
                "owner": self.owner.value if self.owner else None, "purpose": self.purpose,
                "externalId": self.external_id, "accounts": [a.to_json() for a in self.accounts],
                "metadata": dict(sorted(self.metadata.items())),
                "dependencies": [d.to_json() for d in self.dependencies]}


@attrs.frozen(kw_only=True)
class AttributeChange:
    attribute: str
    before: Any
    after: Any


@attrs.frozen(kw_only=True)
class Change:
    """One entry of an agent's change history."""

    agent_id: str
    version: int
    time: int
    actor: str
    operation: str  # "create" | "patch"
    changes: tuple[AttributeChange, ...]

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "time": self.time, "actor": self.actor, "operation": self.operation,
                "changes": [{"attribute": c.attribute, "before": c.before, "after": c.after} for c in self.changes]}


def diff(before: AgentRecord | None, after: AgentRecord) -> tuple[AttributeChange, ...]:
    old = before.snapshot() if before else {}
    new = after.snapshot()
    return tuple(AttributeChange(attribute=k, before=old.get(k), after=v)
                 for k, v in new.items() if old.get(k) != v and not (before is None and v in (None, "", [], {})))


# ------------------------------------------------------------------------ validation of attributes


def _text(value: Any, name: str, *, max_length: int = 500) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(f"{name} must be a non-empty string")
    if len(value) > max_length:
        raise InvalidValue(f"{name} is longer than {max_length} characters")
    return value


def _metadata(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidValue("metadata must be an object of string values")
    if len(value) > MAX_METADATA:
        raise InvalidValue(f"metadata holds at most {MAX_METADATA} entries")
    return dict(value)


def _accounts(value: Any) -> tuple[Account, ...]:
    if not isinstance(value, list):
        raise InvalidValue("accounts must be an array of {system, value}")
    accounts = []
    for item in value:
        if not isinstance(item, dict):
            raise InvalidValue("accounts must be an array of {system, value}")
        accounts.append(Account(system=_text(item.get("system"), "accounts.system", max_length=100),
                                value=_text(item.get("value"), "accounts.value", max_length=200)))
    return tuple(dict.fromkeys(accounts))


def _owner_id(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("value")
    return _text(value, "owner.value", max_length=100)


def dependencies_from_json(value: Any) -> tuple[Dependency, ...]:
    if not isinstance(value, list):
        raise InvalidValue("dependencies must be an array")
    found = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("scopes", []), list):
            raise InvalidValue("each dependency is {system, scopes: [..], grant}")
        found.append(Dependency(system=_text(item.get("system"), "dependencies.system", max_length=100),
                                scopes=tuple(sorted(_text(s, "dependencies.scopes", max_length=200)
                                                    for s in item.get("scopes", []))),
                                grant=_text(item.get("grant"), "dependencies.grant", max_length=200)))
    return tuple(sorted(found, key=lambda d: (d.system, d.grant)))


def _require_governance_fields(record: AgentRecord) -> None:
    if record.lifecycle in GOVERNED_STAGES and (record.owner is None or not record.purpose):
        raise InvalidValue(f"an agent in state {record.lifecycle.value} needs an owner and a purpose")


READ_ONLY = frozenset({"id", "meta", "schemas"})
WRITABLE = ("displayName", "lifecycleState", "owner", "purpose", "externalId", "accounts", "metadata",
            "dependencies")


def _set(record: AgentRecord, name: str, value: Any, *, directory: Directory,
         may_set_dependencies: bool) -> AgentRecord:
    if name in READ_ONLY:
        raise Mutability(f"{name} is read-only")
    if name == "displayName":
        return attrs.evolve(record, display_name=_text(value, "displayName", max_length=200))
    if name == "lifecycleState":
        target = stage(value)
        check_transition(record.lifecycle, target)
        return attrs.evolve(record, lifecycle=target)
    if name == "owner":
        return attrs.evolve(record, owner=directory.owner(_owner_id(value)))
    if name == "purpose":
        return attrs.evolve(record, purpose=_text(value, "purpose"))
    if name == "externalId":
        return attrs.evolve(record, external_id=_text(value, "externalId", max_length=200))
    if name == "accounts":
        return attrs.evolve(record, accounts=_accounts(value))
    if name == "metadata":
        return attrs.evolve(record, metadata=_metadata(value))
    if name == "dependencies":
        if not may_set_dependencies:
            raise Mutability("dependencies are derived from actual grants by the governance service")
        return attrs.evolve(record, dependencies=dependencies_from_json(value))
    raise InvalidPath(f"unknown attribute {name!r} (writable: {', '.join(WRITABLE)})")


def new_record(body: Mapping[str, Any], *, directory: Directory, issued_id: str, existing: Any, now: int,
               may_set_dependencies: bool = False) -> AgentRecord:
    """Validate a POST /Agents body (RFC 7644 §3.3) into a record.

    ``existing(id)`` tells whether an id is taken; ``issued_id`` is used when the body has none.
    """
    agent_id = body.get("id", issued_id)
    if not isinstance(agent_id, str) or not ID_PATTERN.match(agent_id):
        raise InvalidValue(f"id must match {ID_PATTERN.pattern}")
    if existing(agent_id):
        raise DuplicateAgent(f"an agent with id {agent_id!r} already exists")
    initial = stage(body.get("lifecycleState", LifecycleStage.DISCOVERED.value))
    if initial not in INITIAL_STAGES:
        raise InvalidTransition(f"a new agent starts as discovered or registered, not {initial.value}")
    record = AgentRecord(id=agent_id, display_name=_text(body.get("displayName"), "displayName", max_length=200),
                         lifecycle=initial, created=now, last_modified=now)
    for name in WRITABLE:
        if name in ("displayName", "lifecycleState") or body.get(name) is None:
            continue
        record = _set(record, name, body[name], directory=directory, may_set_dependencies=may_set_dependencies)
    unknown = sorted(set(body) - set(WRITABLE) - {"id", "schemas"})
    if unknown:
        raise InvalidPath(f"unknown attribute {unknown[0]!r}")
    _require_governance_fields(record)
    return record


def apply_patch(record: AgentRecord, operations: Sequence[PatchOperation], *, directory: Directory, now: int,
                may_set_dependencies: bool = False) -> AgentRecord:
    """Apply RFC 7644 §3.5.2 operations atomically (all or none); a decommissioned agent is frozen."""
    if record.lifecycle is LifecycleStage.DECOMMISSIONED:
        raise Mutability(f"agent {record.id} is decommissioned; its record is kept read-only for the audit trail")
    updated = record
    for operation in operations:
        values = operation.value if operation.path is None else {operation.path: operation.value}
        for name, value in values.items():
            if operation.op == "remove":
                if name == "owner" or name == "purpose":
                    updated = attrs.evolve(updated, **{name: None if name == "owner" else ""})
                elif name == "metadata":
                    updated = attrs.evolve(updated, metadata={})
                elif name == "accounts":
                    updated = attrs.evolve(updated, accounts=())
                else:
                    raise Mutability(f"{name} cannot be removed")
                continue
            if name == "metadata" and operation.op == "add" and isinstance(value, dict):
                value = {**updated.metadata, **value}
            if name == "accounts" and operation.op == "add" and isinstance(value, list):
                value = [a.to_json() for a in updated.accounts] + value
            updated = _set(updated, name, value, directory=directory, may_set_dependencies=may_set_dependencies)
    _require_governance_fields(updated)
    if updated == record:
        return record
    return attrs.evolve(updated, version=record.version + 1, last_modified=now)


def to_scim(record: AgentRecord, *, location: str, iso: Any) -> dict[str, Any]:
    """The resource representation (RFC 7643 §3.1 ``meta`` with ``version`` as a weak ETag)."""
    body: dict[str, Any] = {
        "schemas": [AGENT_SCHEMA], "id": record.id, "displayName": record.display_name,
        "lifecycleState": record.lifecycle.value, "purpose": record.purpose,
        "accounts": [a.to_json() for a in record.accounts], "metadata": dict(sorted(record.metadata.items())),
        "dependencies": [d.to_json() for d in record.dependencies],
        "meta": {"resourceType": RESOURCE_TYPE, "created": iso(record.created), "lastModified": iso(record.last_modified),
                 "location": location, "version": etag(record)},
    }
    if record.owner is not None:
        body["owner"] = record.owner.to_json()
    if record.external_id is not None:
        body["externalId"] = record.external_id
    return body


def etag(record: AgentRecord) -> str:
    return f'W/"{record.version}"'


def matches(record: AgentRecord, terms: Sequence[Any]) -> bool:
    """Whether ``record`` satisfies every ``Equals`` term of a parsed filter."""
    for term in terms:
        if term.path == "id":
            values = [record.id]
        elif term.path == "lifecycleState":
            values = [record.lifecycle.value]
        elif term.path == "owner.value":
            values = [record.owner.value] if record.owner else []
        elif term.path == "externalId":
            values = [record.external_id] if record.external_id else []
        else:  # accounts.value: "system:value" or the bare account id
            values = [a.value for a in record.accounts] + [f"{a.system}:{a.value}" for a in record.accounts]
        if term.value not in values:
            return False
    return True


def ensure_json_object(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise InvalidSyntax("expected a JSON object")
    return value
