"""A tenant's long-term memory, as the service's memory endpoints reach it.

The store is the one every graph writes (``memory.path``); LanceDB lets this process read and
delete while the graphs' memory actors append. Opened on first use: the text embedder takes
seconds to load, and a service without persistent memory never needs it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from memory.scope import Scope, check_id
from runtime.config import MemoryConfig
from vigil.cache import cache_dir

if TYPE_CHECKING:
    from memory.persistent import PersistentMemory

__all__ = ["TenantMemory"]


class TenantMemory:
    def __init__(self, config: MemoryConfig) -> None:
        self.config = config
        self._memory: PersistentMemory | None = None
        self._lock = asyncio.Lock()

    @property
    def enabled(self) -> bool:
        return self.config.persistent

    async def _open(self) -> PersistentMemory:
        async with self._lock:
            if self._memory is None:
                # Imported here: LanceDB and the text embedder take seconds to import.
                from memory.persistent import PersistentMemory

                root = self.config.path or cache_dir() / "memory"
                self._memory = await asyncio.to_thread(PersistentMemory, root)
            return self._memory

    async def search(self, tenant: str, query: str) -> list[dict[str, Any]]:
        memory = await self._open()
        hits = await memory.recall(query, Scope(tenant=check_id(tenant, "tenant")))
        return [
            {
                "text": h.record.text,
                "kind": h.record.kind,
                "session": h.record.session,
                "stream": h.record.stream,
                "speaker": h.record.speaker,
                "media_t0": h.record.media_t0,
                "media_t1": h.record.media_t1,
                "score": round(h.score, 4),
            }
            for h in hits
        ]

    async def forget_speaker(self, tenant: str, name: str) -> int:
        """Forget every voice called ``name`` (or with that id) and what they said."""
        memory = await self._open()
        speakers = await asyncio.to_thread(memory.speakers.all, tenant)
        ids = {s.speaker for s in speakers if name in (s.name, s.speaker)}
        deleted = 0
        for speaker in ids:
            deleted += await memory.forget_speaker(tenant, speaker)
        return deleted if ids else -1

    async def forget_session(self, tenant: str, session: str) -> int:
        memory = await self._open()
        return await memory.forget_session(tenant, check_id(session, "session"))
