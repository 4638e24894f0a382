"""Retrieval: vector and full-text candidates fused, weighted for recency, clamped.

The clamp follows Dispider: keep the hits whose cosine similarity clears ``min_similarity``,
at most ``k_max`` of them, and at least ``k_min`` (the best remaining ones fill up), so that the
reaction stage never gets an empty context nor a flood. Full text catches what embeddings blur
(names, numbers, rare words); recency breaks ties in favour of what happened lately.

What people said and what perception saw are the record; the agent's own answers are not.
An answer may be wrong (a misheard name, a guess), and stored beside the facts it would be
recalled as one, sessions later. So answers score ``answer_weight`` less, and none ranks above
a record of the world: they come after every fact that was found.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from memory.embeddings import TextEmbedder
from memory.lancedb_store import LanceStore
from memory.schema import MemoryRecord
from memory.scope import Scope

__all__ = ["Hit", "RetrievalConfig", "Retriever", "rank"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RetrievalConfig:
    """How many hits, how similar, and how the three signals weigh."""

    k_min: int = 4
    k_max: int = 28
    min_similarity: float = 0.2
    text_weight: float = 0.3
    recency_weight: float = 0.1
    recency_half_life_s: float = 7 * 24 * 3600.0
    candidates: int = 64
    answer_weight: float = 0.15

    def __post_init__(self) -> None:
        if not 0 < self.k_min <= self.k_max:
            raise ValueError("need 0 < k_min <= k_max")


@dataclass(frozen=True, slots=True, kw_only=True)
class Hit:
    """A retrieved record: cosine ``similarity`` to the query, ``text_score`` (BM25 scaled to
    the best match, 0 when full text did not find it) and the fused ``score`` it is ranked by."""

    record: MemoryRecord
    similarity: float
    text_score: float
    score: float


def rank(
    vector_hits: Sequence[tuple[MemoryRecord, float]],
    text_hits: Sequence[tuple[MemoryRecord, float]],
    query: np.ndarray,
    config: RetrievalConfig,
    now: float,
) -> list[Hit]:
    """Fuse both candidate lists into clamped, best-first hits."""
    similarity = {record.id: sim for record, sim in vector_hits}
    records = {record.id: record for record, _ in (*vector_hits, *text_hits)}
    best_text = max((score for _, score in text_hits), default=0.0) or 1.0
    text = {record.id: score / best_text for record, score in text_hits}
    hits = []
    for rid, record in records.items():
        sim = similarity.get(rid)
        if sim is None:  # found by full text only: score its stored vector
            sim = float(np.dot(record.vector, query))
        age = max(0.0, now - record.wall_time)
        recency = 0.5 ** (age / config.recency_half_life_s)
        score = sim + config.text_weight * text.get(rid, 0.0) + config.recency_weight * recency
        if record.kind == "answer":
            score -= config.answer_weight
        hits.append(Hit(record=record, similarity=sim, text_score=text.get(rid, 0.0), score=score))
    hits.sort(key=_order)
    kept = [h for h in hits if h.similarity >= config.min_similarity][: config.k_max]
    if len(kept) < config.k_min:
        chosen = {h.record.id for h in kept}
        kept += [h for h in hits if h.record.id not in chosen][: config.k_min - len(kept)]
        kept.sort(key=_order)
    return kept


def _order(hit: Hit) -> tuple[bool, float]:
    """Facts first, best first; the agent's own answers after them."""
    return (hit.record.kind == "answer", -hit.score)


class Retriever:
    """Hybrid search over one store with one embedder."""

    def __init__(
        self, store: LanceStore, embedder: TextEmbedder, config: RetrievalConfig | None = None
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.config = config or RetrievalConfig()

    def search(self, query: str, scope: Scope, *, now: float | None = None) -> list[Hit]:
        """The best records in ``scope`` for ``query`` (spans sessions unless scoped)."""
        vector = self.embedder.embed([query])[0]
        limit = max(self.config.candidates, self.config.k_max)
        vector_hits = self.store.vector_search(scope, vector, limit)
        text_hits = self.store.text_search(scope, query, limit) if self.config.text_weight else []
        return rank(
            vector_hits, text_hits, vector, self.config, time.time() if now is None else now
        )
