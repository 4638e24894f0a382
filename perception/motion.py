"""Motion between sampled frames and scene cuts from embedding distance.

Both work on what the video stage already has at one frame per second: motion compares two
small grey thumbnails (cheap, and blind to sensor noise after a blur); scene change compares the
encoder's L2-normalised embeddings, so it works with any encoder. A minimum gap between cuts
stops a flickering picture (a camera pan, a lighting change) from reporting a cut every frame.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["MotionMeter", "SceneChangeDetector", "cosine_distance"]


def cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 - cosine similarity of two L2-normalised vectors (0 same, 1 orthogonal)."""
    return float(1.0 - np.clip(np.dot(a, b), -1.0, 1.0))


class MotionMeter:
    """Share of the picture (0..1) that changed since the previous frame given to it.

    Frames are reduced to a ``width``-pixel-wide blurred grey thumbnail; a pixel counts as
    changed when its grey level moved by more than ``pixel_threshold`` (out of 255). The first
    frame, or one whose size differs from the previous, reports 0.
    """

    def __init__(self, width: int = 160, pixel_threshold: int = 20) -> None:
        self.width = width
        self.pixel_threshold = pixel_threshold
        self._previous: np.ndarray | None = None
        self._changed: np.ndarray | None = None
        self._scale = 1.0

    def update(self, image: np.ndarray) -> float:
        """Motion between the previous image and this one; remembers this one."""
        thumb = self._thumbnail(image)
        self._scale = thumb.shape[1] / image.shape[1]
        previous, self._previous = self._previous, thumb
        if previous is None or previous.shape != thumb.shape:
            self._changed = None
            return 0.0
        self._changed = cv2.absdiff(previous, thumb) > self.pixel_threshold
        return float(np.count_nonzero(self._changed)) / float(self._changed.size)

    def region(self, box: tuple[int, int, int, int]) -> float | None:
        """Motion inside ``box`` (x, y, w, h in image pixels) at the last update, if known."""
        if self._changed is None:
            return None
        x, y, w, h = (round(v * self._scale) for v in box)
        patch = self._changed[max(0, y) : y + max(1, h), max(0, x) : x + max(1, w)]
        return float(patch.mean()) if patch.size else None

    def reset(self) -> None:
        self._previous = None
        self._changed = None

    def _thumbnail(self, image: np.ndarray) -> np.ndarray:
        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        height = max(1, round(grey.shape[0] * self.width / grey.shape[1]))
        small = cv2.resize(grey, (self.width, height), interpolation=cv2.INTER_AREA)
        return cv2.GaussianBlur(small, (5, 5), 0)


class SceneChangeDetector:
    """Flags a cut when the embedding jumps by more than ``threshold`` from the last frame.

    ``min_gap`` (media seconds) is the exclusion window after a cut, as in Dispider's scene
    segmentation: within it, further jumps are not cuts. The first frame is not a cut (there is
    nothing to cut from); :attr:`distance` keeps the last distance for diagnostics.
    """

    def __init__(self, threshold: float = 0.3, min_gap: float = 2.0) -> None:
        self.threshold = threshold
        self.min_gap = min_gap
        self.distance = 0.0
        self._previous: np.ndarray | None = None
        self._last_cut: float | None = None

    def update(self, media_time: float, embedding: np.ndarray) -> bool:
        """Whether the frame at ``media_time`` starts a new scene; remembers its embedding."""
        previous, self._previous = self._previous, embedding
        if previous is None or previous.shape != embedding.shape:
            self.distance = 0.0
            return False
        self.distance = cosine_distance(previous, embedding)
        if self.distance < self.threshold:
            return False
        if self._last_cut is not None and 0 <= media_time - self._last_cut < self.min_gap:
            return False
        self._last_cut = media_time
        return True

    def reset(self) -> None:
        self._previous = None
        self._last_cut = None
        self.distance = 0.0
