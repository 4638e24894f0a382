"""Speaker identities that outlive a run: a name and a voice-embedding centroid per speaker.

The centroid is the running mean of the voice embeddings enrolled so far (unit length), so a
speaker heard in several sessions is recognised by the average of all of them. Rows live in
their own LanceDB table beside the memory, scoped by tenant like everything else.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import lancedb
import numpy as np
import pyarrow as pa

from memory.layout import purge
from memory.scope import Scope, check_id

__all__ = ["Speaker", "SpeakerBook"]

_SCHEMA = pa.schema(
    [
        pa.field("tenant", pa.string(), nullable=False),
        pa.field("speaker", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("centroid", pa.list_(pa.float32()), nullable=False),
        pa.field("samples", pa.int64(), nullable=False),
        pa.field("updated", pa.float64(), nullable=False),
    ]
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Speaker:
    """``centroid`` is the mean of the unit voice samples enrolled (empty before the first);
    ``samples`` counts them."""

    tenant: str
    speaker: str
    name: str
    centroid: np.ndarray
    samples: int


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def _one(tenant: str, speaker: str) -> str:
    return f"{Scope(tenant=tenant).where()} AND speaker = '{check_id(speaker, 'speaker')}'"


class SpeakerBook:
    """Names and voice centroids per tenant."""

    def __init__(self, db: lancedb.DBConnection) -> None:
        self.table = db.create_table("speakers", schema=_SCHEMA, exist_ok=True)
        self._lock = threading.Lock()  # enrol is read-modify-write

    def enroll(
        self, tenant: str, speaker: str, *, name: str = "", voice: np.ndarray | None = None
    ) -> Speaker:
        """Create or update a speaker: set the name (when given) and fold ``voice`` into the
        centroid (when given)."""
        check_id(speaker, "speaker")
        with self._lock:
            known = self.get(tenant, speaker)
            centroid = known.centroid if known else np.zeros(0, dtype=np.float32)
            samples = known.samples if known else 0
            if voice is not None:
                sample = _unit(voice)
                centroid = sample if samples == 0 else (centroid * samples + sample) / (samples + 1)
                samples += 1
            updated = Speaker(
                tenant=tenant,
                speaker=speaker,
                name=name or (known.name if known else speaker),
                centroid=centroid,
                samples=samples,
            )
            row = {
                "tenant": tenant,
                "speaker": speaker,
                "name": updated.name,
                "centroid": centroid.tolist(),
                "samples": samples,
                "updated": time.time(),
            }
            (
                self.table.merge_insert(["tenant", "speaker"])
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute(pa.Table.from_pylist([row], schema=_SCHEMA))
            )
            return updated

    def get(self, tenant: str, speaker: str) -> Speaker | None:
        found = self._query(
            f"{Scope(tenant=tenant).where()} AND speaker = '{check_id(speaker, 'speaker')}'"
        )
        return found[0] if found else None

    def all(self, tenant: str) -> list[Speaker]:
        return self._query(Scope(tenant=tenant).where())

    def names(self, tenant: str) -> dict[str, str]:
        """Speaker id to name."""
        return {s.speaker: s.name for s in self.all(tenant)}

    def identify(self, tenant: str, voice: np.ndarray, threshold: float = 0.75) -> Speaker | None:
        """The enrolled speaker whose centroid is closest to ``voice``, if close enough."""
        query = _unit(voice)
        scored = [
            (float(np.dot(_unit(s.centroid), query)), s)
            for s in self.all(tenant)
            if s.centroid.shape == query.shape
        ]
        best = max(scored, key=lambda pair: pair[0], default=None)
        return best[1] if best and best[0] >= threshold else None

    def forget(self, tenant: str, speaker: str) -> None:
        """Delete the identity, leaving no copy in older table versions."""
        self.table.delete(_one(tenant, speaker))
        purge(self.table)

    def _query(self, where: str) -> list[Speaker]:
        rows = self.table.search().where(where).limit(None).to_arrow().to_pylist()
        return [
            Speaker(
                tenant=r["tenant"],
                speaker=r["speaker"],
                name=r["name"],
                centroid=np.asarray(r["centroid"], dtype=np.float32),
                samples=r["samples"],
            )
            for r in rows
        ]
