"""Memory: what the agent saw, heard, was asked and answered, per stream.

``MemoryStore`` is the in-process working memory of a run. The long-term store (LanceDB on
disk, embeddings, sessions, speakers) is exported lazily: importing LanceDB and
sentence-transformers costs seconds, and every actor that only needs the working memory
imports this package.
"""

from __future__ import annotations

import importlib
from typing import Any

from memory.store import MemorySnapshot, MemoryStore, Retention

__all__ = [
    "Hit",
    "LanceStore",
    "MemoryRecord",
    "MemorySnapshot",
    "MemoryStore",
    "PersistentMemory",
    "Retention",
    "RetrievalConfig",
    "Scope",
    "Speaker",
    "SpeakerBook",
    "StoreOptions",
    "TextEmbedder",
    "extractive_summary",
]

_LAZY = {
    "Hit": "memory.retrieval",
    "LanceStore": "memory.lancedb_store",
    "MemoryRecord": "memory.schema",
    "PersistentMemory": "memory.persistent",
    "RetrievalConfig": "memory.retrieval",
    "Scope": "memory.scope",
    "Speaker": "memory.speakers",
    "SpeakerBook": "memory.speakers",
    "StoreOptions": "memory.lancedb_store",
    "TextEmbedder": "memory.embeddings",
    "extractive_summary": "memory.sessions",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'memory' has no attribute {name!r}")
