"""The long-term memory actor: working memory for prompts, plus a durable store on disk.

It keeps :class:`~memory.MemoryStore`'s interface (``add_many``, ``snapshot``, ``version``,
``counts``), so the rest of the graph does not know whether memory persists. Every item the
working memory keeps is also committed to the LanceDB store before ``add_many`` returns: what
perception was told is stored survives a crash. ``recall`` answers from every session of the
tenant; ``end_session`` writes the session's summary unit when the run ends.
"""

from __future__ import annotations

from memory import (
    MemorySnapshot,
    MemoryStore,
    PersistentMemory,
    RetrievalConfig,
    Scope,
    StoreOptions,
)
from perception.speakers import SpeakerIdentity
from runtime.config import MemoryConfig
from vigil.cache import cache_dir
from vigil.items import Item, new_id

__all__ = ["LongTermMemoryActor"]


class LongTermMemoryActor:
    """Wrapped with ``ray.remote`` by the graph when ``memory.persistent`` is on."""

    def __init__(self, config: MemoryConfig, stream_id: str) -> None:
        self.working = MemoryStore()
        self.tenant = config.tenant
        self.stream = stream_id
        self.session = config.session or new_id()
        self.recall_lines = config.recall_lines
        self.long = PersistentMemory(
            config.path or cache_dir() / "memory",
            retrieval=RetrievalConfig(
                k_min=config.k_min,
                k_max=config.k_max,
                min_similarity=config.min_similarity,
                text_weight=config.text_weight,
                recency_weight=config.recency_weight,
                recency_half_life_s=config.recency_half_life_s,
            ),
            options=StoreOptions(
                index_threshold=config.index_threshold,
                nprobes=config.nprobes,
                compact_every=config.compact_every,
            ),
        )

    async def add_many(self, items: list[Item]) -> int:
        kept = [item for item in items if self.working.add(item)]
        if kept:  # one embedding batch, one commit
            await self.long.remember(self.tenant, self.session, kept)
        return len(kept)

    def snapshot(self, stream_id: str, *, until: float | None = None) -> MemorySnapshot:
        return self.working.snapshot(stream_id, until=until)

    def version(self, stream_id: str) -> int:
        return self.working.version(stream_id)

    def counts(self) -> dict[str, dict[str, int]]:
        return self.working.counts()

    async def recall(self, question: str) -> list[str]:
        """What earlier sessions of this tenant hold about ``question``, best first."""
        if self.recall_lines == 0:
            return []
        hits = await self.long.recall(question, Scope(tenant=self.tenant))
        earlier = [h for h in hits if h.record.session != self.session]
        return [h.record.text for h in earlier[: self.recall_lines]]

    def voices(self) -> list[SpeakerIdentity]:
        """The tenant's known voices, for perception to start from."""
        return [
            SpeakerIdentity(
                s.speaker, s.centroid, s.name if s.name != s.speaker else None, s.samples
            )
            for s in self.long.speakers.all(self.tenant)
            if s.centroid.size
        ]

    def keep_voices(self, identities: list[SpeakerIdentity]) -> None:
        """Store the voices perception learnt this session (names and centroids)."""
        for identity in identities:
            self.long.speakers.enroll(
                self.tenant, identity.speaker_id, name=identity.name or "", voice=identity.centroid
            )

    async def end_session(self) -> str:
        """Write the session's summary unit (linked to related earlier ones); returns it."""
        return (await self.long.end_session(self.tenant, self.stream, self.session)).text
