"""The video half of perception: sampled frames in, :class:`Observation` items out.

Frames are analysed at ``sample_rate_hz`` by media time. The encoder (tens of milliseconds) runs
in a worker thread so the event loop keeps serving other items. OCR is far slower, so it is a
lane of its own: ``process`` only leaves the latest frame in a one-slot mailbox when the picture
changed, and a background task reads it when it can. Its text is attached to the observations
that follow, so an observation never waits for OCR, and at worst carries text a second or two
late, which is the trade the stream's latency budget asks for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from perception.backdrop import backdrop_shares
from perception.describe import describe
from perception.encoders.base import Box, FrameEncoder, FrameFeatures
from perception.motion import MotionMeter, SceneChangeDetector, cosine_distance
from perception.ocr import TextReader
from perception.sampler import FrameSampler
from perception.tracking import PeopleTracker, TrackerOptions
from vigil.items import Observation, VideoFrame

__all__ = ["VideoOptions", "VideoPerception"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VideoOptions:
    """Settings of the video stage.

    - ``sample_rate_hz``: analysed frames per media second (1 keeps pace on two cores).
    - ``scene_threshold`` / ``scene_min_gap``: cosine distance between consecutive sampled
      embeddings that counts as a cut, and the media seconds after a cut in which no other is.
    - ``ocr_min_interval``: media seconds between two OCR runs at least.
    - ``ocr_change_threshold``: distance from the last frame read that counts as "the picture
      changed" and asks for a new reading (smaller than a cut: a slide change is enough).
    - ``ocr_refresh``: media seconds after which the text is read again even if the picture
      did not change enough (a caption on busy footage barely moves the frame embedding).
    - ``ocr_max_age``: media seconds after which unrefreshed text is dropped from observations.
    - ``settle_ocr``: wait for a reading in flight before analysing the next frame. Live, OCR
      finishes within a sampling interval, so its text reaches the next observation; played
      faster than real time, media time would outrun the reading and text would show up
      seconds late. Set it for unpaced sources so that media timing matches a live run.
    - ``static_people_after``: HOG mistakes some fixed structures (doors, sign posts) for
      people, always at the same place. A detection that sits where one sat before with no
      motion inside (less than ``static_motion`` of its pixels changed) for this many sampled
      frames is not counted. A person standing perfectly still that long is dropped too: set
      None to count every detection (for example with a moving camera this filter does
      nothing anyway, as everything moves).
    - ``tracking``: how detections are followed from frame to frame, so that the count is of
      people in view rather than of one frame's boxes (see :mod:`perception.tracking`).
    """

    sample_rate_hz: float = 1.0
    scene_threshold: float = 0.3
    scene_min_gap: float = 2.0
    ocr_min_interval: float = 2.0
    ocr_change_threshold: float = 0.08
    ocr_refresh: float = 10.0
    ocr_max_age: float = 30.0
    settle_ocr: bool = False
    max_text_lines: int = 8
    static_people_after: int | None = 2
    static_motion: float = 0.02
    tracking: TrackerOptions = field(default_factory=TrackerOptions)

    def __post_init__(self) -> None:
        if not self.sample_rate_hz > 0:
            raise ValueError("sample_rate_hz must be positive")
        if self.ocr_min_interval < 0 or self.scene_min_gap < 0:
            raise ValueError("intervals must not be negative")


class VideoPerception:
    """One stream's video perception: sampler, encoder, motion, scene cuts and the OCR lane."""

    def __init__(
        self,
        encoder: FrameEncoder,
        reader: TextReader | None = None,
        options: VideoOptions | None = None,
    ) -> None:
        self.encoder = encoder
        self.reader = reader
        self.options = options or VideoOptions()
        self.sampler = FrameSampler(self.options.sample_rate_hz)
        self.motion = MotionMeter()
        self.scenes = SceneChangeDetector(self.options.scene_threshold, self.options.scene_min_gap)
        self.ocr_runs = 0
        self.ocr_errors = 0
        self.ocr_seconds = 0.0
        self._pending: tuple[float, np.ndarray, np.ndarray] | None = None
        self._wake = asyncio.Event()
        self._ocr_task: asyncio.Task[None] | None = None
        self.ocr_busy = False
        self._ocr_requested_at: float | None = None
        self._ocr_embedding: np.ndarray | None = None
        self._ocr_idle = asyncio.Event()
        self._ocr_idle.set()
        self._text: tuple[str, ...] = ()
        self._text_sizes: tuple[float, ...] = ()
        self._text_backdrops: tuple[float, ...] = ()
        self._text_time: float | None = None
        self._scene_start = 0.0
        self._static = _StaticFilter(self.options.static_people_after, self.options.static_motion)
        self.tracker = PeopleTracker(self.options.tracking)

    async def start(self) -> None:
        """Load the OCR engine and start its lane."""
        if self.reader is not None and self._ocr_task is None:
            await asyncio.to_thread(self.reader.load)
            self._wake = asyncio.Event()
            self._ocr_task = asyncio.create_task(self._ocr_lane(), name="vigil-ocr")

    def wants(self, media_time: float) -> bool:
        """Whether a frame at ``media_time`` would be analysed (others can be dropped early)."""
        return self.sampler.wants(media_time)

    async def process(self, frame: VideoFrame) -> Observation | None:
        """Analyse ``frame`` if the sampler takes it; None when it is skipped."""
        if not self.sampler.take(frame.media_time):
            return None
        if self.options.settle_ocr:
            await self._ocr_idle.wait()
        features, motion, boxes = await asyncio.to_thread(self._analyse, frame.image)
        t = frame.media_time
        cut = self.scenes.update(t, features.embedding)
        if cut:
            # Text read and people tracked before the cut belong to the old scene.
            self._scene_start = t
            self._text, self._text_sizes, self._text_backdrops = (), (), ()
            self._text_time = None
            self.tracker.reset()
        # An encoder that counts people without giving boxes cannot be tracked.
        people = self.tracker.update(t, boxes) if boxes is not None else features.people
        if self._text_time is not None and t - self._text_time > self.options.ocr_max_age:
            self._text, self._text_sizes, self._text_backdrops = (), (), ()
        self._maybe_request_ocr(t, frame.image, features.embedding, cut)
        text = self._text[: self.options.max_text_lines]
        sizes = self._text_sizes[: self.options.max_text_lines]
        backdrops = self._text_backdrops[: self.options.max_text_lines]
        stamps = dict(frame.stamps)
        stamps["perception"] = time.time()
        return Observation(
            stream_id=frame.stream_id,
            media_time=t,
            stamps=stamps,
            frame_index=frame.index,
            people=people,
            faces=features.faces,
            text=text,
            text_sizes=sizes,
            text_backdrops=backdrops,
            colours=features.colours,
            motion=motion,
            scene_change=cut,
            description=describe(
                people=people,
                faces=features.faces,
                text=text,
                colours=features.colours,
                motion=motion,
                scene_change=cut,
            ),
            embedding=features.embedding,
        )

    async def stop(self) -> None:
        """Stop the OCR lane (a reading in flight finishes in its thread and is discarded)."""
        task, self._ocr_task = self._ocr_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._pending = None
        self._ocr_idle.set()

    @property
    def text(self) -> tuple[str, ...]:
        """The latest on-screen text of the current scene."""
        return self._text

    def _analyse(self, image: np.ndarray) -> tuple[FrameFeatures, float, list[Box] | None]:
        """Features, motion, and the people boxes worth tracking (None: the encoder gave no
        boxes, only a count)."""
        features = self.encoder.encode(image)
        motion = self.motion.update(image)
        if len(features.people_boxes) != features.people:
            return features, motion, None
        return features, motion, self._static.keep(features.people_boxes, self.motion)

    def _maybe_request_ocr(
        self, t: float, image: np.ndarray, embedding: np.ndarray, cut: bool
    ) -> None:
        if self._ocr_task is None:
            return
        last = self._ocr_requested_at
        if last is not None and 0 <= t - last < self.options.ocr_min_interval and not cut:
            return
        changed = (
            cut
            or self._ocr_embedding is None
            or cosine_distance(self._ocr_embedding, embedding) >= self.options.ocr_change_threshold
            or (last is not None and t - last >= self.options.ocr_refresh)
        )
        if not changed:
            return
        self._pending = (t, image, embedding)  # one slot: a newer frame replaces an older one
        self._ocr_requested_at = t
        self._ocr_embedding = embedding  # "changed" is measured from the last frame sent
        self._ocr_idle.clear()
        self._wake.set()

    async def _ocr_lane(self) -> None:
        assert self.reader is not None
        reader = self.reader
        while True:
            await self._wake.wait()
            self._wake.clear()
            job, self._pending = self._pending, None
            if job is None:
                self._ocr_idle.set()
                continue
            t, image, _ = job
            self.ocr_busy = True
            try:
                lines = await asyncio.to_thread(reader.read, image)
                backdrops = await asyncio.to_thread(
                    backdrop_shares, image, [line.box for line in lines]
                )
            except Exception:  # a bad frame must not end the lane for the whole stream
                self.ocr_errors += 1
                _log.exception("OCR failed at media time %.2f", t)
                continue
            finally:
                self.ocr_busy = False
                if self._pending is None:
                    self._ocr_idle.set()
            self.ocr_runs += 1
            self.ocr_seconds += reader.last_seconds
            if t >= self._scene_start:  # not read from a scene that has since been cut away
                self._text = tuple(line.text for line in lines)
                self._text_sizes = tuple(
                    round(line.box[3] / max(1, image.shape[0]), 3) for line in lines
                )
                self._text_backdrops = backdrops
                self._text_time = t


class _StaticFilter:
    """Remembers still detections by place; see ``VideoOptions.static_people_after``."""

    def __init__(self, after: int | None, still: float, forget: int = 10) -> None:
        self.after = after
        self.still = still
        self.forget = forget  # sampled frames after which an unseen place is forgotten
        self._tick = 0
        self._places: list[tuple[Box, int, int]] = []  # box, still streak, tick last seen

    def keep(self, boxes: tuple[Box, ...], motion: MotionMeter) -> list[Box]:
        """The ``boxes`` to count as people."""
        self._tick += 1
        if self.after is None:
            return list(boxes)
        kept: list[Box] = []
        places: list[tuple[Box, int, int]] = []
        matched: set[int] = set()
        for box in boxes:
            region = motion.region(box)
            still = region is not None and region < self.still
            best = max(
                range(len(self._places)),
                key=lambda i: _iou(box, self._places[i][0]),
                default=None,
            )
            streak = 0
            if best is not None and _iou(box, self._places[best][0]) >= 0.6:
                matched.add(best)
                streak = self._places[best][1]
            streak = streak + 1 if still else 0
            places.append((box, streak, self._tick))
            if streak < self.after:
                kept.append(box)
        for i, place in enumerate(self._places):
            if i not in matched and self._tick - place[2] < self.forget:
                places.append(place)
        self._places = places
        return kept


def _iou(a: Box, b: Box) -> float:
    ix = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    iy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter)
