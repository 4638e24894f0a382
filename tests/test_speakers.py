"""Speaker identification: a three-voice conversation, introductions, and identities kept.

The conversation is synthesised with three espeak-ng voices, with pauses of different lengths
and one turn that starts before the previous one has ended. It is played through the real
audio stage (silero VAD, Whisper tiny, the packaged GE2E voice encoder) in 100 ms chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from evaluation.media import speak
from perception.asr import Transcriber
from perception.audio import AudioOptions, AudioPerception
from perception.speakers import SpeakerOptions, SpeakerRegistry, VoiceEmbedder, spoken_name
from tests.perception_models import _package_file, silero_vad_path, whisper_tiny_path
from vigil.items import AudioChunk, Utterance

RATE = 16_000
VOICES = {"Alice": "en-us+f3", "Bob": "en-us+m3", "Carol": "en-us+klatt4"}
TURNS = [  # (speaker, text, seconds of silence before; negative: overlap with the last turn)
    ("Alice", "Hi, I'm Alice. I will keep an eye on the front door today.", 0.8),
    ("Bob", "Hello, my name is Bob. I am watching the parking lot.", 0.9),
    ("Carol", "Good morning, this is Carol. I look after the garden.", 1.2),
    ("Alice", "Has anyone seen the delivery van this morning?", 0.7),
    ("Bob", "Yes, it parked near the loading bay an hour ago.", 1.0),
    ("Carol", "The gardeners arrived at eight and left at ten.", 0.8),
    ("Bob", "There are three cars in the lot right now.", 1.5),
    ("Alice", "Please tell me when somebody rings the bell.", -0.3),
    ("Carol", "The sprinklers will turn on in the afternoon.", 0.9),
    ("Bob", "A red truck is waiting at the gate.", 0.6),
    ("Carol", "I will water the roses before lunch.", 1.1),
    ("Alice", "Bob, can you check the gate camera?", 0.8),
    ("Bob", "Sure, the gate camera shows two people.", 0.9),
    ("Alice", "Thanks everyone, that is all for now.", 0.7),
]


@dataclass(frozen=True)
class Turn:
    speaker: str
    start: float
    end: float


@pytest.fixture(scope="module")
def conversation() -> tuple[np.ndarray, list[Turn]]:
    track = np.zeros(RATE, np.float32)
    turns = []
    cursor = 1.0
    for speaker, text, gap in TURNS:
        speech, _ = speak(text, VOICES[speaker], 165, sample_rate=RATE)
        voiced = np.nonzero(np.abs(speech) > 0.01)[0]
        speech = speech[voiced[0] : voiced[-1] + 1]
        start = cursor + gap
        begin = round(start * RATE)
        if begin + speech.size > track.size:
            track = np.concatenate([track, np.zeros(begin + speech.size - track.size, np.float32)])
        track[begin : begin + speech.size] += speech
        cursor = start + speech.size / RATE
        turns.append(Turn(speaker, start, cursor))
    track = np.concatenate([track, np.zeros(2 * RATE, np.float32)])
    return np.clip(track, -1, 1), turns


@pytest.fixture(scope="module")
def voices() -> VoiceEmbedder:
    embedder = VoiceEmbedder(_package_file("resemblyzer", "pretrained.pt"))
    embedder.load()
    return embedder


async def play(stage: AudioPerception, audio: np.ndarray) -> list[Utterance]:
    await stage.start()
    out: list[Utterance] = []
    step = RATE // 10
    for i in range(0, audio.size, step):
        chunk = AudioChunk(
            stream_id="s",
            media_time=i / RATE,
            samples=audio[i : i + step, None],
            sample_rate=RATE,
        )
        out += await stage.process(chunk)
    out += await stage.flush()
    await stage.stop()
    return [u for u in out if u.final]


def true_speaker(utterance: Utterance, turns: list[Turn]) -> str:
    """The speaker of the turn that overlaps the utterance most."""
    overlap = [min(utterance.t1, t.end) - max(utterance.t0, t.start) for t in turns]
    return turns[int(np.argmax(overlap))].speaker


async def test_three_voices_are_told_apart_and_named(
    conversation: tuple[np.ndarray, list[Turn]], voices: VoiceEmbedder
) -> None:
    audio, turns = conversation
    stage = AudioPerception(
        Transcriber(whisper_tiny_path()), silero_vad_path(), AudioOptions(), voices=voices
    )
    utterances = await play(stage, audio)
    assert len(utterances) >= len(TURNS) - 2, [u.text for u in utterances]
    right = [u.speaker == true_speaker(u, turns) for u in utterances]
    labelled = [(u.speaker, true_speaker(u, turns), u.text) for u in utterances]
    assert sum(right) / len(right) >= 0.9, labelled
    assert {s.name for s in stage.speakers.speakers} >= {"Alice", "Bob", "Carol"}


async def test_identities_carry_over_to_a_new_session(
    conversation: tuple[np.ndarray, list[Turn]], voices: VoiceEmbedder
) -> None:
    audio, turns = conversation
    first = AudioPerception(
        Transcriber(whisper_tiny_path()), silero_vad_path(), AudioOptions(), voices=voices
    )
    await play(first, audio[: round(turns[2].end * RATE) + RATE])  # the introductions
    known = first.speakers.export()
    assert {s.name for s in known} == {"Alice", "Bob", "Carol"}

    registry = SpeakerRegistry()
    registry.restore(known)
    second = AudioPerception(
        Transcriber(whisper_tiny_path()),
        silero_vad_path(),
        AudioOptions(),
        voices=voices,
        speakers=registry,
    )
    later = round((turns[3].start - 0.5) * RATE)
    utterances = await play(second, audio[later:])
    assert utterances
    # Nobody introduces themselves again, yet names come back from the first session.
    named = [u.speaker for u in utterances if u.speaker in VOICES]
    assert len(named) >= 0.9 * len(utterances), [(u.speaker, u.text) for u in utterances]


def test_enrolment_through_the_api_and_name_moves() -> None:
    registry = SpeakerRegistry(SpeakerOptions(threshold=0.8))
    a, b = np.eye(4, dtype=np.float32)[:2]
    alice = registry.enrol("Alice", embedding=a)
    assert registry.assign(a + 0.05 * b, seconds=2.0).label == "Alice"
    stranger = registry.assign(b, seconds=2.0)
    assert stranger is not None and stranger.label == "speaker-2"
    registry.enrol("Alice", speaker_id=stranger.speaker_id)
    assert stranger.label == "Alice" and alice.label == "speaker-1", "a name is unique"
    assert registry.assign(b, seconds=0.2) is stranger, "short: closest known speaker"
    assert SpeakerRegistry().assign(a, seconds=0.2) is None, "short and nobody known"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Hi, I'm Alice.", "Alice"),
        ("hello my name is bob and I watch the door", "Bob"),
        ("Good morning, this is Carol.", "Carol"),
        ("I'm not sure about that.", None),
        ("I am going to the shop.", None),
        ("How many people are there?", None),
    ],
)
def test_spoken_names(text: str, name: str | None) -> None:
    assert spoken_name(text) == name
