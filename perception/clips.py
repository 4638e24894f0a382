"""Clips: the stream cut into units that memory stores and the decision stage reasons about.

As in Dispider, a clip is either a fixed number of analysed frames (``uniform``) or a scene:
frames from one cut to the next (``scene``), where a cut is where consecutive frame embeddings
diverge (perception's :class:`~perception.motion.SceneChangeDetector` flags it on the
observation). A scene clip is at least ``min_seconds`` long, so a flash does not make a clip of
its own, and at most ``max_seconds``, so a long static scene still reaches memory in pieces.

Each clip carries the mean of its frames' embeddings (normalised) as its feature vector, and a
one-line summary of what its observations showed, which is what a text-only language model and
the full-text index read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from vigil.items import Clip, Observation, new_id

__all__ = ["ClipOptions", "ClipSegmenter", "summarise"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ClipOptions:
    """How the stream is cut into clips (see the module docstring)."""

    mode: Literal["uniform", "scene"] = "scene"
    frames: int = 8
    min_seconds: float = 2.0
    max_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.frames < 1 or self.min_seconds < 0 or self.max_seconds <= self.min_seconds:
            raise ValueError("frames >= 1 and 0 <= min_seconds < max_seconds are required")


class ClipSegmenter:
    """Groups one stream's observations into clips, online."""

    def __init__(self, options: ClipOptions | None = None) -> None:
        self.options = options or ClipOptions()
        self._open: list[Observation] = []

    def push(self, observation: Observation) -> Clip | None:
        """Add an observation; returns the clip it closed, if any.

        The observation that starts a new scene starts the next clip, so a clip ends with the
        last frame before the cut.
        """
        closed = None
        if self._open and self._cuts_before(observation):
            closed = self._close()
        self._open.append(observation)
        if self.options.mode == "uniform" and len(self._open) >= self.options.frames:
            closed = self._close()
        return closed

    def flush(self) -> Clip | None:
        """End of stream: the open clip, if any."""
        return self._close() if self._open else None

    def _cuts_before(self, observation: Observation) -> bool:
        length = observation.media_time - self._open[0].media_time
        if length >= self.options.max_seconds:
            return True
        return (
            self.options.mode == "scene"
            and observation.scene_change
            and length >= self.options.min_seconds
        )

    def _close(self) -> Clip:
        frames, self._open = self._open, []
        last = frames[-1]
        return Clip(
            stream_id=last.stream_id,
            media_time=last.media_time,
            stamps=dict(last.stamps),
            clip_id=new_id(),
            t0=frames[0].media_time,
            t1=last.media_time,
            summary=summarise(frames),
            embedding=_mean_embedding(frames),
        )


def summarise(frames: Sequence[Observation]) -> str:
    """What a run of observations showed, in one line a small language model can read."""
    people = [o.people for o in frames]
    common = Counter(people).most_common(1)[0][0]
    span = f"{min(people)}-{max(people)}" if min(people) != max(people) else str(common)
    parts = [f"{span} people (mostly {common})" if span != str(common) else f"{span} people"]
    faces = max(o.faces for o in frames)
    if faces:
        parts.append(f"up to {faces} face{'s' if faces > 1 else ''}")
    texts = list(dict.fromkeys(line for o in frames for line in o.text))
    if texts:
        parts.append("text " + ", ".join(repr(t) for t in texts[:4]))
    colours = Counter(c for o in frames for c in o.colours[:2]).most_common(2)
    if colours:
        parts.append("mostly " + " and ".join(c for c, _ in colours))
    motion = float(np.mean([o.motion for o in frames]))
    parts.append("still" if motion < 0.005 else "some motion" if motion < 0.05 else "busy")
    return "; ".join(parts)


def _mean_embedding(frames: Sequence[Observation]) -> np.ndarray | None:
    vectors = [o.embedding for o in frames if o.embedding is not None]
    if not vectors or len({v.shape for v in vectors}) != 1:
        return None
    mean = np.mean(np.stack(vectors), axis=0).astype(np.float32)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else mean
