"""One row layout for everything the long-term memory keeps.

Clips and observations (what was seen), utterances and requests (what was heard), answers (what
the agent said) and session summaries share one table, so that one vector search spans them all
and one tenant filter guards them all. Media (keyframes, audio snippets) stay on disk as files;
rows hold their paths.

Each row also carries every field but its vector once more, as JSON in ``record``: that is what
a search hit reads. Lance reads each column of a row with an I/O of its own, so the thirteen
columns of 28 hits took 231 reads, 8 ms of a 14 ms query at a million rows; one column takes
28. The fields keep their own columns for filters, indices and full-text search.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from vigil.items import new_id

__all__ = [
    "EMBEDDING_DIM",
    "FIELDS",
    "KINDS",
    "RECORD_SCHEMA",
    "SCHEMA",
    "Kind",
    "MemoryRecord",
    "from_arrow",
    "from_record_column",
    "record_column",
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
        pa.field("record", pa.string(), nullable=False),
    ]
)
# the fields a record is made of, each in its own column (the vector and record excepted)
FIELDS = [name for name in SCHEMA.names if name not in ("vector", "record")]


def _python_type(name: str) -> Callable[[Any], Any]:
    """The plain Python type of a field's column: the JSON copy of a row is made of these, so
    that it reads back exactly as the column does (a numpy float or an int time included)."""
    if name == "links":
        return list
    return float if pa.types.is_floating(SCHEMA.field(name).type) else str


_PYTHON_TYPES = {name: _python_type(name) for name in FIELDS}


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
    rows = [{name: cast(getattr(r, name)) for name, cast in _PYTHON_TYPES.items()} for r in records]
    columns = {
        name: pa.array([row[name] for row in rows], SCHEMA.field(name).type) for name in FIELDS
    }
    columns["vector"] = pa.FixedSizeListArray.from_arrays(pa.array(vectors), EMBEDDING_DIM)
    columns["record"] = _as_json(rows)
    return pa.Table.from_pydict(columns, schema=SCHEMA)


RECORD_SCHEMA = pa.schema([SCHEMA.field("record")])


def record_column(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The ``record`` column (in :data:`RECORD_SCHEMA`) for rows of :data:`FIELDS`: how a
    table written before the column existed gets it."""
    json_rows = _as_json(batch.select(FIELDS).to_pylist())
    return pa.RecordBatch.from_arrays([json_rows], schema=RECORD_SCHEMA)


def _as_json(rows: Sequence[dict[str, Any]]) -> pa.Array:
    return pa.array(
        [json.dumps(row, ensure_ascii=False, separators=(",", ":")) for row in rows], pa.string()
    )


def from_arrow(table: pa.Table) -> list[MemoryRecord]:
    """Rows back as records from their field columns (``record`` and extra columns such as
    ``_distance`` are ignored; without a ``vector`` column, records get a zero vector)."""
    columns = [name for name in (*FIELDS, "vector") if name in table.column_names]
    return [_record(row) for row in table.select(columns).to_pylist()]


def from_record_column(table: pa.Table) -> list[MemoryRecord]:
    """Rows back as records from the ``record`` column, with their vectors where ``table``
    has a ``vector`` column, else with a zero vector."""
    rows = [json.loads(value) for value in table.column("record").to_pylist()]
    if "vector" in table.column_names:
        for row, vector in zip(rows, table.column("vector").to_pylist(), strict=True):
            row["vector"] = vector
    return [_record(row) for row in rows]


def _record(row: dict[str, Any]) -> MemoryRecord:
    return MemoryRecord(
        **{k: v for k, v in row.items() if k not in ("vector", "links")},
        vector=np.asarray(row.get("vector") or np.zeros(EMBEDDING_DIM), dtype=np.float32),
        links=tuple(row.get("links") or ()),
    )
