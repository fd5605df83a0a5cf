"""Relationship tuples: keys, parsed records, the storage interface the engine reads through, and an
in-memory store.

A tuple is ``(user, relation, object[, condition])`` (openfga/v1 ``TupleKey``): the object is
``type:id``; the user is ``type:id``, a userset ``type:id#relation`` or a typed wildcard
``type:*``. API-level patterns (openfga/api protos): object ``^[^\\s]{2,256}$``, relation
``^[^:#@\\s]{1,50}$``, user at most 512 bytes; at most 100 tuple keys per Write.

:class:`TupleReader` is the read interface the check / list engine uses — every method is an
indexed lookup: by object and relation (all users, one user, only usersets) and by user
(``read_by_user`` for reverse expansion). :class:`MemoryTupleStore` implements it (and the write
side, :class:`TupleStore`) with dictionaries; ``actors.storage.fga_tuples.SqliteTupleStore`` is the
persistent implementation. :class:`ContextualTupleReader` layers request-scoped contextual tuples
over any reader.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

import attrs

from protocols.fga.errors import (
    CannotAllowDuplicateTuplesInOneRequest, ExceededEntityLimit, InvalidWriteInput, ValidationError,
    WriteFailedDueToInvalidInput,
)

MAX_TUPLES_PER_WRITE = 100
MAX_CONTEXTUAL_TUPLES = 100
_RELATION_RE = re.compile(r"^[^:#@\s]{1,50}$")
_OBJECT_RE = re.compile(r"^[^\s]{2,256}$")
_OBJECT_ID_RE = re.compile(r"^[A-Za-z0-9_|@.+/\-][A-Za-z0-9_|*@.+/\-]*$")


def is_valid_object_id(object_id: str) -> bool:
    """The modelling-language rule for object ids (``object-id-validation-cases.yaml``): letters,
    digits and ``_ | * @ . + / -``; not starting with ``*``."""
    return bool(_OBJECT_ID_RE.match(object_id))


# -- keys -------------------------------------------------------------------------------------------


def _freeze_context(context: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(context or {}), sort_keys=True, separators=(",", ":"))


@attrs.frozen
class RelationshipCondition:
    """``condition: {name, context}`` of a tuple: the condition name and the values bound at write."""

    name: str
    context_json: str = "{}"

    @classmethod
    def of(cls, name: str, context: Mapping[str, Any] | None = None) -> RelationshipCondition:
        return cls(name=name, context_json=_freeze_context(context))

    @property
    def context(self) -> dict[str, Any]:
        return json.loads(self.context_json)

    def to_json(self) -> dict[str, Any]:
        ctx = self.context
        return {"name": self.name, "context": ctx} if ctx else {"name": self.name}


@attrs.frozen
class TupleKey:
    """A wire tuple key; ``str()`` gives OpenFGA's ``object#relation@user`` form."""

    user: str
    relation: str
    object: str
    condition: RelationshipCondition | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TupleKey:
        if not isinstance(data, Mapping):
            raise ValidationError("tuple_key must be an object")
        cond = data.get("condition")
        condition = None
        if cond:
            if not isinstance(cond, Mapping) or not isinstance(cond.get("name"), str) or not cond.get("name"):
                raise ValidationError("invalid condition: a condition needs a name")
            ctx = cond.get("context")
            if ctx is not None and not isinstance(ctx, Mapping):
                raise ValidationError("invalid condition: context must be an object")
            condition = RelationshipCondition.of(cond["name"], ctx)
        values = []
        for field in ("user", "relation", "object"):
            value = data.get(field, "")
            if not isinstance(value, str):
                raise ValidationError(f"invalid tuple key: {field} must be a string")
            values.append(value)
        return cls(user=values[0], relation=values[1], object=values[2], condition=condition)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"user": self.user, "relation": self.relation, "object": self.object}
        if self.condition is not None:
            out["condition"] = self.condition.to_json()
        return out

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.object, self.relation, self.user)

    def __str__(self) -> str:
        return f"{self.object}#{self.relation}@{self.user}"


def split_object(obj: str) -> tuple[str, str] | None:
    """``type:id`` → ``(type, id)``; ``None`` when malformed."""
    idx = obj.find(":")
    if idx <= 0 or idx == len(obj) - 1:
        return None
    otype, oid = obj[:idx], obj[idx + 1:]
    if ":" in oid or "#" in obj or "@" in otype or any(c.isspace() for c in obj):
        return None
    return otype, oid


def split_user(user: str) -> tuple[str, str, str] | None:
    """``type:id`` / ``type:*`` / ``type:id#rel`` → ``(type, id, rel)``; ``None`` when malformed."""
    if not user or len(user.encode()) > 512 or any(c.isspace() for c in user):
        return None
    rel = ""
    if "#" in user:
        user, rel = user.split("#", 1)
        if not rel or "#" in rel or ":" in rel or "@" in rel:
            return None
    idx = user.find(":")
    if idx <= 0 or idx == len(user) - 1:
        return None
    utype, uid = user[:idx], user[idx + 1:]
    if ":" in uid or "@" in utype:
        return None
    if uid == "*" and rel:
        return None
    return utype, uid, rel


def is_valid_relation_name(relation: str) -> bool:
    return bool(_RELATION_RE.match(relation))


def is_valid_object(obj: str) -> bool:
    return bool(_OBJECT_RE.match(obj)) and split_object(obj) is not None


# -- records ----------------------------------------------------------------------------------------


class TupleRecord(NamedTuple):
    """A stored tuple, pre-split for the engine (immutable)."""

    object_type: str
    object_id: str
    relation: str
    user_type: str
    user_id: str
    user_relation: str        # "" unless the user is a userset
    user: str                 # the full user string
    condition: str = ""       # condition name, "" when unconditioned
    context: Mapping[str, Any] | None = None  # context bound at write time

    @property
    def object(self) -> str:
        return f"{self.object_type}:{self.object_id}"

    @property
    def is_wildcard(self) -> bool:
        return self.user_id == "*"

    def to_key(self) -> TupleKey:
        cond = RelationshipCondition.of(self.condition, self.context) if self.condition else None
        return TupleKey(user=self.user, relation=self.relation, object=self.object, condition=cond)

    def __str__(self) -> str:
        return f"{self.object_type}:{self.object_id}#{self.relation}@{self.user}"


def record_from_key(key: TupleKey) -> TupleRecord:
    """Split a key into a record; raises ``ValidationError`` (2000) when malformed."""
    obj = split_object(key.object)
    if obj is None:
        raise ValidationError(f"invalid 'object' field format: '{key.object}'")
    usr = split_user(key.user)
    if usr is None:
        raise ValidationError(f"the 'user' field is malformed: '{key.user}'")
    if not is_valid_relation_name(key.relation):
        raise ValidationError(f"invalid 'relation' field format: '{key.relation}'")
    cond = key.condition
    context = cond.context if cond is not None and cond.context_json != "{}" else None
    return TupleRecord(obj[0], obj[1], key.relation, usr[0], usr[1], usr[2], key.user,
                       cond.name if cond is not None else "", context)


# -- storage interface ------------------------------------------------------------------------------


@runtime_checkable
class TupleReader(Protocol):
    """The reads the engine needs; every one is an indexed lookup in a real store."""

    def read(self, object_type: str, object_id: str, relation: str) -> Iterable[TupleRecord]:
        """All tuples ``object_type:object_id#relation@*``."""

    def read_user(self, object_type: str, object_id: str, relation: str, user: str) -> TupleRecord | None:
        """The tuple ``object#relation@user`` if stored (point lookup)."""

    def read_usersets(self, object_type: str, object_id: str, relation: str) -> Iterable[TupleRecord]:
        """Only the tuples of ``object#relation`` whose user is a userset ``type:id#rel``."""

    def read_by_user(self, object_type: str, relation: str, user: str) -> Iterable[TupleRecord]:
        """Every tuple ``object_type:*#relation@user`` (reverse lookup)."""

    def read_by_users(self, object_type: str, relation: str, users: Collection[str]) -> Iterable[TupleRecord]:
        """``read_by_user`` for several users at once."""


class TupleStore(TupleReader, Protocol):
    """A readable and writable tuple store (one OpenFGA store)."""

    def write(self, writes: Sequence[TupleKey] = (), deletes: Sequence[TupleKey] = (), *,
              on_duplicate: str = "error", on_missing: str = "error") -> None:
        """Apply deletes then writes atomically; raises ``WriteFailedDueToInvalidInput`` when a
        written tuple exists (unless ``on_duplicate="ignore"``) or a deleted one does not (unless
        ``on_missing="ignore"``)."""

    def read_matching(self, *, object_type: str = "", object_id: str = "", relation: str = "",
                      user: str = "") -> list[TupleRecord]:
        """Tuples matching every given filter (the Read API), in a stable order."""

    def count(self) -> int:
        """Number of stored tuples."""


def check_write_request(writes: Sequence[TupleKey], deletes: Sequence[TupleKey], *,
                        max_tuples: int = MAX_TUPLES_PER_WRITE) -> None:
    """Request-level rules of Write: not empty, at most ``max_tuples`` keys, no key twice."""
    if not writes and not deletes:
        raise InvalidWriteInput()
    if len(writes) + len(deletes) > max_tuples:
        raise ExceededEntityLimit(f"the number of write operations exceeds the allowed limit of {max_tuples}")
    seen: set[tuple[str, str, str]] = set()
    for key in list(writes) + list(deletes):
        if key.key in seen:
            raise CannotAllowDuplicateTuplesInOneRequest(
                f"duplicate tuple in write: user: '{key.user}', relation: '{key.relation}', object: '{key.object}'")
        seen.add(key.key)


def exists_error(key: TupleKey) -> WriteFailedDueToInvalidInput:
    return WriteFailedDueToInvalidInput(
        f"cannot write a tuple which already exists: user: '{key.user}', relation: '{key.relation}', "
        f"object: '{key.object}': tuple to be written already existed or the tuple to be deleted did not exist")


def missing_error(key: TupleKey) -> WriteFailedDueToInvalidInput:
    return WriteFailedDueToInvalidInput(
        f"cannot delete a tuple which does not exist: user: '{key.user}', relation: '{key.relation}', "
        f"object: '{key.object}': tuple to be written already existed or the tuple to be deleted did not exist")


class MemoryTupleStore:
    """An in-memory :class:`TupleStore` with the same indexes a database would have."""

    def __init__(self, tuples: Iterable[TupleKey | TupleRecord] = ()) -> None:
        self._by_object: dict[tuple[str, str, str], dict[str, TupleRecord]] = {}
        self._usersets: dict[tuple[str, str, str], dict[str, TupleRecord]] = {}
        self._by_user: dict[tuple[str, str, str], dict[str, TupleRecord]] = {}
        self._count = 0
        initial = [t if isinstance(t, TupleRecord) else record_from_key(t) for t in tuples]
        for rec in initial:
            if self._find(rec) is None:
                self._insert(rec)

    # reads
    def read(self, object_type: str, object_id: str, relation: str) -> Iterable[TupleRecord]:
        found = self._by_object.get((object_type, object_id, relation))
        return found.values() if found else ()

    def read_user(self, object_type: str, object_id: str, relation: str, user: str) -> TupleRecord | None:
        found = self._by_object.get((object_type, object_id, relation))
        return found.get(user) if found else None

    def read_usersets(self, object_type: str, object_id: str, relation: str) -> Iterable[TupleRecord]:
        found = self._usersets.get((object_type, object_id, relation))
        return found.values() if found else ()

    def read_by_user(self, object_type: str, relation: str, user: str) -> Iterable[TupleRecord]:
        found = self._by_user.get((object_type, relation, user))
        return found.values() if found else ()

    def read_by_users(self, object_type: str, relation: str, users: Collection[str]) -> Iterable[TupleRecord]:
        index = self._by_user
        for user in users:
            found = index.get((object_type, relation, user))
            if found:
                yield from found.values()

    def read_matching(self, *, object_type: str = "", object_id: str = "", relation: str = "",
                      user: str = "") -> list[TupleRecord]:
        out = []
        for (otype, oid, rel), users in self._by_object.items():
            if (object_type and otype != object_type) or (object_id and oid != object_id) or (
                    relation and rel != relation):
                continue
            for u, rec in users.items():
                if not user or u == user:
                    out.append(rec)
        out.sort(key=lambda r: (r.object_type, r.object_id, r.relation, r.user))
        return out

    def count(self) -> int:
        return self._count

    # writes
    def _find(self, rec: TupleRecord) -> TupleRecord | None:
        return self.read_user(rec.object_type, rec.object_id, rec.relation, rec.user)

    def _insert(self, rec: TupleRecord) -> None:
        okey = (rec.object_type, rec.object_id, rec.relation)
        self._by_object.setdefault(okey, {})[rec.user] = rec
        if rec.user_relation:
            self._usersets.setdefault(okey, {})[rec.user] = rec
        self._by_user.setdefault((rec.object_type, rec.relation, rec.user), {})[rec.object_id] = rec
        self._count += 1

    def _remove(self, rec: TupleRecord) -> None:
        okey = (rec.object_type, rec.object_id, rec.relation)
        for index, key, sub in ((self._by_object, okey, rec.user), (self._usersets, okey, rec.user),
                                (self._by_user, (rec.object_type, rec.relation, rec.user), rec.object_id)):
            bucket = index.get(key)
            if bucket is not None and sub in bucket:
                del bucket[sub]
                if not bucket:
                    del index[key]
        self._count -= 1

    def write(self, writes: Sequence[TupleKey] = (), deletes: Sequence[TupleKey] = (), *,
              on_duplicate: str = "error", on_missing: str = "error") -> None:
        to_delete, to_insert = [], []
        for key in deletes:
            rec = record_from_key(key)
            existing = self._find(rec)
            if existing is None:
                if on_missing != "ignore":
                    raise missing_error(key)
                continue
            to_delete.append(existing)
        deleted = {(r.object_type, r.object_id, r.relation, r.user) for r in to_delete}
        inserting: set[tuple[str, str, str, str]] = set()
        for key in writes:
            rec = record_from_key(key)
            existing = self._find(rec)
            ident = (rec.object_type, rec.object_id, rec.relation, rec.user)
            if (existing is not None and ident not in deleted) or ident in inserting:
                if on_duplicate == "ignore" and (existing == rec or ident in inserting):
                    continue
                raise exists_error(key)
            inserting.add(ident)
            to_insert.append(rec)
        for rec in to_delete:
            self._remove(rec)
        for rec in to_insert:
            self._insert(rec)


class ContextualTupleReader:
    """``base`` plus request-scoped contextual tuples (read first, duplicates dropped)."""

    def __init__(self, base: TupleReader, contextual: Iterable[TupleRecord]) -> None:
        self.base = base
        self.overlay = MemoryTupleStore(contextual)

    def read(self, object_type: str, object_id: str, relation: str) -> Iterable[TupleRecord]:
        extra = self.overlay.read(object_type, object_id, relation)
        stored = self.base.read(object_type, object_id, relation)
        return [*extra, *stored] if extra else stored

    def read_user(self, object_type: str, object_id: str, relation: str, user: str) -> TupleRecord | None:
        found = self.overlay.read_user(object_type, object_id, relation, user)
        return found if found is not None else self.base.read_user(object_type, object_id, relation, user)

    def read_usersets(self, object_type: str, object_id: str, relation: str) -> Iterable[TupleRecord]:
        extra = self.overlay.read_usersets(object_type, object_id, relation)
        stored = self.base.read_usersets(object_type, object_id, relation)
        return [*extra, *stored] if extra else stored

    def read_by_user(self, object_type: str, relation: str, user: str) -> Iterable[TupleRecord]:
        extra = self.overlay.read_by_user(object_type, relation, user)
        stored = self.base.read_by_user(object_type, relation, user)
        return [*extra, *stored] if extra else stored

    def read_by_users(self, object_type: str, relation: str, users: Collection[str]) -> Iterable[TupleRecord]:
        yield from self.overlay.read_by_users(object_type, relation, users)
        yield from self.base.read_by_users(object_type, relation, users)
