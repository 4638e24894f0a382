"""Who is speaking: voice embeddings, online clustering into speaker ids, and names.

Each utterance's audio becomes a 256-d GE2E voice embedding (Resemblyzer's packaged encoder,
about 0.1 s for a few seconds of speech on one core). Embeddings are clustered online, as a
live stream needs: an utterance joins the speaker whose centroid is most similar when that
similarity reaches ``threshold``, otherwise it starts a new speaker. Centroids are running
means, so a voice is learnt better with every utterance.

Names come by enrolment: through the API (:meth:`SpeakerRegistry.enrol`), or spoken ("I'm
Alice", "my name is Alice", "this is Alice"), which names the cluster of that utterance.
Identities (name and centroid) can be exported and restored, so that memory can carry them
from one session to the next.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from resemblyzer import VoiceEncoder

__all__ = [
    "SpeakerIdentity",
    "SpeakerOptions",
    "SpeakerRegistry",
    "VoiceEmbedder",
    "spoken_name",
]

SAMPLE_RATE = 16000

_INTRODUCTION = re.compile(
    r"\b(?:i am|i'm|im|my name is|my name's|this is|call me)\s+([a-z][a-z'-]{1,30})\b",
    re.IGNORECASE,
)
_NOT_NAMES = frozenset(
    {
        *("a", "an", "the", "not", "here", "there", "back", "sure", "sorry", "fine", "good"),
        *("glad", "going", "just", "so", "very", "really", "done", "ready", "okay", "ok"),
        *("listening", "looking", "trying", "wondering"),
    }
)


def spoken_name(text: str) -> str | None:
    """The name someone gives for themselves in ``text`` ("I'm Alice." gives "Alice")."""
    for match in _INTRODUCTION.finditer(text):
        word = match.group(1).strip("'-")
        if word.lower() not in _NOT_NAMES:
            return word[:1].upper() + word[1:].lower()
    return None


class VoiceEmbedder:
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
        """The L2-normalised embedding of mono 16 kHz float32 speech."""
        if self._encoder is None:
            self.load()
        assert self._encoder is not None
        with self._lock:  # one torch model, called from worker threads
            return np.asarray(self._encoder.embed_utterance(audio), dtype=np.float32)


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeakerOptions:
    """Clustering settings, tuned on distinct synthetic and recorded voices.

    - ``threshold``: cosine similarity to a centroid that makes an utterance that speaker's
      (the same voice scores 0.8-0.95, different voices mostly 0.5-0.7);
    - ``min_seconds``: shorter utterances carry too little voice to start a new speaker or
      move a centroid; they go to the closest known speaker, or to ``unknown``;
    - ``max_speakers``: beyond this, an utterance goes to the closest speaker.
    """

    threshold: float = 0.75
    min_seconds: float = 0.6
    max_speakers: int = 32
    unknown: str = "unknown"

    def __post_init__(self) -> None:
        if not -1 < self.threshold < 1 or self.min_seconds < 0 or self.max_speakers < 1:
            raise ValueError("threshold in (-1, 1), min_seconds >= 0, max_speakers >= 1")


@dataclass(slots=True)
class SpeakerIdentity:
    """One voice: its id, its name once known, its centroid and how many utterances made it."""

    speaker_id: str
    centroid: np.ndarray
    name: str | None = None
    utterances: int = 0

    @property
    def label(self) -> str:
        """What utterances carry as their speaker: the name when known, else the id."""
        return self.name or self.speaker_id


@dataclass(slots=True)
class SpeakerRegistry:
    """Online clustering of voice embeddings into named speakers."""

    options: SpeakerOptions = field(default_factory=SpeakerOptions)
    _speakers: list[SpeakerIdentity] = field(default_factory=list)

    @property
    def speakers(self) -> list[SpeakerIdentity]:
        return list(self._speakers)

    def assign(
        self, embedding: np.ndarray, seconds: float, text: str = ""
    ) -> SpeakerIdentity | None:
        """The speaker of one utterance (None: too short to tell and nobody is known).

        A self-introduction in ``text`` names the speaker it was assigned to.
        """
        embedding = _unit(embedding)
        best, similarity = self._closest(embedding)
        reliable = seconds >= self.options.min_seconds
        if best is None or (
            similarity < self.options.threshold
            and reliable
            and len(self._speakers) < self.options.max_speakers
        ):
            if not reliable:
                return None
            best = SpeakerIdentity(f"speaker-{len(self._speakers) + 1}", embedding)
            self._speakers.append(best)
        elif reliable:
            best.centroid = _unit(best.centroid * best.utterances + embedding)
        best.utterances += 1
        name = spoken_name(text)
        if name is not None:
            self.enrol(name, speaker_id=best.speaker_id)
        return best

    def enrol(
        self, name: str, *, speaker_id: str | None = None, embedding: np.ndarray | None = None
    ) -> SpeakerIdentity:
        """Name a known speaker (by id), or add a voice under ``name`` from an embedding.

        A name is unique: giving it to another speaker takes it from the one that had it.
        """
        for speaker in self._speakers:
            if speaker.name == name:
                speaker.name = None
        if speaker_id is not None:
            target = next((s for s in self._speakers if s.speaker_id == speaker_id), None)
            if target is None:
                raise KeyError(f"no speaker {speaker_id!r}")
        elif embedding is not None:
            target = SpeakerIdentity(
                f"speaker-{len(self._speakers) + 1}", _unit(embedding), utterances=1
            )
            self._speakers.append(target)
        else:
            raise ValueError("enrol needs a speaker_id or an embedding")
        target.name = name
        return target

    def export(self) -> list[SpeakerIdentity]:
        """Copies of every identity, for memory to keep across sessions."""
        return [
            SpeakerIdentity(s.speaker_id, s.centroid.copy(), s.name, s.utterances)
            for s in self._speakers
        ]

    def restore(self, identities: list[SpeakerIdentity]) -> None:
        """Start from identities a previous session exported."""
        self._speakers = [
            SpeakerIdentity(s.speaker_id, _unit(s.centroid), s.name, s.utterances)
            for s in identities
        ]

    def _closest(self, embedding: np.ndarray) -> tuple[SpeakerIdentity | None, float]:
        if not self._speakers:
            return None, -1.0
        similarities = [float(s.centroid @ embedding) for s in self._speakers]
        index = int(np.argmax(similarities))
        return self._speakers[index], similarities[index]


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
