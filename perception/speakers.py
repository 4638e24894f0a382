"""Who is speaking: online clustering of voice embeddings into identities, and their names.

Each final utterance's voice embedding (see :mod:`perception.voice_models`) is compared with
the stored samples (exemplars) of every known identity, not only with a running mean: a mean
drifts towards whoever was last mistaken for that speaker, exemplars keep each voice's own
range (two languages, a phone line and a room). The score against an identity is the mean
similarity of its ``top`` closest exemplars. An utterance joins the best-scoring identity when
the score reaches the model's calibrated threshold; just below it (within the margin), a short
utterance or one that gives that identity's name joins it too, without teaching it the voice;
otherwise it starts a new identity.

Names come by enrolment through the API, or spoken ("I'm Alice", "my name is Alice"). A spoken
name is never moved from one voice to another:

- a voice already named Bella that says "I'm Carlos" is not renamed: the utterance goes to the
  identity named Carlos (a new one, seeded with this voice, when there is none), and the two
  identities are marked as in conflict (their voices were confused); only when the voice is
  clearly Bella's (beyond the calibrated threshold by the margin) and nobody is named Carlos
  does it stay Bella's, since that is far more often a phrase misheard as a name than a second
  person;
- an unnamed voice that gives a name someone already holds joins that identity when the two
  voices are near (one person heard differently, or a voice learnt under another model);
  otherwise both keep the name (two people may share one) and are marked as in conflict.

Identities (name, exemplars, conflicts) are exported and restored, so that long-term memory
carries them from one session to the next and a voice that does not say its name again is
still recognised.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from perception.voice_models import CALIBRATIONS, Calibration, VoiceEmbedder

__all__ = [
    "SpeakerIdentity",
    "SpeakerOptions",
    "SpeakerRegistry",
    "VoiceEmbedder",
    "spoken_name",
]

log = logging.getLogger(__name__)
_T = TypeVar("_T", int, float)

_INTRODUCTION = re.compile(
    r"\b(?:my name is|my name's|call me)\s+([a-z][a-z'-]{1,30})\b", re.IGNORECASE
)
# "I am" and "I'm" are followed by far more than names ("I am back", and ASR's slips: "I am
# back at the office" heard as "I am mercat little officer"): only a capitalised word counts.
_SELF = re.compile(r"\b(?i:i am|i'm|im)\s+([A-Z][a-z'-]{1,30})\b")
# Weaker forms count only with a capitalised word (Whisper capitalises names): "This is Dana",
# "It's Maria", "Daniel here.", "Daniel speaking" (at the start, or after a greeting).
_PRESENTED = re.compile(r"\b(?i:this is|it's|it is)\s+([A-Z][a-z'-]{1,30})\b")
_SIGNED = re.compile(
    r"^(?i:(?:hi|hey|hello|okay|ok|so|yes)\b[\s,!.]*)?(?i:(?:everyone|everybody|all|folks|"
    r"guys|team)\b[\s,!.]*)?([A-Z][a-z'-]{1,30})[\s,]+(?i:here|speaking)\b"
)
_NOT_NAMES = frozenset(
    {
        *("a", "an", "the", "not", "here", "there", "back", "sure", "sorry", "fine", "good"),
        *("glad", "going", "just", "so", "very", "really", "done", "ready", "okay", "ok"),
        *("listening", "looking", "trying", "wondering", "me", "us", "everyone", "time"),
        *("true", "right", "fine", "late", "over", "all", "nothing", "that", "this", "it"),
    }
)


def spoken_name(text: str) -> str | None:
    """The name someone gives for themselves in ``text`` ("I'm Alice." gives "Alice")."""
    found = (
        _INTRODUCTION.finditer(text),
        _SELF.finditer(text),
        _PRESENTED.finditer(text),
        _SIGNED.finditer(text.strip()),
    )
    for match in (m for matches in found for m in matches):
        word = match.group(1).strip("'-")
        if word.lower() not in _NOT_NAMES:
            return word[:1].upper() + word[1:].lower()
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeakerOptions:
    """Clustering settings. ``threshold``, ``margin`` and ``top`` left None take the voice
    model's calibration (:data:`~perception.voice_models.CALIBRATIONS`, chosen by
    ``python -m bench.speakers``), given to the registry by :meth:`SpeakerRegistry.calibrate`.

    - ``threshold``: the score that makes an utterance an identity's (a score is the mean
      cosine similarity of the identity's ``top`` closest exemplars: 1 is the nearest
      exemplar, more are steadier against one stray sample);
    - ``margin``: below the threshold by less than this, the voice is near an identity but
      not sure: a short utterance (under ``sure_seconds``) joins it rather than start a new
      identity from little evidence, and so does one that gives the identity's name (or a
      name, when it has none); neither is kept as an exemplar unless the name confirms it;
    - ``exemplars``: samples kept per identity; beyond that the most redundant one goes;
    - ``min_seconds``: shorter utterances carry too little voice to tell: they go to the
      closest known identity, or to ``unknown``;
    - ``max_speakers``: beyond this, an utterance goes to the closest identity.
    """

    threshold: float | None = None
    margin: float | None = None
    top: int | None = None
    exemplars: int = 16
    sure_seconds: float = 2.0
    min_seconds: float = 0.6
    max_speakers: int = 32
    unknown: str = "unknown"

    def __post_init__(self) -> None:
        if self.threshold is not None and not -1 < self.threshold < 1:
            raise ValueError("threshold must be in (-1, 1), or None for the model's own")
        if (self.margin is not None and self.margin < 0) or (self.top is not None and self.top < 1):
            raise ValueError("need margin >= 0 and top >= 1")
        if self.exemplars < 1 or self.min_seconds < 0 or self.max_speakers < 1:
            raise ValueError("need exemplars >= 1, min_seconds >= 0, max_speakers >= 1")


@dataclass(slots=True)
class SpeakerIdentity:
    """One voice: its id, its name once known, its exemplars (unit rows, possibly none for a
    name enrolled without a voice), how many utterances it has, and the ids of identities
    whose voices were confused with it."""

    speaker_id: str
    exemplars: np.ndarray
    name: str | None = None
    utterances: int = 0
    conflicts: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        rows = np.asarray(self.exemplars, dtype=np.float32)
        rows = rows.reshape(-1, rows.shape[-1]) if rows.size else np.zeros((0, 0), np.float32)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        self.exemplars = rows / np.where(norms > 0, norms, 1.0)

    @property
    def label(self) -> str:
        """What utterances carry as their speaker: the name when known, else the id."""
        return self.name or self.speaker_id

    @property
    def centroid(self) -> np.ndarray:
        """The unit mean of the exemplars (empty when there are none)."""
        if not len(self.exemplars):
            return np.zeros(0, np.float32)
        return _unit(self.exemplars.mean(axis=0))

    def copy(self) -> SpeakerIdentity:
        return SpeakerIdentity(
            self.speaker_id, self.exemplars.copy(), self.name, self.utterances, self.conflicts
        )


@dataclass(slots=True)
class SpeakerRegistry:
    """Online clustering of voice embeddings into named identities."""

    options: SpeakerOptions = field(default_factory=SpeakerOptions)
    _speakers: list[SpeakerIdentity] = field(default_factory=list)
    _calibration: Calibration = CALIBRATIONS["campplus"]  # the default model's

    @property
    def speakers(self) -> list[SpeakerIdentity]:
        return list(self._speakers)

    @property
    def threshold(self) -> float:
        return _either(self.options.threshold, self._calibration.threshold)

    @property
    def margin(self) -> float:
        return _either(self.options.margin, self._calibration.margin)

    @property
    def top(self) -> int:
        return _either(self.options.top, self._calibration.top)

    def calibrate(self, calibration: Calibration) -> None:
        """The voice model's calibration, for the settings the options leave None."""
        self._calibration = calibration

    def guess(self, embedding: np.ndarray) -> SpeakerIdentity | None:
        """The known identity ``embedding`` is nearest, within the margin, changing nothing:
        who is speaking while the utterance is still partial (None: a voice not known)."""
        best, score = self._closest(_unit(embedding))
        return best if best is not None and score >= self.threshold - self.margin else None

    def assign(
        self, embedding: np.ndarray, seconds: float, text: str = ""
    ) -> SpeakerIdentity | None:
        """The identity of one final utterance (None: too short to tell and nobody is known).

        A self-introduction in ``text`` names it, by the rules in the module docstring.
        """
        embedding = _unit(embedding)
        best, score = self._closest(embedding)
        if seconds < self.options.min_seconds:
            if best is not None:
                best.utterances += 1
            return best
        name = spoken_name(text)
        keep = True
        if best is None or score < self.threshold:
            near = best is not None and score >= self.threshold - self.margin
            named = name is not None and best is not None and best.name in (None, name)
            if near and (named or seconds < self.options.sure_seconds):
                keep = named  # a guess from little evidence teaches the voice nothing
            elif len(self._speakers) < self.options.max_speakers:
                best = self._new()
        assert best is not None
        if name is not None:
            calibration = self._calibration  # the model's own, whatever the options say
            sure = score >= calibration.threshold + calibration.margin
            best = self._claim(best, name, embedding, sure=sure)
        if keep or not len(best.exemplars):
            self._keep(best, embedding)
        best.utterances += 1
        return best

    def enrol(
        self, name: str, *, speaker_id: str | None = None, embedding: np.ndarray | None = None
    ) -> SpeakerIdentity:
        """Name an identity (by id), or add a voice under ``name`` from an embedding.

        The API is an explicit act, unlike a spoken name: naming an identity by id takes the
        name from any other identity that had it.
        """
        if speaker_id is not None:
            target = next((s for s in self._speakers if s.speaker_id == speaker_id), None)
            if target is None:
                raise KeyError(f"no speaker {speaker_id!r}")
        elif embedding is not None:
            target = self._new()
            self._keep(target, _unit(embedding))
            target.utterances = 1
        else:
            raise ValueError("enrol needs a speaker_id or an embedding")
        for speaker in self._speakers:
            if speaker.name == name and speaker is not target:
                speaker.name = None
        target.name = name
        return target

    def export(self) -> list[SpeakerIdentity]:
        """Copies of every identity, for memory to keep across sessions."""
        return [s.copy() for s in self._speakers]

    def restore(self, identities: list[SpeakerIdentity]) -> None:
        """Start from identities a previous session exported."""
        self._speakers = [s.copy() for s in identities]

    # --- internals ------------------------------------------------------------------------

    def _score(self, identity: SpeakerIdentity, embedding: np.ndarray) -> float:
        rows = identity.exemplars
        if not len(rows) or rows.shape[1] != embedding.shape[0]:
            return -1.0  # no voice yet, or one from another voice model
        similarities = np.sort(rows @ embedding)[::-1][: self.top]
        return float(similarities.mean())

    def _closest(self, embedding: np.ndarray) -> tuple[SpeakerIdentity | None, float]:
        scored = [(self._score(s, embedding), s) for s in self._speakers]
        scored = [(score, s) for score, s in scored if score > -1.0]
        if not scored:
            return None, -1.0
        score, best = max(scored, key=lambda pair: pair[0])
        return best, score

    def _new(self, name: str | None = None) -> SpeakerIdentity:
        """A new identity with no exemplars yet (the caller adds the voice)."""
        taken = {s.speaker_id for s in self._speakers}
        number = len(self._speakers) + 1
        while f"speaker-{number}" in taken:
            number += 1
        identity = SpeakerIdentity(f"speaker-{number}", np.zeros((0, 0), np.float32), name)
        self._speakers.append(identity)
        return identity

    def _claim(
        self, voice: SpeakerIdentity, name: str, embedding: np.ndarray, *, sure: bool = False
    ) -> SpeakerIdentity:
        """The identity an utterance belongs to when its speaker says ``name`` (``sure``: the
        voice is clearly ``voice``'s, beyond the model's calibrated threshold by its margin)."""
        if voice.name == name:
            return voice
        owner = next((s for s in self._speakers if s.name == name and s is not voice), None)
        if voice.name is None:
            if owner is None:
                voice.name = name
                return voice
            heard = self._score(owner, embedding)  # -1: no voice under this model yet
            if heard == -1.0 or heard >= self.threshold - self.margin:
                # one person, heard differently: join the name's identity
                self._merge(voice, into=owner)
                return owner
            voice.name = name  # two people of one name: both keep it, marked
            _conflict(voice, owner)
            return voice
        # A named voice says another name: never rename it. A voice that is clearly its own
        # and a name nobody holds is more likely a misheard phrase ("I am back" heard as
        # "I am Mercat") than a second person: the utterance stays. Else split, or go to
        # the name's owner.
        if sure and owner is None:
            log.info("%s's voice said the name %r; kept as %s", voice.label, name, voice.label)
            return voice
        target = owner if owner is not None else self._new(name)
        _conflict(voice, target)
        return target

    def _merge(self, source: SpeakerIdentity, *, into: SpeakerIdentity) -> None:
        for row in source.exemplars:
            self._keep(into, row)
        into.utterances += source.utterances
        into.conflicts |= source.conflicts - {into.speaker_id}
        self._speakers.remove(source)

    def _keep(self, identity: SpeakerIdentity, embedding: np.ndarray) -> None:
        """Add ``embedding`` as an exemplar; when full, drop the most redundant one."""
        rows = identity.exemplars
        if len(rows) and rows.shape[1] != embedding.shape[0]:
            rows = np.zeros((0, embedding.shape[0]), np.float32)  # a new voice model
        rows = np.vstack([rows.reshape(-1, embedding.shape[0]), embedding[None]])
        if len(rows) > self.options.exemplars:
            similar = rows @ rows.T
            np.fill_diagonal(similar, -1.0)
            rows = np.delete(rows, int(np.argmax(similar.max(axis=1))), axis=0)
        identity.exemplars = rows.astype(np.float32)


def _either(value: _T | None, default: _T) -> _T:
    return default if value is None else value


def _conflict(a: SpeakerIdentity, b: SpeakerIdentity) -> None:
    a.conflicts |= {b.speaker_id}
    b.conflicts |= {a.speaker_id}


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
