"""Closing a session, as in M3C: one session memory unit summarising what was seen and heard.

The summary comes from a pluggable async summariser (the reaction backend in production); the
default is extractive and deterministic, so tests and offline runs need no language model. The
unit is linked to the earlier session units it resembles, so retrieval can walk from one
session to the ones it continues.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

import numpy as np

from memory.lancedb_store import LanceStore
from memory.schema import MemoryRecord
from memory.scope import Scope

__all__ = ["Summariser", "extractive_summary", "link_related", "session_unit"]

Summariser = Callable[[Sequence[MemoryRecord]], Awaitable[str]]

_PER_SPEAKER = 4
_SEEN = 6
_MAX_CHARS = 1500


async def extractive_summary(items: Sequence[MemoryRecord]) -> str:
    """Who said what (the first few lines per speaker), what was seen, what was answered."""
    said: dict[str, list[str]] = {}
    seen: list[str] = []
    answered: list[str] = []
    for item in sorted(items, key=lambda r: (r.media_t1, r.wall_time)):
        if item.kind in ("utterance", "request"):
            said.setdefault(item.speaker or "someone", []).append(item.text)
        elif item.kind in ("observation", "clip") and item.text not in seen:
            seen.append(item.text)
        elif item.kind == "answer":
            answered.append(item.text)
    lines = [f"Speakers: {', '.join(said) or 'none'}."]
    lines += [" ".join(texts[:_PER_SPEAKER]) for texts in said.values()]
    if seen:
        lines.append("Seen: " + "; ".join(seen[:_SEEN]) + ".")
    if answered:
        lines.append("Agent: " + " ".join(answered[:_PER_SPEAKER]))
    return "\n".join(lines)[:_MAX_CHARS]


def link_related(
    store: LanceStore,
    tenant: str,
    session: str,
    vector: np.ndarray,
    *,
    threshold: float = 0.3,
    limit: int = 3,
) -> tuple[str, ...]:
    """Ids of earlier session units of the tenant that resemble this one."""
    scope = Scope(tenant=tenant, kinds=("session",), exclude_sessions=(session,))
    return tuple(r.id for r, sim in store.vector_search(scope, vector, limit) if sim >= threshold)


def session_unit(
    tenant: str,
    stream: str,
    session: str,
    summary: str,
    vector: np.ndarray,
    items: Sequence[MemoryRecord],
    links: tuple[str, ...],
    names: Mapping[str, str],
) -> MemoryRecord:
    """The record that stands for a whole session (its time span is that of its items)."""
    speakers = sorted({i.speaker for i in items if i.speaker})
    header = f"Session {session}"
    if speakers:
        header += " with " + ", ".join(names.get(s, s) for s in speakers)
    return MemoryRecord(
        tenant=tenant,
        stream=stream,
        session=session,
        kind="session",
        text=f"{header}.\n{summary}",
        vector=vector,
        media_t0=min((i.media_t0 for i in items), default=0.0),
        media_t1=max((i.media_t1 for i in items), default=0.0),
        links=links,
    )
