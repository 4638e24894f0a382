"""The conversation of a clip: 2-4 named speakers on different synthesizers, and its track.

Each speaker introduces themselves ("Hi, I'm Carlos") before saying anything else. Facts come
in pairs of the same kind by two different speakers (two rooms, two forgotten items, two
departure times), so that "what did Carlos say" has a wrong answer someone else did say, and
a standing instruction about one item hears the other item first. A few fillers ("Thanks,
Maria.") name someone without being said by them.

Times come from the synthesised audio itself: a line starts ``gap`` seconds after the previous
one ends (leading and trailing silence trimmed). When the fact's subject word starts is the
length of the line's own beginning ("I left my ") spoken alone by the same voice at the same
speed: synthesizers say a prefix at the pace they say it inside the sentence, give or take the
last syllable's lengthening. Against Whisper's word times on all eight voices it was within
0.22 s (0.08 s on average), well inside the second a StreamingBench time stamp resolves.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

import numpy as np

from evaluation.media import resample
from evaluation.synthetic.lexicon import Lexicon
from evaluation.voices import _piper_voice, say

__all__ = ["RATE", "VOICES", "Fact", "Said", "Speaker", "plan_speech", "synthesise"]

RATE = 16_000
# (voice, gender): espeak-ng variants, festival's HTS and diphone voices, piper's neural voice.
VOICES: tuple[tuple[str, str], ...] = (
    ("espeak:en-us+f3", "F"),
    ("espeak:en-us+m3", "M"),
    ("espeak:en-us+f2", "F"),
    ("espeak:en-us+klatt4", "M"),
    ("festival:slt", "F"),
    ("festival:kal", "M"),
    ("festival:ked", "M"),
    ("piper:joe", "M"),
)
FactKind = Literal["room", "item", "time"]
_LONGEST = 40.0  # seconds: the last line ends by then, so clips stay within 45 s
_PAD = 0.03  # seconds kept before and after a line's voice


@dataclass(frozen=True, slots=True, kw_only=True)
class Fact:
    """``subject`` (a topic, an item, a vehicle) and its ``value`` (a room, a place, an hour)."""

    kind: FactKind
    subject: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Speaker:
    name: str
    voice: str


@dataclass(frozen=True, slots=True, kw_only=True)
class _Line:
    speaker: Speaker
    text: str
    intro: bool = False
    fact: Fact | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Said:
    """A line as heard in the clip (seconds); ``subject_at`` is when the fact's subject word
    starts being spoken."""

    speaker: str
    voice: str
    text: str
    start: float
    end: float
    intro: bool = False
    fact: Fact | None = None
    subject_at: float | None = None


def plan_speech(rng: random.Random, lexicon: Lexicon) -> list[_Line]:
    """The lines of one conversation, in the order they are said."""
    count = rng.choice((2, 3, 3, 4))
    speakers = _cast(rng, lexicon, count)
    kinds: list[FactKind] = ["item", rng.choice(["room", "time"])]
    if count <= 3 and rng.random() < 0.3:
        kinds.append("time" if "room" in kinds else "room")
    queues: dict[str, list[_Line]] = {
        s.name: [_Line(speaker=s, text=rng.choice(lexicon.intros).format(name=s.name), intro=True)]
        for s in speakers
    }
    for kind in kinds:
        for speaker, fact in zip(rng.sample(speakers, 2), _pair(rng, lexicon, kind), strict=True):
            queues[speaker.name].append(
                _Line(speaker=speaker, text=_sentence(rng, lexicon, fact), fact=fact)
            )
    lines: list[_Line] = []
    while any(queues.values()):
        names = [n for n, q in queues.items() if q]
        name = rng.choices(names, weights=[len(queues[n]) for n in names])[0]
        lines.append(queues[name].pop(0))
    for _ in range(rng.randint(0, 2)):
        at = rng.randint(2, len(lines))
        heard = {line.speaker.name: line.speaker for line in lines[:at]}
        previous = lines[at - 1].speaker
        others = [s for n, s in heard.items() if n != previous.name]
        if others:
            filler = rng.choice(lexicon.fillers).format(other=previous.name)
            lines.insert(at, _Line(speaker=rng.choice(others), text=filler))
    return lines


def _cast(rng: random.Random, lexicon: Lexicon, count: int) -> list[Speaker]:
    """``count`` speakers on voices of as many different engines as possible, each with a name
    of the voice's gender. Festival's two diphone voices sound alike: at most one per clip."""
    engines = rng.sample(["espeak", "festival", "piper"], 3)
    chosen: list[tuple[str, str]] = []
    for index in range(count):
        engine = engines[index % 3]
        left = [v for v in VOICES if v[0].startswith(engine) and v not in chosen]
        if engine == "festival" and any(v[0] in ("festival:kal", "festival:ked") for v in chosen):
            left = [v for v in left if v[0] == "festival:slt"]
        if not left:
            left = [v for v in VOICES if v[0].startswith("espeak") and v not in chosen]
        chosen.append(rng.choice(left))
    names = list(lexicon.names)
    rng.shuffle(names)
    speakers = []
    for voice, gender in chosen:
        name = next(n for n, g in names if g == gender)
        names.remove((name, gender))
        speakers.append(Speaker(name=name, voice=voice))
    return speakers


def _pair(rng: random.Random, lexicon: Lexicon, kind: FactKind) -> list[Fact]:
    """Two facts of ``kind`` with different values (rooms and departures may share a subject,
    so that only the speaker tells them apart)."""
    if kind == "item":
        subjects, values = rng.sample(lexicon.items, 2), rng.sample(lexicon.places, 2)
    elif kind == "room":
        subjects = (
            [rng.choice(lexicon.topics)] * 2
            if rng.random() < 0.4
            else rng.sample(lexicon.topics, 2)
        )
        values = [str(r) for r in rng.sample(lexicon.rooms, 2)]
    else:
        same = rng.random() < 0.4
        subjects = [rng.choice(lexicon.vehicles)] * 2 if same else list(lexicon.vehicles)
        values = [str(h) for h in rng.sample(lexicon.hours, 2)]
    return [Fact(kind=kind, subject=s, value=v) for s, v in zip(subjects, values, strict=True)]


def _sentence(rng: random.Random, lexicon: Lexicon, fact: Fact) -> str:
    forms = {"room": lexicon.room_facts, "item": lexicon.item_facts, "time": lexicon.time_facts}
    return rng.choice(forms[fact.kind]).format(
        topic=fact.subject,
        item=fact.subject,
        vehicle=fact.subject,
        room=fact.value,
        place=fact.value,
        hour=f"{fact.value} o'clock",
    )


def synthesise(rng: random.Random, lines: list[_Line]) -> tuple[tuple[Said, ...], np.ndarray]:
    """Speak ``lines`` one after another and place them on one mono track at :data:`RATE`.
    Lines that would end after 40 s are dropped."""
    said: list[Said] = []
    parts: list[tuple[int, np.ndarray]] = []
    cursor = rng.uniform(0.8, 2.0)
    for line in lines:
        speed = rng.uniform(0.9, 1.05)
        samples = _trim(_speak(line.text, line.speaker.voice, speed))
        gain = 10 ** (rng.uniform(-3, 3) / 20) * 0.08 / max(_rms(samples), 1e-6)
        samples *= min(gain, 0.9 / max(float(np.max(np.abs(samples), initial=0.0)), 1e-6))
        start = round(cursor * RATE) / RATE
        end = start + samples.size / RATE
        if end > _LONGEST:
            break
        subject_at = None
        if line.fact is not None:
            before = line.text[: line.text.index(line.fact.subject)].strip()
            lead = _speak(before, line.speaker.voice, speed) if before else None
            subject_at = start + (0.0 if lead is None else _voiced(lead))
        said.append(
            Said(
                speaker=line.speaker.name,
                voice=line.speaker.voice,
                text=line.text,
                start=start,
                end=end,
                intro=line.intro,
                fact=line.fact,
                subject_at=subject_at,
            )
        )
        parts.append((round(start * RATE), samples))
        cursor = end + rng.uniform(0.5, 1.3)
    track = np.zeros(max(begin + s.size for begin, s in parts), np.float32)
    for begin, samples in parts:
        track[begin : begin + samples.size] += samples
    return tuple(said), np.clip(track, -1.0, 1.0)


def _speak(text: str, voice: str, speed: float) -> np.ndarray:
    """:func:`~evaluation.voices.say`, except that piper draws no noise: its decoder samples
    noise no seed reaches, and a set must come out the same, to the sample, on every run."""
    if not voice.startswith("piper:"):
        return say(text, voice, sample_rate=RATE, speed=speed)
    from piper import SynthesisConfig

    model = _piper_voice()
    config = SynthesisConfig(length_scale=1 / speed, noise_scale=0.0, noise_w_scale=0.0)
    chunks = [chunk.audio_float_array for chunk in model.synthesize(text, syn_config=config)]
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return resample(samples, int(model.config.sample_rate), RATE)


def _span(samples: np.ndarray, level: float) -> tuple[int, int]:
    """First and last sample louder than ``level`` times the peak ((0, -1) if none is)."""
    loud = np.flatnonzero(np.abs(samples) > level * float(np.max(np.abs(samples), initial=1e-9)))
    return (int(loud[0]), int(loud[-1])) if loud.size else (0, -1)


def _trim(samples: np.ndarray) -> np.ndarray:
    """Without the silence before and after the voice (under 0.5% of the peak), but for
    :data:`_PAD` each side: a soft onset ("h", "f") is far below the vowels' level."""
    first, last = _span(samples, 0.005)
    margin = round(_PAD * RATE)
    return samples[max(0, first - margin) : last + 1 + margin].astype(np.float32)


def _voiced(lead: np.ndarray) -> float:
    """Seconds from where :func:`_trim` starts a line to where ``lead`` (the line's beginning
    said alone) stops being voiced: its last sample over 2% of the peak, as the fading tail
    of a final syllable is not part of what the next word overlaps."""
    first, _ = _span(lead, 0.005)
    _, last = _span(lead, 0.02)
    return (last + 1 - max(0, first - round(_PAD * RATE))) / RATE


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples)))) if samples.size else 0.0
