"""What a clip shows and says, and when: the ground truth every question is derived from.

A clip is real footage with, drawn over it, one scene label that stays all along (a shop sign,
an exit: the distractor text that is always in view) and a sequence of events, one at a time
with plain footage between them: corner signs (sometimes with a second plate beside them),
coloured word cards and large colour panels (some full-screen, some with a word). Events
start and end on whole seconds, so a StreamingBench time stamp is exact. The speech track is
planned in :mod:`evaluation.synthetic.speech`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from evaluation.synthetic.drawing import CORNERS, Look, card_look, panel_look, sign_look
from evaluation.synthetic.lexicon import Lexicon, Split
from evaluation.synthetic.speech import Said

__all__ = ["FOOTAGE", "Clip", "Footage", "Shown", "plan_footage", "plan_visuals"]

Kind = Literal["label", "sign", "card", "panel"]

# The packaged footage, its frame rate and the colours the CPU encoder already names on it
# (measured at 1 fps over the whole file): those are never asked about.
FOOTAGE: dict[str, tuple[float, float, frozenset[str]]] = {
    "vtest.avi": (10.0, 79.5, frozenset({"green", "grey", "brown"})),  # pedestrians, a lawn
    "Megamind.avi": (23.976, 11.2, frozenset({"black", "brown", "orange"})),  # a film trailer
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Footage:
    """Which sample plays under the clip: from ``start`` (looped when shorter than the clip),
    mirrored or not, cropped to ``zoom`` of its size around its centre, scaled to 640x480."""

    sample: str
    start: float
    mirror: bool
    zoom: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Shown:
    """One drawn element, on screen from ``t0`` up to (not including) ``t1``.

    ``partner`` marks a plate drawn beside a sign (same times): a distractor, not an event.
    ``full`` marks a full-screen panel, which hides everything else while it is shown.
    """

    kind: Kind
    text: str
    t0: int
    t1: int
    look: Look
    colour: str | None = None
    corner: str | None = None
    partner: bool = False
    full: bool = False

    def visible(self, t: float) -> bool:
        return self.t0 <= t < self.t1


@dataclass(frozen=True, slots=True, kw_only=True)
class Clip:
    """Everything one clip holds; ``palette`` is the colours questions may use (the footage's
    own colours are left out)."""

    name: str
    split: Split
    seed: int
    duration: int
    footage: Footage
    shown: tuple[Shown, ...]
    said: tuple[Said, ...]
    palette: tuple[str, ...]

    @property
    def events(self) -> list[Shown]:
        """Signs, cards and panels in order of appearance (labels and partner plates left out)."""
        return [s for s in self.shown if s.kind != "label" and not s.partner]

    @property
    def label(self) -> Shown:
        return next(s for s in self.shown if s.kind == "label")

    def texts_at(self, t: float) -> list[str]:
        """The texts on screen at ``t`` (a full-screen panel hides the others)."""
        full = [s for s in self.shown if s.full and s.visible(t)]
        return [s.text for s in (full or self.shown) if s.visible(t) and s.text]


def plan_footage(rng: random.Random, duration: int) -> Footage:
    """Pedestrians three times out of four, the trailer (looped) otherwise."""
    if rng.random() < 0.75:
        start = round(rng.uniform(0.0, FOOTAGE["vtest.avi"][1] - duration - 1.0), 1)
        return Footage(
            sample="vtest.avi",
            start=start,
            mirror=rng.random() < 0.5,
            zoom=round(rng.uniform(0.8, 1.0), 2),
        )
    return Footage(sample="Megamind.avi", start=0.0, mirror=rng.random() < 0.5, zoom=1.0)


def plan_visuals(
    rng: random.Random, lexicon: Lexicon, duration: int, palette: list[str]
) -> tuple[Shown, ...]:
    """The scene label and 4-6 events over ``duration`` seconds, each 3-6 s with 1-3 s of
    plain footage between them (a change OCR can see), in random order of kind."""
    label_text = rng.choice(lexicon.scene_labels)
    label_corner = rng.choice(CORNERS)
    shown = [
        Shown(
            kind="label",
            text=label_text,
            t0=0,
            t1=duration,
            corner=label_corner,
            look=sign_look(label_text, label_corner, rng),
        )
    ]
    extra: list[Kind] = ["card", "sign", "panel"]
    kinds: list[Kind] = ["card", "card", "sign", "panel", *rng.choices(extra, k=2)]
    rng.shuffle(kinds)
    words = rng.sample(lexicon.card_words, len(kinds))
    statuses = rng.sample(lexicon.status_words, len(kinds))
    colours = rng.sample(palette, len(palette))
    signs: set[str] = set()
    t = rng.randint(2, 3)
    for index, kind in enumerate(kinds):
        length = rng.randint(3, 5) if kind == "panel" else rng.randint(4, 6)
        if t + length > duration - 2:
            break
        colour = colours[index % len(colours)]
        if kind == "card":
            shown.append(
                Shown(
                    kind="card",
                    text=words[index],
                    t0=t,
                    t1=t + length,
                    colour=colour,
                    look=card_look(words[index], colour, rng),
                )
            )
        elif kind == "panel":
            full = rng.random() < 0.5
            text = statuses[index] if rng.random() < 0.6 else ""
            shown.append(
                Shown(
                    kind="panel",
                    text=text,
                    t0=t,
                    t1=t + length,
                    colour=colour,
                    full=full,
                    look=panel_look(text, colour, rng, full=full),
                )
            )
        else:
            shown.extend(_sign(rng, lexicon, t, t + length, label_text, label_corner, signs))
        t += length + rng.randint(1, 3)
    return tuple(shown)


def _sign(
    rng: random.Random,
    lexicon: Lexicon,
    t0: int,
    t1: int,
    label_text: str,
    label_corner: str,
    used: set[str],
) -> list[Shown]:
    """A corner sign ("GATE 14"), and half the time a second plate beside it."""
    text = label_text
    while text == label_text or text in used:
        text = f"{rng.choice(lexicon.sign_labels)} {rng.choice(lexicon.sign_numbers)}"
    used.add(text)
    corners = [c for c in CORNERS if c != label_corner]
    rng.shuffle(corners)
    made = [
        Shown(
            kind="sign",
            text=text,
            t0=t0,
            t1=t1,
            corner=corners[0],
            look=sign_look(text, corners[0], rng),
        )
    ]
    if rng.random() < 0.5:
        other = rng.choice([w for w in lexicon.scene_labels if w != label_text])
        made.append(
            Shown(
                kind="sign",
                text=other,
                t0=t0,
                t1=t1,
                corner=corners[1],
                partner=True,
                look=sign_look(other, corners[1], rng),
            )
        )
    return made
