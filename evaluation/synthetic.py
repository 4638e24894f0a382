"""A small benchmark with known ground truth, written in both official formats.

Real footage from the packaged samples (pedestrians in ``vtest.avi``, faces in
``Megamind.avi``) with a coloured card carrying a word drawn at known times and a password
spoken by espeak-ng. The card is large (a fifth of the frame) so that it changes the picture
enough for perception to read it and to report its colour. Each clip yields five OVO-Bench
questions (real-time: OCR, ATR, OJR; backward: EPM twice) and two StreamingBench questions
(real-time Text-Rich Understanding; Proactive Output), so the whole pipeline, scorers
included, runs here where the official videos are absent.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from evaluation.media import cut_frames, speak, write_clip
from evaluation.samples import sample_video

__all__ = ["COLOURS", "WORDS", "SyntheticSet", "build_synthetic", "draw_card", "stamp"]

WORDS = ("HARBOR", "MAPLE", "CASTLE", "RIVER", "TIGER", "PLANET", "GARDEN", "SILVER")
COLOURS = {
    "red": (0, 0, 230), "blue": (230, 60, 0), "yellow": (0, 220, 230), "purple": (200, 0, 140),
}  # fmt: skip
_PASSWORDS = ("orange", "lemon", "cherry", "banana")
_SCENES = {"vtest.avi": "People walking", "Megamind.avi": "A face"}
_OTHER_SCENES = ("An empty road", "A parked car", "A dog running")
_CLIPS = (("vtest.avi", 6.0, 20), ("Megamind.avi", 0.0, 11), ("vtest.avi", 40.0, 20))


@dataclass(frozen=True, slots=True)
class SyntheticSet:
    """Where the set was written: the video folder and one annotation file per format."""

    root: Path
    ovo: Path
    streamingbench: tuple[Path, ...]
    questions: int


@dataclass(frozen=True, slots=True)
class _Plan:
    name: str
    sample: str
    start: float
    duration: int
    first: tuple[str, str, int, int]  # word, colour, t0, t1
    second: tuple[str, str, int, int]
    password: str
    said_at: int


def build_synthetic(out: Path, clips: int = 3, seed: int = 7) -> SyntheticSet:
    """Write ``clips`` videos under ``out/videos`` and their questions in both formats."""
    rng = random.Random(seed)
    plans = [_plan(i, *_CLIPS[i % len(_CLIPS)], rng) for i in range(clips)]
    (out / "videos").mkdir(parents=True, exist_ok=True)
    ovo: list[dict[str, Any]] = []
    real: list[dict[str, Any]] = []
    proactive: list[dict[str, Any]] = []
    for plan in plans:
        _render(plan, out / "videos" / f"{plan.name}.mp4")
        ovo.extend(_ovo_records(plan, len(ovo), rng))
        real.append(_sb_entry(plan, [_sb_text(plan, rng)]))
        proactive.append(_sb_entry(plan, [_sb_proactive(plan)]))
    files = (out / "questions_real_synthetic.json", out / "questions_proactive_synthetic.json")
    for path, data in ((out / "ovo_synthetic.json", ovo), (files[0], real), (files[1], proactive)):
        path.write_text(json.dumps(data, indent=1))
    return SyntheticSet(out, out / "ovo_synthetic.json", files, len(ovo) + 2 * len(plans))


def _plan(index: int, sample: str, start: float, duration: int, rng: random.Random) -> _Plan:
    w1, w2 = rng.sample(WORDS, 2)
    c1, c2 = rng.sample(sorted(COLOURS), 2)
    d = duration
    return _Plan(
        name=f"synth_{index}",
        sample=sample,
        start=start,
        duration=d,
        first=(w1, c1, round(0.1 * d), round(0.3 * d)),
        second=(w2, c2, round(0.6 * d), d),
        password=rng.choice(_PASSWORDS),
        said_at=round(0.35 * d),
    )


def _options(right: str, pool: tuple[str, ...], rng: random.Random) -> tuple[list[str], int]:
    options = [right, *rng.sample([p for p in pool if p != right], 3)]
    rng.shuffle(options)
    return options, options.index(right)


def _ovo_records(plan: _Plan, first_id: int, rng: random.Random) -> list[dict[str, Any]]:
    d, (w1, _, t0, _), (_, c2, s0, _) = plan.duration, plan.first, plan.second
    asks = [
        ("OCR", t0 + 1, "What word is written on the card on screen now?", w1, WORDS),
        ("OJR", round(0.5 * d), "What can be seen in the video now?", _SCENES[plan.sample],
         (*_SCENES.values(), *_OTHER_SCENES)),
        ("EPM", round(0.5 * d), "Which word was written on the card shown earlier?", w1, WORDS),
        ("ATR", s0 + 2, "What colour is the big card on screen now?", c2, tuple(COLOURS)),
        ("EPM", d - 3, "What password did the speaker say earlier?", plan.password, _PASSWORDS),
    ]  # fmt: skip
    records = []
    for offset, (task, at, question, right, pool) in enumerate(asks):
        options, gt = _options(right, pool, rng)
        records.append({
            "id": first_id + offset, "task": task, "video": f"videos/{plan.name}.mp4",
            "realtime": at, "question": question, "answer": right, "options": options, "gt": gt,
        })  # fmt: skip
    return records


def stamp(t: float) -> str:
    t = int(t)
    return f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}"


def _sb_entry(plan: _Plan, questions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "time": f"[0:00:00 - 0:00:{plan.duration:02d}]",
        "questions": questions,
        "video_categories": "synthetic",
        "video_path": f"./videos/{plan.name}.mp4",
    }


def _sb_text(plan: _Plan, rng: random.Random) -> dict[str, Any]:
    word, _, t0, _ = plan.second
    options, gt = _options(word, WORDS, rng)
    return {
        "task_type": "Text-Rich Understanding",
        "question": "What word is written on the card on screen now?",
        "time_stamp": stamp(t0 + 2),
        "answer": "ABCD"[gt],
        "options": [f"{'ABCD'[i]}. {o}" for i, o in enumerate(options)],
        "required_ability": "text-rich understanding",
    }


def _sb_proactive(plan: _Plan) -> dict[str, Any]:
    word, _, t0, _ = plan.second
    return {
        "task_type": "Proactive Output",
        "question": f'When the text "{word}" appears on screen, output "{word}".',
        "time_stamp": stamp(max(0, t0 - 3)),
        "ground_truth_time_stamp": stamp(t0),
        "ground_truth_output": word,
        "required_ability": "working memory",
    }


def _render(plan: _Plan, out: Path, sample_rate: int = 16000) -> None:
    """The footage with the two cards drawn and the password spoken; skipped when present."""
    if out.exists():
        return
    source = sample_video(plan.sample)
    with av.open(str(source)) as container:
        fps = float(container.streams.video[0].average_rate or 25)
    audio = np.zeros(plan.duration * sample_rate, dtype=np.float32)
    voice = speak(f"The password is {plan.password}.", sample_rate=sample_rate)[0]
    begin = plan.said_at * sample_rate
    audio[begin : begin + voice.size] = voice[: audio.size - begin]
    frames = _cards(cut_frames(source, plan.start, plan.duration, fps), plan, fps)
    write_clip(out, frames, fps, audio, sample_rate, crf=23)


def _cards(frames: Iterator[np.ndarray], plan: _Plan, fps: float) -> Iterator[np.ndarray]:
    for index, image in enumerate(frames):
        t = index / fps
        for word, colour, t0, t1 in (plan.first, plan.second):
            if t0 <= t < t1:
                image = draw_card(image, word, COLOURS[colour])
        yield image


def draw_card(image: np.ndarray, word: str, colour: tuple[int, int, int]) -> np.ndarray:
    """A coloured panel over the middle fifth of the frame with ``word`` in large black type."""
    image = image.copy()
    h, w = image.shape[:2]
    x0, y0, x1, y1 = w // 4, int(h * 0.3), 3 * w // 4, int(h * 0.7)
    cv2.rectangle(image, (x0, y0), (x1, y1), colour, -1)
    scale, thick = h / 220, max(2, h // 120)
    (tw, th), _ = cv2.getTextSize(word, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    org = ((x0 + x1 - tw) // 2, (y0 + y1 + th) // 2)
    cv2.putText(image, word, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick + 4)
    cv2.putText(image, word, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick)
    return image
