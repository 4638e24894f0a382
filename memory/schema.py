"""One row layout for everything the long-term memory keeps.

Clips and observations (what was seen), utterances and requests (what was heard), answers (what
the agent said) and session summaries share one table, so that one vector search spans them all
and one tenant filter guards them all. Media (keyframes, audio snippets) stay on disk as files;
rows hold their paths.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pyarrow as pa

from vigil.items import new_id

__all__ = [
    "EMBEDDING_DIM",
    "KINDS",
    "SCHEMA",
    "Kind",
    "MemoryRecord",
    "from_arrow",
    "to_arrow",
]

EMBEDDING_DIM = 384  # all-MiniLM-L6-v2

Kind = Literal["observation", "clip", "utterance", "request", "answer", "session"]
KINDS: tuple[Kind, ...] = ("observation", "clip", "utterance", "request", "answer", "session")

SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("tenant", pa.string(), nullable=False),
        pa.field("stream", pa.string(), nullable=False),
        pa.field("session", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("speaker", pa.string(), nullable=False),
        pa.field("media_t0", pa.float64(), nullable=False),
        pa.field("media_t1", pa.float64(), nullable=False),
        pa.field("wall_time", pa.float64(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("keyframe", pa.string(), nullable=False),
        pa.field("audio", pa.string(), nullable=False),
        pa.field("links", pa.list_(pa.string()), nullable=False),
        pa.field("vector", pa.list_(pa.float32(), EMBEDDING_DIM), nullable=False),
    ]
)


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryRecord:
    """One remembered unit. ``speaker`` is the speaker id (who said it, or who showed it);
    ``text`` is what a language model reads (speaker names already rendered in it);
    ``keyframe`` and ``audio`` are paths of files the store owns ('' when none);
    ``links`` are ids of related earlier units (session summaries link to earlier sessions)."""

    tenant: str
    stream: str
    session: str
    kind: Kind
    text: str
    vector: np.ndarray
    speaker: str = ""
    media_t0: float = 0.0
    media_t1: float = 0.0
    wall_time: float = field(default_factory=time.time)
    keyframe: str = ""
    audio: str = ""
    links: tuple[str, ...] = ()
    id: str = field(default_factory=new_id)


def to_arrow(records: Sequence[MemoryRecord]) -> pa.Table:
    """Records as one Arrow table in :data:`SCHEMA` (vectors checked for shape)."""
    vectors = np.asarray([r.vector for r in records], dtype=np.float32).reshape(-1)
    if vectors.size != len(records) * EMBEDDING_DIM:
        raise ValueError(f"every record needs a {EMBEDDING_DIM}-d vector")
    columns: dict[str, pa.Array] = {}
    for name in SCHEMA.names:
        if name == "vector":
            columns[name] = pa.FixedSizeListArray.from_arrays(pa.array(vectors), EMBEDDING_DIM)
        elif name == "links":
            columns[name] = pa.array([list(r.links) for r in records], pa.list_(pa.string()))
        else:
            columns[name] = pa.array([getattr(r, name) for r in records], SCHEMA.field(name).type)
    return pa.Table.from_pydict(columns, schema=SCHEMA)


def from_arrow(table: pa.Table) -> list[MemoryRecord]:
    """Rows back as records (extra columns such as ``_distance`` are ignored)."""
    rows = table.select([n for n in SCHEMA.names if n in table.column_names]).to_pylist()
    return [
        MemoryRecord(
            **{k: v for k, v in row.items() if k not in ("vector", "links")},
            vector=np.asarray(row.get("vector") or np.zeros(EMBEDDING_DIM), dtype=np.float32),
            links=tuple(row.get("links") or ()),
        )
        for row in rows
    ]
