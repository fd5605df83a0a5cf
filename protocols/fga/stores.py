"""FGA stores: their metadata, their authorization models and their tuples, behind one interface.

An OpenFGA store (``openfga/v1`` ``Store``) has an id (ULID), a name, ``created_at`` /
``updated_at`` and, once deleted, ``deleted_at`` — deletion is soft: the store disappears from the
API while its data stays (``DeleteStore``: "This does not delete the data associated with the
store"). Models are immutable and kept in write order; the newest one answers requests that name
none. Every stored tuple remembers when it was written (the ``timestamp`` of the Read API).

:class:`StoreBackend` is the interface the service uses; :class:`MemoryStoreBackend` implements it
in memory (tests, simulation runs) and ``actors.storage.fga_stores.SqliteStoreBackend`` in SQLite.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import attrs

from protocols.fga.tuples import MemoryTupleStore, TupleKey, TupleStore


@attrs.frozen(kw_only=True)
class StoreInfo:
    id: str
    name: str
    created_at: str
    updated_at: str
    deleted_at: str = ""

    def to_json(self) -> dict[str, Any]:
        out = {"id": self.id, "name": self.name, "created_at": self.created_at, "updated_at": self.updated_at}
        if self.deleted_at:
            out["deleted_at"] = self.deleted_at
        return out


@attrs.frozen(kw_only=True)
class ModelInfo:
    """A stored model: its id, when it was written and its JSON form (without the id)."""

    id: str
    created_at: str
    model: Mapping[str, Any] = attrs.field(eq=False)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, **self.model}


class StoreBackend(Protocol):
    """Persistence of stores, models and tuples for the FGA service."""

    def create_store(self, info: StoreInfo) -> None:
        """Record a new store."""

    def store(self, store_id: str) -> StoreInfo | None:
        """The store if it exists and is not deleted."""

    def stores(self) -> list[StoreInfo]:
        """Live stores in creation order."""

    def delete_store(self, store_id: str, *, at: str) -> None:
        """Mark a store deleted (its data stays)."""

    def add_model(self, store_id: str, info: ModelInfo) -> None:
        """Append a model to the store."""

    def models(self, store_id: str) -> list[ModelInfo]:
        """The store's models, newest first."""

    def model(self, store_id: str, model_id: str) -> ModelInfo | None:
        """One model of the store."""

    def tuples(self, store_id: str) -> TupleStore:
        """The store's tuples (read side used by the engine)."""

    def write_tuples(self, store_id: str, *, writes: Sequence[TupleKey], deletes: Sequence[TupleKey],
                     on_duplicate: str, on_missing: str, at: str) -> None:
        """Apply a Write atomically and remember when each written tuple was written."""

    def written_at(self, store_id: str, key: TupleKey) -> str:
        """When the stored tuple ``key`` was written."""


class MemoryStoreBackend:
    """:class:`StoreBackend` in memory."""

    def __init__(self) -> None:
        self._stores: dict[str, StoreInfo] = {}
        self._models: dict[str, list[ModelInfo]] = {}
        self._tuples: dict[str, MemoryTupleStore] = {}
        self._times: dict[str, dict[tuple[str, str, str], str]] = {}

    def create_store(self, info: StoreInfo) -> None:
        self._stores[info.id] = info
        self._models[info.id] = []
        self._tuples[info.id] = MemoryTupleStore()
        self._times[info.id] = {}

    def store(self, store_id: str) -> StoreInfo | None:
        info = self._stores.get(store_id)
        return info if info is not None and not info.deleted_at else None

    def stores(self) -> list[StoreInfo]:
        return [s for s in self._stores.values() if not s.deleted_at]

    def delete_store(self, store_id: str, *, at: str) -> None:
        info = self._stores[store_id]
        self._stores[store_id] = attrs.evolve(info, deleted_at=at, updated_at=at)

    def add_model(self, store_id: str, info: ModelInfo) -> None:
        self._models[store_id].append(info)

    def models(self, store_id: str) -> list[ModelInfo]:
        return list(reversed(self._models.get(store_id, [])))

    def model(self, store_id: str, model_id: str) -> ModelInfo | None:
        return next((m for m in self._models.get(store_id, []) if m.id == model_id), None)

    def tuples(self, store_id: str) -> MemoryTupleStore:
        return self._tuples[store_id]

    def write_tuples(self, store_id: str, *, writes: Sequence[TupleKey], deletes: Sequence[TupleKey],
                     on_duplicate: str, on_missing: str, at: str) -> None:
        store = self._tuples[store_id]
        times = self._times[store_id]
        existing = {k.key for k in writes if store.read_user(*_split(k)) is not None}
        store.write(writes, deletes, on_duplicate=on_duplicate, on_missing=on_missing)
        deleted = {k.key for k in deletes}
        for key in deleted:
            times.pop(key, None)
        for k in writes:
            if k.key not in existing or k.key in deleted:
                times[k.key] = at

    def written_at(self, store_id: str, key: TupleKey) -> str:
        return self._times[store_id].get(key.key, "")


def _split(key: TupleKey) -> tuple[str, str, str, str]:
    otype, _, oid = key.object.partition(":")
    return otype, oid, key.relation, key.user
