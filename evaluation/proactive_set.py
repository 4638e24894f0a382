"""Standing instructions with known true moments, in StreamingBench's Proactive Output format.

Each clip shows three coloured word cards one after another over real footage: a distractor,
then (in random order) the card whose word an instruction waits for and the card whose colour
another instruction waits for. The distractor makes "fire on any new card" wrong, and the
footage's own colours make "fire whenever the colour is dominant" wrong, so a policy has to
tell the awaited event from look-alikes. Two seeds give disjoint training and test sets: the
respond/silent head is trained on one (:mod:`evaluation.head_training`) and both policies are
measured on the other (``bench/proactive.py``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from evaluation.media import cut_frames, write_clip
from evaluation.samples import sample_video
from evaluation.synthetic import COLOURS, WORDS, draw_card, stamp

__all__ = ["ProactiveSet", "build_proactive"]

DURATION = 21
_FOOTAGE = "vtest.avi"  # the only packaged sample longer than a clip (Megamind is 11 s)
_LATEST_START = 58.0
_SLOTS = ((2, 4), (8, 10), (14, 16))  # earliest and latest start of each card, seconds
_SHOWN = 3  # seconds each card stays on screen


@dataclass(frozen=True, slots=True)
class Card:
    word: str
    colour: str
    t0: int
    t1: int


@dataclass(frozen=True, slots=True)
class ProactiveSet:
    """The video folder, the annotation file, and the instruction count."""

    root: Path
    annotations: Path
    instructions: int


def build_proactive(out: Path, clips: int = 6, seed: int = 11) -> ProactiveSet:
    """Write ``clips`` videos under ``out/videos`` and two instructions per clip."""
    rng = random.Random(seed)
    (out / "videos").mkdir(parents=True, exist_ok=True)
    entries = []
    for index in range(clips):
        name = f"proactive_{seed}_{index}"
        start = round(rng.uniform(0.0, _LATEST_START), 1)
        cards, by_word, by_colour = _cards(rng)
        _render(start, cards, out / "videos" / f"{name}.mp4")
        entries.append(
            {
                "time": f"[0:00:00 - 0:00:{DURATION:02d}]",
                "questions": [
                    _instruction(
                        f'the text "{by_word.word}" appears on screen', by_word.word, by_word
                    ),
                    _instruction(
                        f"a {by_colour.colour} card appears on screen",
                        by_colour.colour.upper(),
                        by_colour,
                    ),
                ],
                "video_categories": "synthetic-proactive",
                "video_path": f"./videos/{name}.mp4",
            }
        )
    path = out / f"questions_proactive_seed{seed}.json"
    path.write_text(json.dumps(entries, indent=1))
    return ProactiveSet(out, path, 2 * clips)


def _cards(rng: random.Random) -> tuple[list[Card], Card, Card]:
    """A distractor first, then the word target and the colour target in random order.

    Words and colours are all different, so exactly one card answers each instruction.
    """
    words = rng.sample(WORDS, 3)
    colours = rng.sample(sorted(COLOURS), 3)
    starts = [rng.randint(*slot) for slot in _SLOTS]
    cards = [Card(w, c, t, t + _SHOWN) for w, c, t in zip(words, colours, starts, strict=True)]
    by_word, by_colour = (cards[1], cards[2]) if rng.random() < 0.5 else (cards[2], cards[1])
    return cards, by_word, by_colour


def _instruction(event: str, output: str, card: Card) -> dict[str, Any]:
    return {
        "task_type": "Proactive Output",
        "question": f'When {event}, output "{output}".',
        "time_stamp": stamp(0),
        "ground_truth_time_stamp": stamp(card.t0),
        "ground_truth_output": output,
        "required_ability": "working memory",
    }


def _render(start: float, cards: list[Card], out: Path) -> None:
    """The footage with the cards drawn on it and a silent track; skipped when present."""
    if out.exists():
        return
    source = sample_video(_FOOTAGE)
    with av.open(str(source)) as container:
        fps = float(container.streams.video[0].average_rate or 25)
    frames = _with_cards(cut_frames(source, start, DURATION, fps), cards, fps)
    write_clip(out, frames, fps, np.zeros(DURATION * 16000, dtype=np.float32), 16000, crf=23)


def _with_cards(
    frames: Iterator[np.ndarray], cards: list[Card], fps: float
) -> Iterator[np.ndarray]:
    for index, image in enumerate(frames):
        t = index / fps
        for card in cards:
            if card.t0 <= t < card.t1:
                image = draw_card(image, card.word, COLOURS[card.colour])
        yield image
