"""Documents for retrieval-augmented generation: chunking and a deterministic embedding (SPEC.md
"Other scenarios": the financial RAG agent; capability 5, authorization before the model).

- :func:`chunk_report` splits a report into chunks of whole sentences, each chunk keeping the id of
  the report it came from — the report is what FGA guards (``report:<id>``), so every chunk is
  authorized through its report.
- :func:`embed` is a **stand-in for an embedding model**, and says so: feature hashing of the
  text's words (lower-cased, stop words removed) and of its adjacent word pairs into ``dims``
  signed buckets (SHA-256 of the feature picks the bucket and the sign), L2-normalised. It captures
  lexical overlap only — no synonyms, no semantics — but it is deterministic (same text, same
  vector, on every machine and seed) and needs no model weights, which is what a reproducible
  simulation needs. Cosine similarity of two such vectors is their L2 distance's monotone image,
  so the vector store's L2 KNN ranks as cosine would.

Pure functions and frozen values: no I/O, no randomness.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence

import attrs

DIMENSIONS = 256
STOP_WORDS = frozenset(
    "a an and are as at be by did do for from has have in is it its of on or our over the their this to "
    "was were what which with how much many".split())
_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@attrs.frozen(kw_only=True)
class Report:
    """One quarterly report of one division, as the document store knows it."""

    id: str
    division: str
    quarter: str
    title: str
    text: str = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class Chunk:
    """A retrievable piece of one report: ``id`` is ``<report id>#<n>``."""

    id: str
    report: str
    title: str
    text: str = attrs.field(repr=False)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(" ".join(text.split())) if s.strip()]


def chunk_report(report: Report, *, sentences_per_chunk: int = 2) -> list[Chunk]:
    """Consecutive groups of ``sentences_per_chunk`` sentences; each chunk is prefixed with the
    report's title so that a chunk read alone still says where it comes from."""
    if sentences_per_chunk < 1:
        raise ValueError("sentences_per_chunk must be at least 1")
    parts = sentences(report.text)
    chunks = []
    for n, start in enumerate(range(0, len(parts), sentences_per_chunk), start=1):
        body = " ".join(parts[start:start + sentences_per_chunk])
        chunks.append(Chunk(id=f"{report.id}#{n}", report=report.id, title=report.title,
                            text=f"{report.title}: {body}"))
    return chunks


def features(text: str) -> list[str]:
    """The words (without stop words) and adjacent word pairs of ``text``."""
    words = [w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


def embed(text: str, *, dims: int = DIMENSIONS) -> list[float]:
    """The hashed, L2-normalised feature vector of ``text`` (see the module docstring)."""
    vector = [0.0] * dims
    for feature in features(text):
        digest = hashlib.sha256(feature.encode()).digest()
        bucket = int.from_bytes(digest[:4], "big") % dims
        vector[bucket] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector] if norm else vector


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b))
