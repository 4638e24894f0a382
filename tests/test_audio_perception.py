"""AudioPerception end to end: 44.1 kHz stereo chunks in, one final utterance out."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from evaluation.media import speak
from perception.asr import Transcriber
from perception.audio import AudioOptions, AudioPerception
from tests.perception_models import silero_vad_path, whisper_tiny_path
from vigil.items import AudioChunk, Utterance

RATE = 44_100
QUESTION = "How many people are walking?"


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    transcriber = Transcriber(whisper_tiny_path())
    transcriber.load()
    return transcriber


@pytest.fixture(scope="module")
def question() -> tuple[np.ndarray, float, float]:
    """2 s of silence, the question, 2 s of silence (stereo), and where the speech is."""
    speech, _ = speak(QUESTION, sample_rate=RATE)
    voiced = np.nonzero(np.abs(speech) > 0.01)[0]
    lead = np.zeros(2 * RATE, np.float32)
    mono = np.concatenate([lead, speech, lead])
    start, end = 2.0 + voiced[0] / RATE, 2.0 + voiced[-1] / RATE
    return np.stack([mono, 0.8 * mono], axis=1), start, end


def chunks(audio: np.ndarray, t0: float = 0.0, seconds: float = 0.1) -> list[AudioChunk]:
    n = int(RATE * seconds)
    return [
        AudioChunk(
            stream_id="mic", media_time=t0 + i / RATE, samples=audio[i : i + n], sample_rate=RATE
        )
        for i in range(0, len(audio), n)
    ]


def words_of(text: str) -> list[str]:
    return "".join(c for c in text.lower() if c.isalpha() or c == " ").split()


async def run(stage: AudioPerception, items: list[AudioChunk]) -> list[Utterance]:
    """The final utterances (partials are tested on their own)."""
    out: list[Utterance] = []
    for chunk in items:
        out += await stage.process(chunk)
    return [u for u in out + await stage.flush() if u.final]


async def test_one_final_utterance_with_the_right_words_and_times(
    transcriber: Transcriber, question: tuple[np.ndarray, float, float]
) -> None:
    audio, start, end = question
    stage = AudioPerception(transcriber, silero_vad_path())
    await stage.start()
    t0 = 100.0  # the stream started 100 s ago
    utterances = await run(stage, chunks(audio, t0))
    await stage.stop()
    assert len(utterances) == 1
    u = utterances[0]
    assert words_of(u.text) == ["how", "many", "people", "are", "walking"]
    assert u.final and u.speaker == "speaker" and u.stream_id == "mic"
    assert abs(u.t0 - (t0 + start)) < 0.3 and abs(u.t1 - (t0 + end)) < 0.3
    assert u.media_time == u.t1
    assert u.words[0].text == "How"
    assert all(t0 + start - 0.4 < w.t0 <= w.t1 < t0 + end + 0.4 for w in u.words)


async def test_transcript_follows_the_end_of_speech_quickly_in_real_time(
    transcriber: Transcriber, question: tuple[np.ndarray, float, float]
) -> None:
    """Chunks paced like a microphone: the transcript comes about 0.6 s after speech ends."""
    audio, _, _ = question
    stage = AudioPerception(transcriber, silero_vad_path())
    await stage.start()
    items = chunks(audio[: int(4.2 * RATE)])
    began = time.perf_counter()
    latencies = []
    for chunk in items:
        ready = began + chunk.media_time + chunk.duration  # its last sample has been captured
        await asyncio.sleep(max(0.0, ready - time.perf_counter()))
        for u in await stage.process(chunk):
            if u.final:
                latencies.append(time.perf_counter() - began - u.t1)
    await stage.stop()
    print(f"end of speech to transcript: {latencies}, speculative hits {stage.speculative_hits}")
    assert len(latencies) == 1
    assert latencies[0] < 1.2  # about 0.55-0.65 s on two idle cores


async def test_speech_cut_by_end_of_stream_is_flushed(
    transcriber: Transcriber, question: tuple[np.ndarray, float, float]
) -> None:
    audio, start, _ = question
    stage = AudioPerception(transcriber, silero_vad_path())
    await stage.start()
    cut = int((start + 1.2) * RATE)  # the stream ends mid-question
    out: list[Utterance] = []
    for chunk in chunks(audio[:cut]):
        out += await stage.process(chunk)
    assert not [u for u in out if u.final]
    out = await stage.flush()
    await stage.stop()
    assert len(out) == 1 and words_of(out[0].text)[:2] == ["how", "many"]


async def test_a_long_gap_closes_the_segment_and_reanchors_the_clock(
    transcriber: Transcriber, question: tuple[np.ndarray, float, float]
) -> None:
    audio, start, end = question
    stage = AudioPerception(transcriber, silero_vad_path(), AudioOptions(max_gap_fill=1.0))
    await stage.start()
    first = chunks(audio[: int((end + 0.15) * RATE)])  # speech ends, then the source stalls
    later = chunks(audio, t0=50.0)  # resumes 50 s into the stream
    out: list[Utterance] = []
    for chunk in first + later:
        out += await stage.process(chunk)
    out = [u for u in out + await stage.flush() if u.final]
    await stage.stop()
    assert len(out) == 2
    assert abs(out[0].t0 - start) < 0.3 and out[0].t1 < 5.0
    assert abs(out[1].t0 - (50.0 + start)) < 0.3 and abs(out[1].t1 - (50.0 + end)) < 0.3


async def test_short_gaps_are_filled_and_keep_times(
    transcriber: Transcriber, question: tuple[np.ndarray, float, float]
) -> None:
    audio, start, end = question
    stage = AudioPerception(transcriber, silero_vad_path())
    await stage.start()
    items = chunks(audio)
    del items[5:8]  # 0.3 s of leading silence lost in transit
    utterances = await run(stage, items)
    await stage.stop()
    assert len(utterances) == 1
    assert abs(utterances[0].t0 - start) < 0.3 and abs(utterances[0].t1 - end) < 0.3


async def test_partials_announce_speech_then_its_words_under_one_id(
    transcriber: Transcriber, question: tuple[np.ndarray, float, float]
) -> None:
    """Barge-in needs to know someone speaks long before the sentence is over."""
    audio, start, _end = question
    stage = AudioPerception(transcriber, silero_vad_path(), AudioOptions(partial_interval=0.5))
    await stage.start()
    out: list[Utterance] = []
    for chunk in chunks(audio):
        out += await stage.process(chunk)
        await asyncio.sleep(0.05)  # let a background transcription finish, as in real time
    out += await stage.flush()
    await stage.stop()
    partials = [u for u in out if not u.final]
    final = [u for u in out if u.final]
    assert len(final) == 1 and partials
    onset = partials[0]
    assert onset.text == "" and onset.t0 == pytest.approx(start, abs=0.3)
    assert onset.t1 - onset.t0 < 0.5, "speech is announced within half a second"
    worded = [u for u in partials if u.text]
    assert worded and words_of(worded[0].text)[0] == "how"
    assert {u.utterance_id for u in partials} == {final[0].utterance_id}
