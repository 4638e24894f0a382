"""The items that flow between Vigil's stages.

Every item carries two clocks: ``media_time`` (seconds since the stream started, taken from the
source's own timestamps) drives logic and scoring, while ``stamps`` records the wall-clock time
at which each stage handled it and drives latency metrics. Items are frozen so that a stage can
hand one to several consumers without copies; :meth:`Item.stamped` returns a new item.

Control items (end of stream, interruptions, errors) take a lane of their own and are never
dropped by an overflow policy; data items (frames, audio, observations, ...) are.

This module imports nothing else of the project, so every stage may depend on it.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Self

import numpy as np

__all__ = [
    "AudioChunk",
    "Clarification",
    "Clip",
    "ControlItem",
    "DataItem",
    "EndOfStream",
    "Interrupt",
    "Item",
    "Notice",
    "Observation",
    "Reply",
    "Request",
    "Response",
    "ResponseDelta",
    "StreamError",
    "Trigger",
    "Understood",
    "Utterance",
    "VideoFrame",
    "Word",
    "new_id",
]


def new_id() -> str:
    """A short random identifier, unique enough for requests and responses within a run."""
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    """Base of every item: which stream it belongs to and when it happened."""

    stream_id: str
    media_time: float
    stamps: Mapping[str, float] = field(default_factory=dict)

    def stamped(self, stage: str, wall: float | None = None) -> Self:
        """A copy with the wall-clock time at which ``stage`` handled this item."""
        stamps = dict(self.stamps)
        stamps[stage] = time.time() if wall is None else wall
        return dataclasses.replace(self, stamps=stamps)


@dataclass(frozen=True, slots=True, kw_only=True)
class DataItem(Item):
    """An item that an overflow policy may drop (and count)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlItem(Item):
    """An item that bypasses data queues and is never dropped."""


# --- media from sources -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class VideoFrame(DataItem):
    """One decoded frame: ``image`` is an HxWx3 uint8 array in BGR order (OpenCV's)."""

    image: np.ndarray
    index: int = 0

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])


@dataclass(frozen=True, slots=True, kw_only=True)
class AudioChunk(DataItem):
    """Audio as the source delivered it: float32 samples shaped (frames, channels) in [-1, 1]."""

    samples: np.ndarray
    sample_rate: int

    @property
    def duration(self) -> float:
        return float(self.samples.shape[0]) / float(self.sample_rate)

    @property
    def channels(self) -> int:
        return 1 if self.samples.ndim == 1 else int(self.samples.shape[1])


# --- perception output --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation(DataItem):
    """What the frame encoder saw in one sampled frame, in structured form.

    Text-only language models get ``description``; vector search gets ``embedding``.
    """

    frame_index: int
    people: int = 0
    faces: int = 0
    text: tuple[str, ...] = ()
    text_sizes: tuple[float, ...] = ()
    """Each line of ``text``'s height as a share of the frame's (empty when not measured): a
    card held up to the camera reads large, a plate in a corner small."""
    text_backdrops: tuple[float, ...] = ()
    """Each line's backdrop: the share of the frame covered by what it is written on (empty
    when not measured): a card or a plate covers a little of it, a slide or panel most."""
    colours: tuple[str, ...] = ()
    motion: float = 0.0
    scene_change: bool = False
    description: str = ""
    embedding: np.ndarray | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Clip(DataItem):
    """A span of the stream summarised as one unit (``media_time`` is its end)."""

    clip_id: str
    t0: float
    t1: float
    summary: str
    embedding: np.ndarray | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Word:
    text: str
    t0: float
    t1: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Utterance(DataItem):
    """Speech from ``t0`` to ``t1`` (media seconds); ``media_time`` equals ``t1``.

    Partial results have ``final=False`` and may be revised; only final ones end a turn.
    """

    utterance_id: str
    t0: float
    t1: float
    text: str
    speaker: str = "speaker"
    final: bool = True
    words: tuple[Word, ...] = ()


# --- decision and reaction ----------------------------------------------------------------------

RequestKind = Literal["question", "instruction"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Request(DataItem):
    """Something the agent was asked: a question to answer once, or a standing instruction."""

    request_id: str
    kind: RequestKind
    text: str
    speaker: str = "user"
    origin: Literal["typed", "spoken"] = "typed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Trigger(DataItem):
    """The decision stage's verdict that the agent should respond now.

    ``evidence`` is the human-readable reason (which observation satisfied an instruction);
    ``asked_at`` is the media time at which the request became answerable (end of question);
    ``output`` is the exact text an instruction asked to be given when it fires ("" for none).
    """

    trigger_id: str
    request: Request
    asked_at: float
    evidence: str = ""
    output: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Understood(DataItem):
    """How a standing instruction was understood, told back to the user: ``condition`` is a
    compact label (None when nothing can watch it), ``description`` a sentence, ``source``
    who read it (``rules``, ``model``, ``fallback``: the model checks it moment by moment)."""

    request: Request
    condition: str | None
    description: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Clarification(DataItem):
    """A closed question the agent puts to ``speaker`` (who made request ``request_id``)
    before answering it; that person's next words, typed or spoken, are the reply."""

    request_id: str
    question: str
    speaker: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply(DataItem):
    """What ``speaker`` answered to the clarification of ``request_id``.

    A spoken reply may come in pieces: a person says "Yes." and, after a pause long enough to
    end an utterance, goes on. Each final piece is a reply (``spoken``); ``partial`` ones say
    that more words have begun and their transcript is still to come.
    """

    request_id: str
    text: str
    speaker: str
    spoken: bool = False
    partial: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseDelta(DataItem):
    """A piece of an answer as it streams out of the reaction backend."""

    response_id: str
    request_id: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Response(DataItem):
    """A whole answer. ``first_token_wall`` and ``asked_wall`` give its latency; ``choice`` is
    the letter of the option chosen when the question offered options ("" otherwise)."""

    response_id: str
    request_id: str
    question: str
    text: str
    asked_at: float
    asked_wall: float
    first_token_wall: float
    done_wall: float
    cancelled: bool = False
    choice: str = ""

    @property
    def latency(self) -> float:
        """Seconds from the end of the question to the first token of the answer."""
        return self.first_token_wall - self.asked_wall

    @property
    def queue_wait(self) -> float:
        """Seconds the answer waited for its turn (0 when it never waited)."""
        started, queued = self.stamps.get("started"), self.stamps.get("queued")
        return max(0.0, started - queued) if started and queued else 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice(DataItem):
    """Something the user should know that is neither an answer nor an error ("3 questions
    are waiting; they are answered in the order asked")."""

    text: str


# --- control ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class EndOfStream(ControlItem):
    """The source has no more media; ``reason`` says why (``"eof"``, ``"stopped"``, ...)."""

    reason: str = "eof"


@dataclass(frozen=True, slots=True, kw_only=True)
class Interrupt(ControlItem):
    """Cancel what is being generated for this stream (barge-in)."""

    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamError(ControlItem):
    """Something went wrong mid-stream. ``fatal`` says whether the stream could go on;
    ``request_id`` names the request whose answer failed, when one did."""

    stage: str
    message: str
    fatal: bool = False
    request_id: str = ""
