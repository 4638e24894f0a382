"""Writing a clip: the footage at 640x480 and 10 fps, the elements drawn, the speech mixed in.

Frame ``i`` plays at ``i / 10`` s and an element is drawn on it when ``t0 <= i / 10 < t1``,
so what is on screen at any second is exactly what the timeline says. Full-screen panels are
drawn last (they hide everything, as a cut to a slide does); partial panels first (labels,
signs and cards sit in front of a screen in the scene).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import av
import cv2
import numpy as np

from evaluation.media import cut_frames, write_clip
from evaluation.samples import sample_video
from evaluation.synthetic.drawing import FRAME, draw
from evaluation.synthetic.speech import RATE
from evaluation.synthetic.timeline import FOOTAGE, Clip, Footage, Shown

__all__ = ["FPS", "render_clip"]

FPS = 10.0
_NOISE = 0.001  # faint room noise under the speech: a real stream is never digitally silent


def render_clip(clip: Clip, speech: np.ndarray, path: str, rng: random.Random) -> None:
    """Write ``clip`` with its speech track to ``path`` (H.264 + AAC)."""
    samples = clip.duration * RATE
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0.0, _NOISE, samples)
    audio = noise.astype(np.float32)
    audio[: min(samples, speech.size)] += speech[:samples]
    order = sorted(clip.shown, key=_layer)
    frames = (
        _drawn(image, [s for s in order if s.visible(index / FPS)])
        for index, image in enumerate(_footage(clip.footage, clip.duration))
    )
    write_clip(path, frames, FPS, np.clip(audio, -1.0, 1.0), RATE, crf=23)


def _layer(shown: Shown) -> int:
    if shown.kind == "panel":
        return 3 if shown.full else 0
    return 2 if shown.kind == "card" else 1


def _drawn(image: np.ndarray, shown: list[Shown]) -> np.ndarray:
    for element in shown:
        draw(image, element.text, element.look)
    return image


def _footage(footage: Footage, duration: int) -> Iterator[np.ndarray]:
    """``duration * FPS`` frames of the sample, framed as ``footage`` says."""
    wanted = round(duration * FPS)
    source = sample_video(footage.sample)
    rate, length, _ = FOOTAGE[footage.sample]
    if footage.start + duration <= length:
        raw: Iterator[np.ndarray] = cut_frames(source, footage.start, duration, rate)
        for index, image in enumerate(raw):
            if index % max(1, round(rate / FPS)) == 0:
                yield _frame(image, footage)
        return
    loop = [_frame(image, footage) for image in _sampled(str(source))]
    for index in range(wanted):
        yield loop[index % len(loop)].copy()


def _sampled(path: str) -> Iterator[np.ndarray]:
    """One decoded frame per 1/FPS of a short sample, from its start."""
    with av.open(path) as container:
        due = 0.0
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time + 1e-6 >= due:
                due += 1 / FPS
                yield frame.to_ndarray(format="bgr24")


def _frame(image: np.ndarray, footage: Footage) -> np.ndarray:
    """Cropped to 4:3 at ``zoom`` around the centre, mirrored if asked, scaled to 640x480."""
    h, w = image.shape[:2]
    ch = round(min(h, w * 3 / 4) * footage.zoom)
    cw = round(ch * 4 / 3)
    y, x = (h - ch) // 2, (w - cw) // 2
    image = cv2.resize(image[y : y + ch, x : x + cw], FRAME, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image[:, ::-1]) if footage.mirror else image
