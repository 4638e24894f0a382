"""Multiple-choice questions derived from a clip's timeline, each at one whole second.

Every generator checks that its answer follows from what is on screen or has been said by the
question's second, and nothing else: a "now" question is asked at least 2 s after its element
appeared (so one sampled frame at 1 fps has seen it settle) and while it is still shown; a
count is asked where nothing new to count appeared in the last 2 s; a speaker count where
nobody is halfway through their first line. Options hold the answer once, with the look-alike
the question is about: the other text in view, the other speaker's value, the earlier card.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from evaluation.synthetic.lexicon import LEXICONS, Split
from evaluation.synthetic.phrasings import phrasings
from evaluation.synthetic.speech import Said
from evaluation.synthetic.timeline import Clip, Shown

__all__ = ["GENERATORS", "Item", "Picker", "article", "shuffled"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    """A question (``options``, ``answer`` index) or a standing instruction (``due`` second,
    ``output``), with the kind and phrasing index it was made from."""

    kind: str
    at: int
    text: str
    phrasing: int
    options: tuple[str, ...] = ()
    answer: int | None = None
    due: int | None = None
    output: str | None = None


@dataclass(slots=True)
class Picker:
    """The clip being asked about, its random source, the seconds already taken and what
    standing instructions already wait for (two instructions never await the same thing)."""

    clip: Clip
    rng: random.Random
    taken: set[int] = field(default_factory=set)
    awaited: set[str] = field(default_factory=set)

    @property
    def split(self) -> Split:
        return self.clip.split

    def second(self, lo: float, hi: float) -> int | None:
        """A free whole second in [lo, hi] (and inside the clip), taken; None if none is."""
        free = [
            t
            for t in range(math.ceil(lo), math.floor(hi) + 1)
            if 1 <= t <= self.clip.duration - 1 and t not in self.taken
        ]
        if not free:
            return None
        at = self.rng.choice(free)
        self.taken.add(at)
        return at

    def phrase(self, kind: str, **fields: str) -> tuple[str, int]:
        pool = phrasings(kind, self.split)
        index = self.rng.randrange(len(pool))
        return pool[index].format(**fields), index

    def ask(
        self,
        kind: str,
        at: int,
        fields: dict[str, str],
        right: str,
        lures: Iterable[str | None],
        pool: Iterable[str],
        keep: int = 2,
    ) -> Item:
        """Four options: ``right``, the first ``keep`` distinct ``lures``, then from ``pool``."""
        options = [right]
        for lure in lures:
            if lure and lure not in options and len(options) < 1 + keep:
                options.append(lure)
        rest = [p for p in dict.fromkeys(pool) if p not in options]
        options += self.rng.sample(rest, 4 - len(options))
        self.rng.shuffle(options)
        text, index = self.phrase(kind, **fields)
        return Item(
            kind=kind,
            at=at,
            text=text,
            phrasing=index,
            options=tuple(options),
            answer=options.index(right),
        )


def article(noun: str) -> str:
    return "an" if noun[0] in "aeiou" else "a"


def shuffled(rng: random.Random, items: list[T]) -> list[T]:
    return rng.sample(items, len(items))


def _of(clip: Clip, kind: str) -> list[Shown]:
    return [s for s in clip.events if s.kind == kind]


def sign_text(p: Picker) -> Item | None:
    lex = LEXICONS[p.split]
    for sign in shuffled(p.rng, _of(p.clip, "sign")):
        at = p.second(sign.t0 + 2, sign.t1 - 1)
        if at is None:
            continue
        label, number = sign.text.rsplit(" ", 1)
        beside = [t for t in p.clip.texts_at(at) if t != sign.text]
        swapped = f"{label} {number[::-1]}" if number[-1] != "0" else None
        pool = [f"{label} {n}" for n in lex.sign_numbers]
        lures = [
            p.rng.choice(beside) if beside else None,
            swapped if swapped != sign.text else None,
        ]
        return p.ask("sign_text", at, {"noun": label.lower()}, sign.text, lures, pool)
    return None


def card_text(p: Picker) -> Item | None:
    cards = _of(p.clip, "card")
    for card in shuffled(p.rng, cards):
        at = p.second(card.t0 + 2, card.t1 - 1)
        if at is None:
            continue
        beside = [t for t in p.clip.texts_at(at) if t != card.text]
        earlier = [c.text for c in cards if c.t1 <= card.t0][-1:]
        lures = [p.rng.choice(beside) if beside else None, *earlier]
        return p.ask("card_text", at, {}, card.text, lures, LEXICONS[p.split].card_words)
    return None


def _colour_before(clip: Clip, element: Shown) -> str | None:
    before = [e.colour for e in clip.events if e.t1 <= element.t0 and e.colour]
    return before[-1] if before else None


def screen_colour(p: Picker) -> Item | None:
    for panel in shuffled(p.rng, _of(p.clip, "panel")):
        at = p.second(panel.t0 + 1, panel.t1 - 1)
        if at is not None and panel.colour:
            lures = [_colour_before(p.clip, panel)]
            return p.ask("screen_colour", at, {}, panel.colour, lures, p.clip.palette)
    return None


def card_colour(p: Picker) -> Item | None:
    for card in shuffled(p.rng, _of(p.clip, "card")):
        at = p.second(card.t0 + 2, card.t1 - 1)
        if at is not None and card.colour:
            lures = [_colour_before(p.clip, card)]
            fields = {"word": card.text}
            return p.ask("card_colour", at, fields, card.colour, lures, p.clip.palette)
    return None


def shown_earlier(p: Picker) -> Item | None:
    cards = _of(p.clip, "card")
    for index, card in shuffled(p.rng, list(enumerate(cards))):
        after = cards[index + 1].t0 - 1 if index + 1 < len(cards) else p.clip.duration
        at = p.second(card.t1 + 2, min(after, card.t1 + 12))
        if at is None:
            continue
        lures = [*[c.text for c in cards[:index]][-1:], p.clip.label.text]
        return p.ask("shown_earlier", at, {}, card.text, lures, LEXICONS[p.split].card_words)
    return None


_VALUE = {"room": "Room {}", "item": "the {}", "time": "{} o'clock"}


def _facts(clip: Clip, kind: str) -> list[Said]:
    return [s for s in clip.said if s.fact is not None and s.fact.kind == kind]


def _said(kind: str, fact_kind: str) -> Callable[[Picker], Item | None]:
    """What a named speaker said (a room, a place, a time), the other speaker's value a lure."""

    def make(p: Picker) -> Item | None:
        lex = LEXICONS[p.split]
        facts = _facts(p.clip, fact_kind)
        for line in shuffled(p.rng, facts):
            assert line.fact is not None
            others = [f for f in facts if f is not line]
            at = p.second(max(f.end for f in facts) + 1, p.clip.duration - 1)
            if at is None:
                continue
            show = _VALUE[fact_kind].format
            values = {"room": lex.rooms, "item": lex.places, "time": lex.hours}[fact_kind]
            subject = line.fact.subject
            fields = {
                "name": line.speaker,
                "topic": subject,
                "item": subject,
                "vehicle": subject,
                "a": article(subject),
            }
            lures = [show(o.fact.value) for o in others if o.fact]
            return p.ask(kind, at, fields, show(line.fact.value), lures, map(show, values))
        return None

    return make


def who_said(p: Picker) -> Item | None:
    """Who mentioned a subject only one line of the whole clip mentions."""
    lines = p.clip.said
    for line in shuffled(p.rng, [s for s in lines if s.fact]):
        assert line.fact is not None
        word = re.compile(rf"\b{re.escape(line.fact.subject)}\b", re.IGNORECASE)
        if sum(bool(word.search(s.text)) for s in lines) != 1:
            continue
        at = p.second(line.end + 1, p.clip.duration - 1)
        if at is None:
            continue
        heard = [s.speaker for s in lines if s.intro and s.end <= at]
        absent = [n for n, _ in LEXICONS[p.split].names if n not in heard]
        lures = p.rng.sample(heard, len(heard))
        fields = {"thing": f"the {line.fact.subject}"}
        return p.ask("who_said", at, fields, line.speaker, lures, absent)
    return None


def _numbers(p: Picker, kind: str, at: int, count: int) -> Item:
    near = [count - 1, count + 1, count + 2, count - 2, count + 3]
    return p.ask(kind, at, {}, str(count), [str(n) for n in near if n >= 0], map(str, range(9)))


def count_cards(p: Picker) -> Item | None:
    starts = [c.t0 for c in _of(p.clip, "card")]
    valid = [
        t
        for t in range(3, p.clip.duration)
        if t not in p.taken
        and not any(t - 2 < s <= t for s in starts)
        and any(s <= t - 2 for s in starts)
    ]
    if not valid:
        return None
    at = p.rng.choice(valid)
    p.taken.add(at)
    return _numbers(p, "count_cards", at, sum(s <= at - 2 for s in starts))


def count_speakers(p: Picker) -> Item | None:
    first: dict[str, Said] = {}
    for line in p.clip.said:
        first.setdefault(line.speaker, line)
    valid = [
        t
        for t in range(3, p.clip.duration)
        if t not in p.taken
        and all(f.end <= t - 1 or f.start > t for f in first.values())
        and any(f.end <= t - 1 for f in first.values())
    ]
    if not valid:
        return None
    at = p.rng.choice(valid)
    p.taken.add(at)
    return _numbers(p, "count_speakers", at, sum(f.end <= at - 1 for f in first.values()))


def _texted(clip: Clip) -> list[Shown]:
    return [e for e in clip.events if e.text]


def _unseen(clip: Clip) -> list[str]:
    shown = {s.text for s in clip.shown}
    return [w for w in LEXICONS[clip.split].card_words if w not in shown]


def order_first(p: Picker) -> Item | None:
    events = _texted(p.clip)
    if len(events) < 3:
        return None
    at = p.second(events[2].t0 + 2, p.clip.duration - 1)
    if at is None:
        return None
    seen = [e.text for e in events if e.t0 <= at - 2]
    chosen = p.rng.sample(seen, min(4, len(seen)))
    right = next(t for t in seen if t in chosen)
    lures = [c for c in chosen if c != right]
    return p.ask("order_first", at, {}, right, lures, _unseen(p.clip), keep=3)


def order_next(p: Picker) -> Item | None:
    events = p.clip.events
    pairs = [(i, e) for i, e in enumerate(events[:-1]) if e.text and events[i + 1].text]
    for index, before in p.rng.sample(pairs, len(pairs)):
        following = events[index + 1]
        at = p.second(following.t0 + 2, p.clip.duration - 1)
        if at is None:
            continue
        others = [e.text for e in events if e.text and e.t0 <= at - 2]
        lures = [t for t in others if t not in (before.text, following.text)]
        fields = {"text": before.text}
        return p.ask("order_next", at, fields, following.text, lures, _unseen(p.clip))
    return None


GENERATORS: dict[str, Callable[[Picker], Item | None]] = {
    "sign_text": sign_text,
    "card_text": card_text,
    "screen_colour": screen_colour,
    "card_colour": card_colour,
    "shown_earlier": shown_earlier,
    "said_room": _said("said_room", "room"),
    "said_place": _said("said_place", "item"),
    "said_time": _said("said_time", "time"),
    "who_said": who_said,
    "count_cards": count_cards,
    "count_speakers": count_speakers,
    "order_first": order_first,
    "order_next": order_next,
}
