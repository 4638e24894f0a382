"""What a frame encoder must provide, whatever model sits behind it.

The CPU encoder (OpenCV detectors and colour statistics) and a future GPU one (a vision encoder
such as SigLIP plus a detector) return the same :class:`FrameFeatures`, so the video stage, the
decision stage and memory never learn which one ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Box", "FrameEncoder", "FrameFeatures"]

Box = tuple[int, int, int, int]
"""(x, y, width, height) in pixels of the original image."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameFeatures:
    """Structured content of one frame.

    ``embedding`` is L2-normalised, so ``1 - a @ b`` is the cosine distance that scene-change
    detection and vector search use. ``colours`` are names, most dominant first.
    """

    people: int
    faces: int
    colours: tuple[str, ...]
    embedding: np.ndarray
    people_boxes: tuple[Box, ...] = ()
    face_boxes: tuple[Box, ...] = ()
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class FrameEncoder(Protocol):
    """Turns one BGR uint8 image (H x W x 3) into :class:`FrameFeatures`.

    ``encode`` is synchronous and may take tens of milliseconds: callers run it in a worker
    thread. It must be safe to call from one thread at a time (not necessarily several).
    """

    name: str
    embedding_dim: int

    def encode(self, image: np.ndarray) -> FrameFeatures: ...
