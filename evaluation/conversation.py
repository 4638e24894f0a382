"""The scripted conversation of issue 6: three sessions, four voices, cards shown on camera.

Four people speak over pedestrian footage (OpenCV's ``vtest.avi``, scaled to 640x480), with
voices from three synthesizers (espeak-ng, festival, piper; :mod:`evaluation.voices`), all
from the voices ``bench.speakers`` holds out of its tuning. In session 1 each introduces
themselves ("I'm Alice") and then says a fact, and two of them hold up a coloured card with a
word on it while saying "look at this card"; session 2 has the same voices, unnamed, saying
similar facts (a different locker code, a different card) as distractors; session 3 is where
the questions are asked about what a named speaker said or showed in session 1, after Carol
and Bob speak again without giving their names. Each question comes with the expected answer
and the name of the speaker it is about, so that both retrieval and the final answer can be
scored.

Times are derived from the synthesised speech itself: each line starts ``gap`` seconds after
the previous one ends, and a card is on screen from the start of the line that presents it for
:data:`CARD_SECONDS`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from evaluation.media import cut_frames, write_clip
from evaluation.samples import sample_video
from evaluation.voices import say
from runtime.config import VigilConfig
from runtime.session import EventHandler, RunOutcome, run_stream
from runtime.stages import ModelPaths

__all__ = [
    "CARD_SECONDS",
    "QUESTIONS",
    "SESSIONS",
    "VOICES",
    "BuiltSession",
    "Card",
    "Line",
    "Question",
    "Session",
    "Shown",
    "Spoken",
    "asks",
    "build_session",
    "mentions",
    "names",
    "play_sessions",
]

VOICES: dict[str, str] = {
    "Alice": "espeak:en-us+m1",
    "Bob": "festival:ked",
    "Carol": "piper:joe",
    "Sarah": "espeak:en-us+anika",
}
CARD_SECONDS = 3.0
SIZE = (640, 480)
RATE = 16_000
_SPEED = 150 / 160  # a little slower than espeak-ng's default, clearer for Whisper
_SOURCE = "vtest.avi"
_TAIL = 2.0  # seconds of footage after the last line or card

BGR = tuple[int, int, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class Card:
    """A coloured card with a word, held up to the camera."""

    word: str
    colour: BGR


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    """One utterance; ``gap`` is the silence before it, ``card`` what the speaker shows."""

    speaker: str
    text: str
    gap: float = 1.0
    card: Card | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """``lines`` over the footage from ``start`` (seconds of vtest.avi); ``tail`` seconds of
    footage follow the last line (session 3 leaves room there for its questions)."""

    name: str
    start: float
    lines: tuple[Line, ...]
    tail: float = _TAIL


@dataclass(frozen=True, slots=True, kw_only=True)
class Question:
    """A session-3 question about session 1: ``answer`` must appear in what is found or said
    (see :func:`mentions`), and ``speaker`` is who said or showed it. ``live`` questions are
    the ones the end-to-end test asks through the whole graph."""

    text: str
    answer: str
    speaker: str
    kind: Literal["said", "shown"]
    live: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Spoken:
    """A line as it is heard in the built clip (seconds of the clip)."""

    speaker: str
    text: str
    start: float
    end: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Shown:
    """A card as it is seen in the built clip, from ``t0`` up to (not including) ``t1``."""

    speaker: str
    card: Card
    t0: float
    t1: float


@dataclass(frozen=True, slots=True, kw_only=True)
class BuiltSession:
    """A session written by :func:`build_session`, with its ground truth."""

    path: Path
    session: Session
    duration: float
    spoken: tuple[Spoken, ...]
    shown: tuple[Shown, ...]


_YELLOW, _CYAN, _PINK = (0, 220, 255), (230, 220, 0), (200, 120, 255)

SESSIONS: tuple[Session, ...] = (
    Session(
        name="s1",
        start=0.0,
        lines=(
            Line(speaker="Alice", text="Hello, my name is Alice.", gap=0.8),
            Line(speaker="Alice", text="My locker code is 4 1 7.", gap=0.8),
            Line(speaker="Bob", text="Hello, my name is Bob."),
            Line(speaker="Bob", text="I left my bag in the blue room.", gap=0.8),
            Line(speaker="Carol", text="Good morning, this is Carol."),
            Line(speaker="Carol", text="My train leaves at nine.", gap=0.8),
            Line(speaker="Sarah", text="Hello, my name is Sarah."),
            Line(speaker="Sarah", text="The team meeting moved to Friday.", gap=0.8),
            Line(
                speaker="Bob", text="Look at this card.", card=Card(word="PENGUIN", colour=_YELLOW)
            ),
            Line(
                speaker="Carol",
                text="And look at my card.",
                # Plain footage between two cards: perception reads text again only when the
                # picture changes enough, and a card swapped for another in the same place does
                # not (cosine distance 0.06 with the CPU encoder; the threshold is 0.08).
                gap=4.2,
                card=Card(word="VIOLIN", colour=_CYAN),
            ),
        ),
    ),
    Session(
        name="s2",
        start=30.0,
        lines=(
            Line(speaker="Sarah", text="My locker code is 2 5 8.", gap=0.8),
            Line(speaker="Alice", text="The printer on the second floor is broken again."),
            Line(speaker="Bob", text="The coffee machine in the kitchen works now."),
            Line(
                speaker="Sarah", text="And look at my card.", card=Card(word="TIGER", colour=_PINK)
            ),
        ),
    ),
    Session(
        name="s3",
        start=52.0,
        lines=(
            Line(speaker="Alice", text="Good morning, we are all back for the review.", gap=0.8),
            Line(speaker="Carol", text="I printed the slides for everyone."),
            Line(speaker="Bob", text="Then let us start with the budget."),
        ),
        tail=14.0,
    ),
)

QUESTIONS: tuple[Question, ...] = (
    Question(
        text="What did Alice say her locker code was?",
        answer="417",
        speaker="Alice",
        kind="said",
        live=True,
    ),
    Question(
        text="What word was on the card Bob showed?",
        answer="PENGUIN",
        speaker="Bob",
        kind="shown",
        live=True,
    ),
    Question(text="Where did Bob leave his bag?", answer="blue room", speaker="Bob", kind="said"),
    Question(text="When does Carol's train leave?", answer="nine", speaker="Carol", kind="said"),
    Question(
        text="What did Sarah say about the team meeting?",
        answer="Friday",
        speaker="Sarah",
        kind="said",
    ),
    Question(text="What word was on Carol's card?", answer="VIOLIN", speaker="Carol", kind="shown"),
)

ASK_FROM = 2.0
"""Session 3 asks its questions from this many seconds after its last line, one a second."""


def build_session(session: Session, out: str | Path) -> BuiltSession:
    """Write ``session`` as an H.264 + AAC clip at ``out`` and say what is heard and seen when."""
    spoken, track = _speech(session.lines)
    shown = tuple(
        Shown(speaker=line.speaker, card=line.card, t0=said.start, t1=said.start + CARD_SECONDS)
        for line, said in zip(session.lines, spoken, strict=True)
        if line.card is not None
    )
    duration = max([s.end for s in spoken] + [s.t1 for s in shown]) + session.tail
    footage = sample_video(_SOURCE)
    fps = 10.0  # vtest.avi's rate
    frames = _frames(cut_frames(footage, session.start, duration, fps), shown, fps)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = write_clip(out, frames, fps, track, RATE)
    return BuiltSession(
        path=out, session=session, duration=written.duration, spoken=spoken, shown=shown
    )


def asks(built: BuiltSession, questions: Sequence[Question]) -> list[tuple[str, float]]:
    """(question, media time) pairs for ``run_stream``: one a second after the last line."""
    first = max(s.end for s in built.spoken) + ASK_FROM
    if first + len(questions) > built.duration:
        raise ValueError(f"{len(questions)} questions do not fit in session {built.session.name}")
    return [(q.text, first + i) for i, q in enumerate(questions)]


async def play_sessions(
    config: VigilConfig,
    built: Sequence[BuiltSession],
    live: Sequence[Question],
    *,
    paths: ModelPaths | None = None,
    on_event: EventHandler | None = None,
) -> list[RunOutcome]:
    """Play the sessions in order, each as a run of its own (a fresh graph, as after a
    restart) on one camera, with persistent memory in ``config.memory``'s store and tenant and
    the session's name as session id; the last session asks the ``live`` questions.

    Playback is unpaced: the clips are files, and the memory across sessions is what is tested.
    """
    outcomes = []
    for index, session in enumerate(built):
        memory = config.memory.model_copy(
            update={"persistent": True, "session": session.session.name}
        )
        last = index == len(built) - 1
        outcomes.append(
            await run_stream(
                config.model_copy(update={"memory": memory}),
                str(session.path),
                paced=False,
                asks=asks(session, live) if last else (),
                on_event=on_event,
                paths=paths,
            )
        )
    return outcomes


_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_NUMBERS = {word: str(digit) for digit, word in enumerate(_DIGITS)}
_WORD = re.compile(r"[a-z]+")


def _normal(text: str) -> str:
    """Lower case, number words as digits, nothing but letters and digits (no spaces)."""
    text = _WORD.sub(lambda m: _NUMBERS.get(m.group(), m.group()), text.lower())
    return re.sub(r"[^a-z0-9]", "", text)


def mentions(text: str, answer: str) -> bool:
    """Whether ``text`` states ``answer``, however Whisper or the model wrote it: "4 1 7",
    "417", "four one seven" and "4-1-7" all state "417"; "the Blue Room" states "blue room"."""
    return _normal(answer) in _normal(text)


def names(text: str, speaker: str) -> bool:
    """Whether ``text`` names ``speaker`` (as a word: "Bob's" does, "Bobby" does not)."""
    return re.search(rf"\b{re.escape(speaker)}\b", text, re.IGNORECASE) is not None


def _speech(lines: Sequence[Line]) -> tuple[tuple[Spoken, ...], np.ndarray]:
    """The mono track at :data:`RATE` and when each line is heard (leading and trailing
    silence of the synthesizer trimmed, so times are when the voice is)."""
    parts, spoken, cursor = [], [], 0.0
    for line in lines:
        samples = say(line.text, VOICES[line.speaker], sample_rate=RATE, speed=_SPEED)
        loud = np.flatnonzero(np.abs(samples) > 1e-3)
        samples = samples[loud[0] : loud[-1] + 1]
        start = cursor + line.gap
        spoken.append(
            Spoken(
                speaker=line.speaker, text=line.text, start=start, end=start + samples.size / RATE
            )
        )
        parts.append((round(start * RATE), samples))
        cursor = spoken[-1].end
    track = np.zeros(max(begin + s.size for begin, s in parts), np.float32)
    for begin, samples in parts:
        track[begin : begin + samples.size] += samples
    return tuple(spoken), np.clip(track, -1.0, 1.0)


def _frames(
    frames: Iterator[np.ndarray], shown: Sequence[Shown], fps: float
) -> Iterator[np.ndarray]:
    """The footage at :data:`SIZE`, with each card drawn while it is shown."""
    for index, image in enumerate(frames):
        image = cv2.resize(image, SIZE, interpolation=cv2.INTER_AREA)
        t = index / fps
        for held in shown:
            if held.t0 <= t < held.t1:
                _card(image, held.card)
        yield image


def _card(image: np.ndarray, card: Card) -> None:
    """A card held up in the middle of the picture: a coloured board, a white rim, the word
    in large black letters (OCR reads it from one frame)."""
    height, width = image.shape[:2]
    font, scale, thickness = cv2.FONT_HERSHEY_DUPLEX, 1.8, 4
    (tw, th), base = cv2.getTextSize(card.word, font, scale, thickness)
    box_w, box_h = tw + 80, th + base + 80
    x, y = (width - box_w) // 2, (height - box_h) // 2
    cv2.rectangle(image, (x - 6, y - 6), (x + box_w + 6, y + box_h + 6), (255, 255, 255), -1)
    cv2.rectangle(image, (x, y), (x + box_w, y + box_h), card.colour, -1)
    origin = (x + 40, y + 40 + th)
    cv2.putText(image, card.word, origin, font, scale, (0, 0, 0), thickness, cv2.LINE_AA)
