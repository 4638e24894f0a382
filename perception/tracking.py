"""Counting people over time rather than per frame.

A per-frame HOG count flickers: a walker is missed in one frame, a lamp post fires in another,
and on street video the raw count is off by one or two about half the time. People do not
vanish for a second and come back, so the tracker below associates detections from one sampled
frame to the next and counts tracks, not boxes:

- a detection joins the nearest live track whose box is of a similar height and whose centre
  lies within ``reach`` body heights per second of elapsed media time (a walker covers about
  0.8 of their height a second), plus a fixed ``slack``;
- a track counts once it has been seen ``confirm`` times (one stray hit is not a person);
- a track survives ``linger`` media seconds without a detection (one missed frame at 1 Hz)
  before it is dropped.

Greedy nearest-first matching is enough at the densities a street camera shows; a Hungarian
assignment buys nothing measurable there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from perception.encoders.base import Box

__all__ = ["PeopleTracker", "TrackerOptions"]


@dataclass(frozen=True, slots=True)
class TrackerOptions:
    """Association and counting settings, tuned on vtest.avi sampled at 1 Hz."""

    reach: float = 1.0
    slack: float = 0.2
    linger: float = 1.5
    confirm: int = 2
    min_height_ratio: float = 0.6

    def __post_init__(self) -> None:
        if self.reach <= 0 or self.linger < 0 or self.confirm < 1:
            raise ValueError("reach > 0, linger >= 0 and confirm >= 1 are required")
        if not 0 < self.min_height_ratio <= 1:
            raise ValueError("min_height_ratio must be in (0, 1]")


@dataclass(slots=True)
class _Track:
    box: Box
    last_seen: float
    hits: int = 1


class PeopleTracker:
    """Tracks people boxes across sampled frames of one stream; see the module docstring."""

    def __init__(self, options: TrackerOptions | None = None) -> None:
        self.options = options or TrackerOptions()
        self._tracks: list[_Track] = []
        self._seeded = False

    def update(self, media_time: float, boxes: tuple[Box, ...] | list[Box]) -> int:
        """Add one frame's detections; returns how many people are in view now."""
        opts = self.options
        candidates: list[tuple[float, int, int]] = []
        for i, track in enumerate(self._tracks):
            allowed = opts.reach * max(0.0, media_time - track.last_seen) + opts.slack
            for j, box in enumerate(boxes):
                distance = _centre_distance(track.box, box)
                if distance <= allowed and _similar_height(track.box, box, opts.min_height_ratio):
                    candidates.append((distance, i, j))
        candidates.sort()
        taken_tracks: set[int] = set()
        taken_boxes: set[int] = set()
        for _, i, j in candidates:
            if i in taken_tracks or j in taken_boxes:
                continue
            taken_tracks.add(i)
            taken_boxes.add(j)
            track = self._tracks[i]
            track.box, track.last_seen, track.hits = boxes[j], media_time, track.hits + 1
        # The first frame of a stream or scene has no history to confirm against: its
        # detections count at once rather than reading "no people" for a whole sample.
        hits = 1 if self._seeded else opts.confirm
        self._seeded = True
        self._tracks.extend(
            _Track(box, media_time, hits) for j, box in enumerate(boxes) if j not in taken_boxes
        )
        self._tracks = [t for t in self._tracks if media_time - t.last_seen <= opts.linger]
        return self.count

    @property
    def count(self) -> int:
        """Confirmed tracks that are alive."""
        return sum(1 for track in self._tracks if track.hits >= self.options.confirm)

    def reset(self) -> None:
        """Forget every track (after a scene cut, nobody carries over)."""
        self._tracks.clear()
        self._seeded = False


def _centre_distance(a: Box, b: Box) -> float:
    """Distance between box centres, in units of the taller box's height."""
    dx = (a[0] + a[2] / 2) - (b[0] + b[2] / 2)
    dy = (a[1] + a[3] / 2) - (b[1] + b[3] / 2)
    return math.hypot(dx, dy) / max(a[3], b[3], 1)


def _similar_height(a: Box, b: Box, ratio: float) -> bool:
    low, high = sorted((a[3], b[3]))
    return high == 0 or low / high >= ratio
