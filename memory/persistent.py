"""Long-term memory as one async object: what the memory actor holds.

It ties the store, the embedder, retrieval, sessions and speakers together. Blocking work
(embedding, LanceDB commits) runs in worker threads, so an actor's event loop stays free while
a batch is embedded. Every method takes the tenant; nothing reaches across tenants.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from memory.embeddings import TextEmbedder
from memory.ingest import draft
from memory.lancedb_store import LanceStore, StoreOptions
from memory.retrieval import Hit, RetrievalConfig, Retriever
from memory.schema import Kind, MemoryRecord
from memory.scope import Scope, check_id
from memory.sessions import Summariser, extractive_summary, link_related, session_unit
from memory.shown import shown_by
from memory.speakers import SpeakerBook
from vigil.items import Item

__all__ = ["PersistentMemory"]


class PersistentMemory:
    """Remember items, recall by question, close and forget sessions, forget speakers."""

    def __init__(
        self,
        root: Path | str,
        *,
        embedder: TextEmbedder | None = None,
        retrieval: RetrievalConfig | None = None,
        options: StoreOptions | None = None,
        summariser: Summariser = extractive_summary,
    ) -> None:
        self.store = LanceStore(root, options)
        self.speakers = SpeakerBook(self.store.db)
        self.embedder = embedder or TextEmbedder()
        self.retriever = Retriever(self.store, self.embedder, retrieval)
        self.summariser = summariser
        self._last_seen: dict[tuple[str, str], str] = {}

    async def remember(self, tenant: str, session: str, items: Sequence[Item]) -> int:
        """Store what memory keeps of ``items`` (repeated identical observations of a stream
        are kept once); returns how many rows were committed."""
        check_id(session, "session")
        names = self.speakers.names(tenant) if any(hasattr(i, "speaker") for i in items) else {}
        drafts = []
        for item in items:
            found = draft(item, names)
            if found is None:
                continue
            if found.kind == "observation":
                key = (tenant, item.stream_id)
                if self._last_seen.get(key) == found.text:
                    continue
                self._last_seen[key] = found.text
            drafts.append((item.stream_id, found))
        vectors = await asyncio.to_thread(self.embedder.embed, [d.text for _, d in drafts])
        records = [
            MemoryRecord(
                tenant=tenant,
                stream=stream,
                session=session,
                kind=d.kind,
                text=d.text,
                vector=vector,
                speaker=d.speaker,
                media_t0=d.t0,
                media_t1=d.t1,
            )
            for (stream, d), vector in zip(drafts, vectors, strict=True)
        ]
        return await asyncio.to_thread(self.store.add, records)

    async def note(
        self,
        tenant: str,
        stream: str,
        session: str,
        kind: Kind,
        text: str,
        *,
        speaker: str = "",
        t0: float = 0.0,
        t1: float | None = None,
        keyframe: str = "",
        audio: str = "",
    ) -> MemoryRecord:
        """Store one record written by hand (an observation shown by a speaker, a note)."""
        vector = (await asyncio.to_thread(self.embedder.embed, [text]))[0]
        record = MemoryRecord(
            tenant=tenant,
            stream=check_id(stream, "stream"),
            session=check_id(session, "session"),
            kind=kind,
            text=text,
            vector=vector,
            speaker=speaker and check_id(speaker, "speaker"),
            media_t0=t0,
            media_t1=t0 if t1 is None else t1,
            keyframe=keyframe,
            audio=audio,
        )
        await asyncio.to_thread(self.store.add, [record])
        return record

    async def recall(self, query: str, scope: Scope, *, now: float | None = None) -> list[Hit]:
        """Hybrid, clamped retrieval within ``scope`` (all sessions unless it narrows them)."""
        return await asyncio.to_thread(self.retriever.search, query, scope, now=now)

    async def end_session(self, tenant: str, stream: str, session: str) -> MemoryRecord:
        """Summarise the session's items into one unit, link it to related earlier sessions,
        and store it."""
        scope = Scope(tenant=tenant, sessions=(session,))
        items = [r for r in await asyncio.to_thread(self.store.rows, scope) if r.kind != "session"]
        names = self.speakers.names(tenant)
        for shown in shown_by(items, names):
            items.append(
                await self.note(
                    tenant, shown.stream, session, "observation", shown.text,
                    speaker=shown.speaker, t0=shown.t,
                )
            )  # fmt: skip
        summary = await self.summariser(items)
        vector = (await asyncio.to_thread(self.embedder.embed, [summary]))[0]
        links = await asyncio.to_thread(link_related, self.store, tenant, session, vector)
        unit = session_unit(tenant, stream, session, summary, vector, items, links, names)
        await asyncio.to_thread(self.store.add, [unit])
        return unit

    async def forget_session(self, tenant: str, session: str) -> int:
        """Delete every row and media file of one session, for good."""
        deleted = await asyncio.to_thread(
            self.store.delete, Scope(tenant=tenant, sessions=(session,))
        )
        self.store.drop_media(tenant, session)
        return deleted

    async def forget_speaker(self, tenant: str, speaker: str) -> int:
        """Delete everything a speaker said or showed, and their identity, for good."""
        deleted = await asyncio.to_thread(
            self.store.delete, Scope(tenant=tenant, speakers=(speaker,))
        )
        await asyncio.to_thread(self.speakers.forget, tenant, speaker)
        return deleted
