"""Silero VAD through onnxruntime, and the segmenter's hysteresis."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.media import speak
from perception.vad import WINDOW, SileroVad, SpeechSegmenter, VadOptions
from tests.perception_models import silero_vad_path
from vigil.errors import ModelError


@pytest.fixture(scope="module")
def vad() -> SileroVad:
    vad = SileroVad(silero_vad_path())
    vad.load()
    return vad


def test_silence_is_not_speech_and_speech_is(vad: SileroVad) -> None:
    speech, _ = speak("How many people are walking?", sample_rate=16000)
    audio = np.concatenate([np.zeros(16000, np.float32), speech, np.zeros(16000, np.float32)])
    vad.reset()
    # Fed in 100 ms chunks: windows straddle chunk boundaries.
    probs = np.concatenate([vad.process(audio[i : i + 1600]) for i in range(0, len(audio), 1600)])
    assert len(probs) == len(audio) // WINDOW
    lead = 16000 // WINDOW
    assert probs[: lead - 2].max() < 0.2
    assert np.mean(probs[lead + 3 : lead + len(speech) // WINDOW - 3] > 0.5) > 0.8
    assert probs[-20:].max() < 0.2


def test_state_matters(vad: SileroVad) -> None:
    """Feeding windows one by one equals feeding the whole clip (state and context kept)."""
    speech, _ = speak("Yes", sample_rate=16000)
    vad.reset()
    whole = vad.process(speech)
    vad.reset()
    parts = np.concatenate([vad.process(speech[i : i + 300]) for i in range(0, len(speech), 300)])
    assert np.allclose(whole, parts, atol=1e-5)


def test_wrong_model_is_a_model_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ModelError):
        SileroVad(tmp_path / "missing.onnx").load()


def push_all(segmenter: SpeechSegmenter, probs: list[float]) -> list[tuple[int, int]]:
    out = [segmenter.push(p) for p in probs]
    return [(s.start // WINDOW, s.end // WINDOW) for s in out if s is not None]


def test_segmenter_hysteresis_and_min_silence() -> None:
    # 0.4 s of silence is 12.5 windows: 13 windows end a segment.
    segmenter = SpeechSegmenter(VadOptions(threshold=0.5, min_silence=0.4, min_speech=0.25))
    probs = [0.0] * 5 + [0.9] * 20 + [0.4] * 5 + [0.9] * 10 + [0.0] * 12
    assert push_all(segmenter, probs) == []  # 0.4 is above 0.35: not a pause
    assert segmenter.in_speech
    assert push_all(segmenter, [0.0]) == [(5, 40)]
    assert not segmenter.in_speech


def test_short_blips_are_dropped_and_flush_closes() -> None:
    segmenter = SpeechSegmenter(VadOptions(min_speech=0.25, min_silence=0.4))
    assert push_all(segmenter, [0.9] * 3 + [0.0] * 20) == []  # 96 ms is a blip
    push_all(segmenter, [0.9] * 30)
    segment = segmenter.flush()
    assert segment is not None and segment.duration == pytest.approx(30 * WINDOW / 16000)


def test_max_speech_splits() -> None:
    segmenter = SpeechSegmenter(VadOptions(max_speech=1.0))
    ends = push_all(segmenter, [0.9] * 70)
    assert ends == [(0, 32), (32, 64)]  # contiguous: no speech is lost at the split
