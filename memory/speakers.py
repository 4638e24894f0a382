"""Speaker identities that outlive a run: a name, voice exemplars and a centroid per speaker.

A voice that comes back in a later session without saying its name is recognised by the
samples of it heard before (exemplars, unit voice embeddings), as perception's registry does
within a session; the centroid (their running mean) is kept for quick looks and older callers.
``conflicts`` lists the speakers whose voices were confused with this one. Rows live in their
own LanceDB table beside the memory, scoped by tenant like everything else; a table written
before exemplars existed gains the new columns (empty) when opened.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import lancedb
import numpy as np
import pyarrow as pa

from memory.layout import purge
from memory.scope import Scope, check_id

__all__ = ["Speaker", "SpeakerBook"]

MAX_EXEMPLARS = 16

_ADDED = [
    pa.field("exemplars", pa.list_(pa.list_(pa.float32())), nullable=True),
    pa.field("conflicts", pa.list_(pa.string()), nullable=True),
]
_SCHEMA = pa.schema(
    [
        pa.field("tenant", pa.string(), nullable=False),
        pa.field("speaker", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("centroid", pa.list_(pa.float32()), nullable=False),
        pa.field("samples", pa.int64(), nullable=False),
        pa.field("updated", pa.float64(), nullable=False),
        *_ADDED,
    ]
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Speaker:
    """``centroid`` is the mean of the unit voice samples enrolled (empty before the first);
    ``samples`` counts them; ``exemplars`` holds up to :data:`MAX_EXEMPLARS` of them, one per
    row (shape (0, 0) when none were kept)."""

    tenant: str
    speaker: str
    name: str
    centroid: np.ndarray
    samples: int
    exemplars: np.ndarray
    conflicts: tuple[str, ...] = ()


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def _rows(exemplars: Iterable[np.ndarray] | np.ndarray | None) -> np.ndarray:
    rows = [_unit(e) for e in (exemplars if exemplars is not None else ())]
    return np.stack(rows) if rows else np.zeros((0, 0), np.float32)


def _one(tenant: str, speaker: str) -> str:
    return f"{Scope(tenant=tenant).where()} AND speaker = '{check_id(speaker, 'speaker')}'"


class SpeakerBook:
    """Names, voice exemplars and centroids per tenant."""

    def __init__(self, db: lancedb.DBConnection) -> None:
        try:
            self.table = db.create_table("speakers", schema=_SCHEMA, exist_ok=True)
        except ValueError:  # it exists with the schema of a book written before exemplars
            self.table = db.open_table("speakers")
        missing = [f for f in _ADDED if f.name not in self.table.schema.names]
        if missing:  # a book written before exemplars were kept
            self.table.add_columns(missing)
        self._lock = threading.Lock()  # enrol is read-modify-write

    def enroll(
        self, tenant: str, speaker: str, *, name: str = "", voice: np.ndarray | None = None
    ) -> Speaker:
        """Create or update a speaker: set the name (when given) and add ``voice`` to the
        exemplars (the oldest goes beyond :data:`MAX_EXEMPLARS`) and the centroid."""
        check_id(speaker, "speaker")
        with self._lock:
            known = self.get(tenant, speaker)
            centroid = known.centroid if known else np.zeros(0, dtype=np.float32)
            samples = known.samples if known else 0
            exemplars = list(known.exemplars) if known else []
            if voice is not None:
                sample = _unit(voice)
                centroid = sample if samples == 0 else (centroid * samples + sample) / (samples + 1)
                samples += 1
                exemplars = [e for e in exemplars if e.shape == sample.shape][1 - MAX_EXEMPLARS :]
                exemplars.append(sample)
            return self._write(
                Speaker(
                    tenant=tenant,
                    speaker=speaker,
                    name=name or (known.name if known else speaker),
                    centroid=centroid,
                    samples=samples,
                    exemplars=_rows(exemplars),
                    conflicts=known.conflicts if known else (),
                )
            )

    def keep(
        self,
        tenant: str,
        speaker: str,
        *,
        name: str,
        exemplars: np.ndarray,
        samples: int,
        conflicts: Iterable[str] = (),
    ) -> Speaker:
        """Store a speaker as perception knows it at the end of a session: its exemplars
        replace the stored ones (perception started from them), the centroid is their mean."""
        check_id(speaker, "speaker")
        rows = _rows(list(exemplars)[-MAX_EXEMPLARS:])
        centroid = _unit(rows.mean(axis=0)) if len(rows) else np.zeros(0, np.float32)
        with self._lock:
            return self._write(
                Speaker(
                    tenant=tenant,
                    speaker=speaker,
                    name=name or speaker,
                    centroid=centroid,
                    samples=samples,
                    exemplars=rows,
                    conflicts=tuple(sorted(conflicts)),
                )
            )

    def get(self, tenant: str, speaker: str) -> Speaker | None:
        found = self._query(_one(tenant, speaker))
        return found[0] if found else None

    def all(self, tenant: str) -> list[Speaker]:
        return self._query(Scope(tenant=tenant).where())

    def names(self, tenant: str) -> dict[str, str]:
        """Speaker id to name."""
        return {s.speaker: s.name for s in self.all(tenant)}

    def identify(
        self,
        tenant: str,
        voice: np.ndarray,
        threshold: float = 0.64,
        top: int = 3,  # CAM++
    ) -> Speaker | None:
        """The enrolled speaker whose voice is closest to ``voice``, if close enough: the mean
        similarity of its ``top`` closest exemplars (its centroid when it has none)."""
        query = _unit(voice)
        scored = []
        for s in self.all(tenant):
            rows = s.exemplars if len(s.exemplars) else s.centroid.reshape(1, -1)
            if rows.shape[1] == query.shape[0]:
                scored.append((float(np.sort(rows @ query)[::-1][:top].mean()), s))
        best = max(scored, key=lambda pair: pair[0], default=None)
        return best[1] if best and best[0] >= threshold else None

    def forget(self, tenant: str, speaker: str) -> None:
        """Delete the identity, leaving no copy in older table versions."""
        self.table.delete(_one(tenant, speaker))
        purge(self.table)

    def _write(self, speaker: Speaker) -> Speaker:
        row = {
            "tenant": speaker.tenant,
            "speaker": speaker.speaker,
            "name": speaker.name,
            "centroid": speaker.centroid.tolist(),
            "samples": speaker.samples,
            "updated": time.time(),
            "exemplars": speaker.exemplars.tolist(),
            "conflicts": list(speaker.conflicts),
        }
        (
            self.table.merge_insert(["tenant", "speaker"])
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute(pa.Table.from_pylist([row], schema=_SCHEMA))
        )
        return speaker

    def _query(self, where: str) -> list[Speaker]:
        rows = self.table.search().where(where).limit(None).to_arrow().to_pylist()
        return [
            Speaker(
                tenant=r["tenant"],
                speaker=r["speaker"],
                name=r["name"],
                centroid=np.asarray(r["centroid"], dtype=np.float32),
                samples=r["samples"],
                exemplars=_rows(np.asarray(e, np.float32) for e in r.get("exemplars") or ()),
                conflicts=tuple(r.get("conflicts") or ()),
            )
            for r in rows
        ]
