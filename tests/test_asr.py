"""Whisper tiny through faster-whisper: words, times and speed."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from evaluation.media import speak
from perception.asr import Transcriber
from tests.perception_models import whisper_tiny_path
from vigil.errors import ModelError


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    transcriber = Transcriber(whisper_tiny_path())
    transcriber.load()
    return transcriber


def words_of(text: str) -> list[str]:
    return "".join(c for c in text.lower() if c.isalpha() or c == " ").split()


def padded(text: str) -> np.ndarray:
    speech, _ = speak(text, sample_rate=16000)
    pad = np.zeros(3200, np.float32)
    return np.concatenate([pad, speech, pad])


def test_question_with_word_times(transcriber: Transcriber) -> None:
    audio = padded("How many people are walking?")
    transcriber.transcribe(audio)  # warm up
    text, words = transcriber.transcribe(audio)
    seconds = len(audio) / 16000
    factor = transcriber.last_seconds / seconds
    print(f"ASR {transcriber.last_seconds * 1000:.0f} ms for {seconds:.2f} s: x{factor:.2f}")
    assert words_of(text) == ["how", "many", "people", "are", "walking"]
    assert text.endswith("?")
    assert words[0].text == "How"
    assert all(0 <= w.t0 <= w.t1 <= seconds + 0.1 for w in words)
    assert all(a.t0 <= b.t0 for a, b in itertools.pairwise(words))
    assert factor < 0.6  # 0.1-0.2 measured on two idle cores; slack for a busy machine


def test_short_word_does_not_loop(transcriber: Transcriber) -> None:
    text, _ = transcriber.transcribe(padded("Stop."))
    assert words_of(text) == ["stop"]


def test_longer_sentence(transcriber: Transcriber) -> None:
    text, words = transcriber.transcribe(padded("Tell me when someone enters the room, please."))
    expected = ["tell", "me", "when", "someone", "enters", "the", "room", "please"]
    assert words_of(text) == expected
    assert len(words) == 8


def test_missing_model_is_a_model_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ModelError):
        Transcriber(tmp_path).load()
