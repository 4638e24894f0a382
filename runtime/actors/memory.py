"""The long-term memory actor: working memory for prompts, plus a durable store on disk.

It keeps :class:`~memory.MemoryStore`'s interface (``add_many``, ``snapshot``, ``version``,
``counts``), so the rest of the graph does not know whether memory persists. Every item the
working memory keeps is also committed to the LanceDB store before ``add_many`` returns: what
perception was told is stored survives a crash. ``recall`` answers from every session of the
tenant; ``end_session`` writes the session's summary unit when the run ends.
"""

from __future__ import annotations

from memory import (
    MemoryRecord,
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


def _recalled(record: MemoryRecord) -> str:
    """A recalled record as the prompt shows it: an answer is marked as the agent's own."""
    if record.kind == "answer":
        return f"(your own earlier answer, not a fact) {record.text}"
    return record.text


class LongTermMemoryActor:
    """Wrapped with ``ray.remote`` by the graph when ``memory.persistent`` is on."""

    def __init__(self, config: MemoryConfig, stream_id: str) -> None:
        self.working = MemoryStore()
        self.tenant = config.tenant
        self.stream = stream_id
        self.session = config.session or new_id()
        self.recall_lines = config.recall_lines
        self._handed: set[str] = set()  # speaker ids given to perception by ``voices``
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
        """What earlier sessions of this tenant hold about ``question``, best first; the
        agent's own earlier answers come last and say whose they are."""
        if self.recall_lines == 0:
            return []
        hits = await self.long.recall(question, Scope(tenant=self.tenant))
        earlier = [h for h in hits if h.record.session != self.session]
        return [_recalled(h.record) for h in earlier[: self.recall_lines]]

    def voices(self) -> list[SpeakerIdentity]:
        """The tenant's known voices with their exemplars, for perception to start from (a
        row written before exemplars were kept offers its centroid as its one exemplar)."""
        known = [
            SpeakerIdentity(
                s.speaker,
                s.exemplars if len(s.exemplars) else s.centroid,
                s.name if s.name != s.speaker else None,
                s.samples,
                frozenset(s.conflicts),
            )
            for s in self.long.speakers.all(self.tenant)
            if s.centroid.size or len(s.exemplars)
        ]
        self._handed = {identity.speaker_id for identity in known}
        return known

    def keep_voices(self, identities: list[SpeakerIdentity]) -> None:
        """Store the voices perception knows at the end of the session (names, exemplars,
        conflicts). A voice handed out by :meth:`voices` and missing now was merged into
        another one during the session (its speaker gave that one's name): it is forgotten,
        so that the book holds one identity per person."""
        kept = {identity.speaker_id for identity in identities}
        for identity in identities:
            self.long.speakers.keep(
                self.tenant,
                identity.speaker_id,
                name=identity.name or "",
                exemplars=identity.exemplars,
                samples=identity.utterances,
                conflicts=identity.conflicts,
            )
        for merged in self._handed - kept:
            self.long.speakers.forget(self.tenant, merged)
        self._handed = kept

    async def end_session(self) -> str:
        """Write the session's summary unit (linked to related earlier ones); returns it."""
        return (await self.long.end_session(self.tenant, self.stream, self.session)).text
