"""The vector store of the financial RAG scenario: chunk embeddings in a ``sqlite-vec`` ``vec0`` table.

One virtual table: the embedding (``float[dims]``), the report id as a *metadata column* (so a KNN
query can be restricted to the reports FGA allowed — ``report IN (...)`` is applied inside the
search, before the ``k`` nearest are chosen) and the chunk's id, title and text as auxiliary
columns. Distances are L2 over unit vectors (``protocols.retrieval.embed``), i.e. cosine order.

The connection is made with ``apsw``: ``sqlite-vec`` is a loadable extension and CPython builds
without loadable-extension support (pyenv's default) cannot load it through the stdlib ``sqlite3``.
``path=None`` keeps the store in memory.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path

import apsw
import attrs
import sqlite_vec

from protocols.retrieval import DIMENSIONS, Chunk


@attrs.frozen(kw_only=True)
class Hit:
    chunk: Chunk
    distance: float


class VectorStore:
    """Chunks and their embeddings; :meth:`search` is a KNN query, optionally limited to some reports."""

    def __init__(self, path: str | Path | None = None, *, dims: int = DIMENSIONS) -> None:
        self.dims = dims
        self._db = apsw.Connection(str(path) if path is not None else ":memory:")
        self._db.enable_load_extension(True)
        self._db.load_extension(sqlite_vec.loadable_path())
        self._db.enable_load_extension(False)
        self._db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS chunks USING vec0(embedding float[{dims}], "
                         "report text, +chunk_id text, +title text, +body text)")

    def version(self) -> str:
        return str(self._db.execute("SELECT vec_version()").fetchone()[0])

    def add(self, chunks: Iterable[tuple[Chunk, list[float]]]) -> int:
        count = 0
        with self._db:
            for chunk, vector in chunks:
                if len(vector) != self.dims:
                    raise ValueError(f"embedding of {chunk.id} has {len(vector)} dimensions, not {self.dims}")
                self._db.execute("INSERT INTO chunks(embedding, report, chunk_id, title, body) VALUES (?,?,?,?,?)",
                                 (sqlite_vec.serialize_float32(vector), chunk.report, chunk.id, chunk.title,
                                  chunk.text))
                count += 1
        return count

    def reports(self) -> list[str]:
        return sorted({row[0] for row in self._db.execute("SELECT report FROM chunks")})

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM chunks").fetchone()[0])

    def search(self, vector: list[float], *, k: int, reports: Collection[str] | None = None) -> list[Hit]:
        """The ``k`` nearest chunks; with ``reports``, only chunks of those reports are considered
        (an empty collection finds nothing: nothing is allowed)."""
        if reports is not None and not reports:
            return []
        query = ("SELECT chunk_id, report, title, body, distance FROM chunks "
                 "WHERE embedding MATCH ? AND k = ?")
        params: list[object] = [sqlite_vec.serialize_float32(vector), k]
        if reports is not None:
            allowed = sorted(reports)
            query += f" AND report IN ({','.join('?' * len(allowed))})"
            params += allowed
        rows = self._db.execute(query + " ORDER BY distance", params).fetchall()
        hits = [Hit(chunk=Chunk(id=cid, report=report, title=title, text=body), distance=round(float(distance), 6))
                for cid, report, title, body, distance in rows]
        return sorted(hits, key=lambda h: (h.distance, h.chunk.id))  # ties in a stable order

    def close(self) -> None:
        self._db.close()
