"""A frame encoder that needs nothing but OpenCV: people, faces, colours and a small embedding.

No vision model with weights ships in a package that installs offline, so the CPU path is built
from classic detectors: the HOG people detector and the Haar frontal-face cascade that ship
inside OpenCV. The embedding (a colour histogram plus a tiny grey thumbnail) is not semantic;
it is good at one thing, telling whether the picture changed, which is what scene-change
detection and the OCR trigger need.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from perception.encoders.base import Box, FrameFeatures

__all__ = ["CpuEncoderOptions", "CpuFrameEncoder", "colour_names"]


@dataclass(frozen=True, slots=True)
class CpuEncoderOptions:
    """Speed-accuracy settings of :class:`CpuFrameEncoder`, tuned on 768x576 street video.

    People: by default OpenCV's HOG detector trained on the Daimler pedestrians (a 48x96 window,
    so people down to about 70 pixels tall are found without upscaling). OpenCV's default
    64x128 detector (``people_detector="default"``) needs the frame upscaled 1.5x to see the same
    people and then costs about 200 ms a 768x576 frame on one core, against about 115 ms:
    :meth:`accurate` is that preset, slightly closer to a hand count, for machines with room.
    Detection runs on grey (a third of the gradient work), on the frame scaled by
    ``people_upscale`` but at most ``people_max_width`` wide. Hits need an SVM margin of
    ``people_threshold``; overlapping ones are merged by non-maximum suppression at
    ``people_overlap`` IoU, boxes taller than ``people_max_height`` of the frame are dropped, and
    a box that mostly contains a much smaller hit is dropped too (HOG fires at several scales
    around one person).

    Faces: the Haar frontal cascade on a grey copy ``face_height`` pixels high (faces smaller
    than about ``face_min_size / face_height`` of the frame height are missed). With
    ``parallel`` it runs in a second thread while HOG runs (OpenCV releases the GIL), so an
    analysis takes about as long as the slower detector rather than the sum.
    """

    people: bool = True
    people_detector: Literal["daimler", "default"] = "daimler"
    people_upscale: float = 1.0
    people_max_width: int = 800
    people_scale: float = 1.1
    people_stride: int = 8
    people_threshold: float = 0.8
    people_overlap: float = 0.3
    people_max_height: float = 0.6
    faces: bool = True
    face_height: int = 270
    face_scale: float = 1.15
    face_min_size: int = 20
    face_neighbours: int = 5
    parallel: bool = True
    colours: int = 3
    colour_min_share: float = 0.12
    threads: int = 1

    @classmethod
    def accurate(cls) -> CpuEncoderOptions:
        """OpenCV's default people detector on a 1.5x frame: closer counts, about 2x the time."""
        return cls(
            people_detector="default",
            people_upscale=1.5,
            people_max_width=1200,
            people_scale=1.15,
            people_threshold=0.3,
        )


class CpuFrameEncoder:
    """OpenCV HOG people detector, Haar faces, dominant colours and a 228-d embedding."""

    name = "cpu"
    embedding_dim = 8 * 4 + 4 + 16 * 12

    def __init__(self, options: CpuEncoderOptions | None = None) -> None:
        self.options = options or CpuEncoderOptions()
        # OpenCV's own thread pool would fight the other stages for the two cores.
        cv2.setNumThreads(self.options.threads)
        if self.options.people_detector == "default":
            self._hog = cv2.HOGDescriptor()
            self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        else:
            self._hog = cv2.HOGDescriptor((48, 96), (16, 16), (8, 8), (8, 8), 9)
            self._hog.setSVMDetector(cv2.HOGDescriptor_getDaimlerPeopleDetector())
        cascade = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        self._faces = cv2.CascadeClassifier(cascade)
        if self._faces.empty():
            raise RuntimeError(f"cannot load the face cascade {cascade}")
        self._pool: ThreadPoolExecutor | None = None
        if self.options.parallel and self.options.faces and self.options.people:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="vigil-faces")

    def close(self) -> None:
        """Stop the face thread (the encoder still works afterwards, serially)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def encode(self, image: np.ndarray) -> FrameFeatures:
        """Analyse one BGR uint8 frame."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        face_job: Future[tuple[tuple[Box, ...], float]] | None = None
        if self.options.faces and self._pool is not None:
            face_job = self._pool.submit(_timed, self.detect_faces, grey)
        people: tuple[Box, ...] = ()
        if self.options.people:
            people, timings["people"] = _timed(self.detect_people, grey)
        faces: tuple[Box, ...] = ()
        if face_job is not None:
            faces, timings["faces"] = face_job.result()
        elif self.options.faces:
            faces, timings["faces"] = _timed(self.detect_faces, grey)
        t = time.perf_counter()
        small = cv2.resize(image, (64, 48), interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
        colours = colour_names(hsv, self.options.colours, self.options.colour_min_share)
        embedding = _embedding(hsv, grey)
        timings["colour"] = time.perf_counter() - t
        return FrameFeatures(
            people=len(people),
            faces=len(faces),
            colours=colours,
            embedding=embedding,
            people_boxes=people,
            face_boxes=faces,
            seconds=time.perf_counter() - started,
            timings=timings,
        )

    def detect_people(self, grey: np.ndarray) -> tuple[Box, ...]:
        """Upright people in a grey (or BGR) image, as boxes in its own pixels."""
        opts = self.options
        factor = min(opts.people_upscale, opts.people_max_width / grey.shape[1])
        scaled = grey
        if abs(factor - 1.0) > 0.02:
            size = (round(grey.shape[1] * factor), round(grey.shape[0] * factor))
            smooth = cv2.INTER_AREA if factor < 1.0 else cv2.INTER_LINEAR
            scaled = cv2.resize(grey, size, interpolation=smooth)
        window_width, window_height = self._hog.winSize
        if scaled.shape[1] < window_width or scaled.shape[0] < window_height:
            return ()  # no upright person fits the window (and OpenCV crashes on such frames)
        stride = (opts.people_stride, opts.people_stride)
        rects, weights = self._hog.detectMultiScale(
            scaled,
            hitThreshold=0.0,
            winStride=stride,
            padding=(8, 8),
            scale=opts.people_scale,
            groupThreshold=0,
        )
        if len(rects) == 0:
            return ()
        scores = np.asarray(weights, dtype=np.float32).reshape(-1)
        keep = cv2.dnn.NMSBoxes(
            [[int(v) for v in r] for r in rects],
            scores.tolist(),
            opts.people_threshold,
            opts.people_overlap,
        )
        kept = [tuple(int(v) for v in rects[int(i)]) for i in np.asarray(keep).reshape(-1)]
        kept = [b for b in kept if b[3] <= opts.people_max_height * scaled.shape[0]]
        boxes = [
            (round(x / factor), round(y / factor), round(w / factor), round(h / factor))
            for x, y, w, h in _drop_enclosing(kept)
        ]
        return tuple(sorted(boxes))

    def detect_faces(self, grey: np.ndarray) -> tuple[Box, ...]:
        """Frontal faces, as boxes in the original image's pixels."""
        opts = self.options
        factor = min(1.0, opts.face_height / grey.shape[0])
        scaled = grey
        if factor < 0.98:
            size = (round(grey.shape[1] * factor), round(grey.shape[0] * factor))
            scaled = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        scaled = cv2.equalizeHist(scaled)
        found = self._faces.detectMultiScale(
            scaled,
            scaleFactor=opts.face_scale,
            minNeighbors=opts.face_neighbours,
            minSize=(opts.face_min_size, opts.face_min_size),
        )
        boxes = [tuple(round(float(v) / factor) for v in box) for box in found]
        return tuple(sorted(boxes))  # type: ignore[arg-type]


def _timed(
    function: Callable[[np.ndarray], tuple[Box, ...]], image: np.ndarray
) -> tuple[tuple[Box, ...], float]:
    started = time.perf_counter()
    return function(image), time.perf_counter() - started


def _drop_enclosing(boxes: list[Box], cover: float = 0.7, ratio: float = 1.4) -> list[Box]:
    """Drop boxes that mostly contain a hit ``ratio`` times shorter: a person seen twice."""
    kept = []
    for b in boxes:
        for c in boxes:
            if c is b or b[3] <= ratio * c[3]:
                continue
            ix = min(b[0] + b[2], c[0] + c[2]) - max(b[0], c[0])
            iy = min(b[1] + b[3], c[1] + c[3]) - max(b[1], c[1])
            if ix > 0 and iy > 0 and ix * iy > cover * c[2] * c[3]:
                break
        else:
            kept.append(b)
    return kept


# Hue bounds on OpenCV's 0..180 scale, upper bound exclusive.
_HUES = (
    (8, "red"),
    (20, "orange"),
    (33, "yellow"),
    (85, "green"),
    (100, "cyan"),
    (130, "blue"),
    (150, "purple"),
    (170, "pink"),
    (181, "red"),
)


def colour_names(hsv: np.ndarray, top: int = 3, min_share: float = 0.12) -> tuple[str, ...]:
    """Names of the dominant colours of a small HSV image, most common first.

    Plain names (the eleven basic colour terms) because they are what people say and what a
    text-only model can match against a question such as "is anyone in red?".
    """
    labels, counts = np.unique(pixel_colours(hsv), return_counts=True)
    order = np.argsort(-counts, kind="stable")
    total = float(counts.sum())
    return tuple(str(labels[i]) for i in order[:top] if counts[i] / total >= min_share) or (
        str(labels[order[0]]),
    )


def pixel_colours(hsv: np.ndarray) -> np.ndarray:
    """The colour name of every pixel of an HSV image, flattened (strings)."""
    h = hsv[..., 0].reshape(-1).astype(np.int32)
    s = hsv[..., 1].reshape(-1).astype(np.int32)
    v = hsv[..., 2].reshape(-1).astype(np.int32)
    names = np.empty(h.shape, dtype=object)
    hue_names = np.array([name for _, name in _HUES], dtype=object)
    names[:] = hue_names[np.searchsorted([b for b, _ in _HUES], h, side="right")]
    brownish = (h >= 8) & (h < 33) & (v < 150)
    names[brownish] = "brown"
    achromatic = s < 45
    names[achromatic & (v >= 200)] = "white"
    names[achromatic & (v < 200)] = "grey"
    names[v < 50] = "black"
    return names.astype(str)


def _embedding(hsv_small: np.ndarray, grey: np.ndarray) -> np.ndarray:
    """Colour histogram (hue x saturation, value) plus a 16x12 zero-mean grey thumbnail.

    Each part is normalised on its own and weighted so that a change of layout (the thumbnail)
    and a change of palette (the histogram) both move the distance; the whole is L2-normalised.
    """
    hs = cv2.calcHist([hsv_small], [0, 1], None, [8, 4], [0, 180, 0, 256]).reshape(-1)
    val = cv2.calcHist([hsv_small], [2], None, [4], [0, 256]).reshape(-1)
    hist = np.sqrt(np.concatenate([hs, val]))  # Hellinger: a few big bins do not dominate
    hist /= np.linalg.norm(hist) + 1e-9
    thumb = cv2.resize(grey, (16, 12), interpolation=cv2.INTER_AREA).astype(np.float32)
    thumb = thumb.reshape(-1) - thumb.mean()
    # A flat picture's layout says little: below a contrast of about 16 grey levels the part
    # shrinks instead of blowing one small object up to the whole vector.
    thumb /= max(float(np.linalg.norm(thumb)), 16.0 * np.sqrt(thumb.size))
    vector = np.concatenate([0.6 * hist, 0.8 * thumb]).astype(np.float32)
    return vector / (np.linalg.norm(vector) + 1e-9)
