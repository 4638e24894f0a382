"""The demo clip of the README's first command, and the clip builder behind it.

The demo is real footage (OpenCV's ``vtest.avi``: pedestrians crossing a campus, 768x576 at
10 fps, 79.5 s, from Debian's ``opencv-doc`` package) with a question spoken by espeak-ng at a
known time, so that a first run shows the whole loop: see, hear the question, answer.

The ground truth was counted by eye (:data:`VTEST_PEOPLE`). Early on two people stand talking
by the sign, so "walking" would be ambiguous; from 17.5 to 21.0 s of the footage exactly seven
people are in view and all of them walk. The demo therefore cuts 6-26 s and asks at 12 s of
the clip (18 s of the footage), so the question ends inside that span; the answer is 7.

:func:`build_clip` is the general tool: cut a span of any video, mix speech in at known times,
draw text overlays at known times. Its output is reused when the parameters match (a JSON
sidecar records them), so tests and benchmark generators may call it freely.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from evaluation.media import cut_frames, speak, write_clip
from evaluation.samples import sample_video
from vigil.errors import MediaError

__all__ = [
    "VTEST_PEOPLE",
    "BuiltClip",
    "DemoClip",
    "Overlay",
    "Speech",
    "build_clip",
    "build_demo_clip",
    "clip_info",
]

_SIDECAR_VERSION = 2
_SILENCE = 1e-3  # speech is trimmed to where |sample| first and last exceeds this

VTEST_PEOPLE: tuple[tuple[float, int, int], ...] = (
    # (second of vtest.avi, people clearly in view, of whom walking), counted by eye
    (8.0, 7, 5),
    (10.0, 7, 5),
    (12.0, 8, 6),
    (14.0, 9, 7),
    (17.0, 8, 8),
    (17.5, 7, 7),
    (18.0, 7, 7),
    (18.5, 7, 7),
    (19.0, 7, 7),
    (20.0, 7, 7),
    (20.5, 7, 7),
    (21.0, 7, 7),  # one of them half out of the frame on the right
    (21.5, 6, 6),  # someone is crossing the right edge
    (22.0, 7, 7),
    (23.0, 7, 7),
    (24.0, 7, 7),
    (25.0, 7, 7),
    (26.0, 7, 7),
)
_STEADY = (17.5, 21.0, 7)  # seconds of vtest.avi over which exactly 7 people walk, none stand


@dataclass(frozen=True, slots=True, kw_only=True)
class Speech:
    """Speech in a built clip: ``start`` and ``end`` are when the voice is actually heard."""

    text: str
    start: float
    end: float
    voice: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Overlay:
    """Text drawn on the frames shown from ``t0`` up to (not including) ``t1``.

    ``position`` is one of top, bottom, center, top-left, top-right, bottom-left, bottom-right.
    """

    text: str
    t0: float
    t1: float
    position: str = "top"


@dataclass(frozen=True, slots=True, kw_only=True)
class BuiltClip:
    """What :func:`build_clip` made, read back from its sidecar by :func:`clip_info`."""

    path: Path
    duration: float
    fps: float
    width: int
    height: int
    sample_rate: int
    speech: tuple[Speech, ...]
    overlays: tuple[Overlay, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoClip:
    """The demo clip and its ground truth; all times are seconds of the clip.

    ``people_walking`` is the right answer to the default question over ``steady`` (None when
    a custom cut puts the question outside the span that was counted).
    """

    path: Path
    question: str
    question_start: float
    question_end: float
    duration: float
    source_start: float
    people_walking: int | None
    steady: tuple[float, float] | None


def build_demo_clip(
    out_path: str | Path,
    *,
    start: float = 6.0,
    duration: float = 20.0,
    question: str = "How many people are walking?",
    question_at: float = 12.0,
    voice: str = "en-us",
) -> DemoClip:
    """``duration`` s of vtest.avi from ``start``, with ``question`` spoken at ``question_at``.

    Encoded at high quality (CRF 18): the two people furthest away are about 45 pixels tall,
    and at the default CRF 28 their outlines blur into one detection.
    """
    path = build_clip(
        sample_video("vtest.avi"), out_path, start=start, duration=duration,
        speech=[(question, question_at)], voice=voice, crf=18,
    )  # fmt: skip
    clip = clip_info(path)
    spoken = clip.speech[0]
    t0, t1, count = _STEADY
    steady = (max(0.0, t0 - start), min(duration, t1 - start))
    asked = t0 <= start + spoken.end <= t1
    return DemoClip(
        path=clip.path,
        question=question,
        question_start=spoken.start,
        question_end=spoken.end,
        duration=clip.duration,
        source_start=start,
        people_walking=count if asked else None,
        steady=steady if asked else None,
    )


def build_clip(
    video_path: str | Path,
    out_path: str | Path,
    *,
    start: float = 0.0,
    duration: float,
    speech: Sequence[tuple[str, float]] = (),
    overlays: Sequence[Overlay] = (),
    voice: str = "en-us",
    sample_rate: int = 16000,
    crf: int = 28,
) -> Path:
    """Cut ``duration`` s from ``start`` of a video; add speech and on-screen text at known times.

    ``speech`` items are (text, seconds): the voice is first heard exactly then (espeak-ng's
    leading silence is trimmed). Times are seconds of the new clip, whose audio track is mono
    silence plus the speech. :func:`clip_info` tells when each utterance ends.
    """
    source, out = Path(video_path), Path(out_path)
    marks = tuple(overlays)
    for mark in marks:
        if mark.position not in _ANCHORS:
            raise ValueError(
                f"unknown overlay position {mark.position!r}; use one of {sorted(_ANCHORS)}"
            )
    stat = source.stat()
    params = {
        "version": _SIDECAR_VERSION,
        "source": [str(source.resolve()), stat.st_size, stat.st_mtime_ns],
        "start": start,
        "duration": duration,
        "speech": [[text, at] for text, at in speech],
        "overlays": [asdict(mark) for mark in marks],
        "voice": voice,
        "sample_rate": sample_rate,
        "crf": crf,
    }
    sidecar = _sidecar(out)
    if out.exists() and sidecar.exists():
        with contextlib.suppress(ValueError, KeyError):
            if json.loads(sidecar.read_text())["params"] == params:
                return out
    track = np.zeros(round(duration * sample_rate), dtype=np.float32)
    spoken = []
    for text, at in speech:
        samples = _trim(speak(text, voice, sample_rate=sample_rate)[0])
        begin = round(at * sample_rate)
        if begin < 0 or begin + samples.size > track.size:
            raise ValueError(f"speech {text!r} at {at} s does not fit in {duration} s")
        track[begin : begin + samples.size] += samples
        spoken.append(Speech(text=text, start=at, end=at + samples.size / sample_rate, voice=voice))
    np.clip(track, -1.0, 1.0, out=track)
    fps = _fps(source)
    frames = _draw(cut_frames(source, start, duration, fps), marks, fps)
    out.parent.mkdir(parents=True, exist_ok=True)
    sidecar.unlink(missing_ok=True)  # a crash while writing must not leave a "valid" pair
    written = write_clip(out, frames, fps, track, sample_rate, crf=crf)
    clip = BuiltClip(
        path=out,
        duration=written.duration,
        fps=written.fps,
        width=written.width,
        height=written.height,
        sample_rate=sample_rate,
        speech=tuple(spoken),
        overlays=marks,
    )
    record = {k: v for k, v in asdict(clip).items() if k != "path"}
    sidecar.write_text(json.dumps({"params": params, "clip": record}, indent=2))
    return out


def clip_info(path: str | Path) -> BuiltClip:
    """What :func:`build_clip` wrote at ``path`` (durations, speech times), from its sidecar."""
    path = Path(path)
    try:
        fields = dict(json.loads(_sidecar(path).read_text())["clip"])
    except (OSError, ValueError, KeyError) as exc:
        raise MediaError(f"{path} has no readable build_clip sidecar: {exc}") from exc
    fields["speech"] = tuple(Speech(**s) for s in fields["speech"])
    fields["overlays"] = tuple(Overlay(**o) for o in fields["overlays"])
    return BuiltClip(path=path, **fields)


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _trim(samples: np.ndarray) -> np.ndarray:
    loud = np.flatnonzero(np.abs(samples) > _SILENCE)
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples[:0]


def _fps(source: Path) -> float:
    with av.open(str(source)) as container:
        if not container.streams.video:
            raise MediaError(f"{source} has no video stream")
        rate = container.streams.video[0].average_rate
    return float(rate) if rate else 25.0


_ANCHORS = {
    "top": (0.5, 0.0),
    "bottom": (0.5, 1.0),
    "center": (0.5, 0.5),
    "top-left": (0.0, 0.0),
    "top-right": (1.0, 0.0),
    "bottom-left": (0.0, 1.0),
    "bottom-right": (1.0, 1.0),
}


def _draw(
    frames: Iterator[np.ndarray], marks: tuple[Overlay, ...], fps: float
) -> Iterator[np.ndarray]:
    """Draw each overlay on the frames shown from its t0 up to (not including) its t1."""
    for index, image in enumerate(frames):
        t = index / fps
        for mark in marks:
            if mark.t0 <= t < mark.t1:
                image = _text(image, mark.text, mark.position)
        yield image


def _text(image: np.ndarray, text: str, position: str) -> np.ndarray:
    """White text on a black box, large enough for OCR; ``position`` picks the anchor."""
    image = image.copy()
    height, width = image.shape[:2]
    scale, thickness, pad = max(0.6, height / 480), max(2, height // 240), max(6, height // 60)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    box_w, box_h = tw + 2 * pad, th + base + 2 * pad
    ax, ay = _ANCHORS[position]
    x = int(pad + ax * (width - box_w - 2 * pad))  # a margin of ``pad`` on every side
    y = int(pad + ay * (height - box_h - 2 * pad))
    cv2.rectangle(image, (x, y), (x + box_w, y + box_h), (0, 0, 0), -1)
    cv2.putText(
        image, text, (x + pad, y + pad + th), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255),
        thickness, cv2.LINE_AA,
    )  # fmt: skip
    return image
