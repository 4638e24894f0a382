"""Perception under awkward input: any audio rate and layout, a resolution change, a stall."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from evaluation.media import speak
from perception.asr import Transcriber
from perception.audio import AudioOptions, AudioPerception
from perception.encoders.cpu import CpuFrameEncoder
from perception.video import VideoOptions, VideoPerception
from tests.perception_models import VTEST, read_frames, silero_vad_path, whisper_tiny_path
from vigil.items import AudioChunk, Utterance, VideoFrame

SENTENCE = "How many people are walking?"


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    transcriber = Transcriber(whisper_tiny_path())
    transcriber.load()
    return transcriber


def chunks(audio: np.ndarray, rate: int, t0: float = 0.0) -> list[AudioChunk]:
    step = rate // 10
    return [
        AudioChunk(
            stream_id="s", media_time=t0 + i / rate, samples=audio[i : i + step], sample_rate=rate
        )
        for i in range(0, len(audio), step)
    ]


async def hear(transcriber: Transcriber, items: list[AudioChunk]) -> list[Utterance]:
    stage = AudioPerception(transcriber, silero_vad_path(), AudioOptions())
    await stage.start()
    out: list[Utterance] = []
    for item in items:
        out += await stage.process(item)
    out += await stage.flush()
    await stage.stop()
    return [u for u in out if u.final]


def words(text: str) -> list[str]:
    return "".join(c for c in text.lower() if c.isalpha() or c == " ").split()


@pytest.mark.parametrize("rate", [8_000, 16_000, 44_100, 48_000])
@pytest.mark.parametrize("channels", [1, 2])
async def test_any_rate_and_channel_count_is_heard_at_the_right_time(
    transcriber: Transcriber, rate: int, channels: int
) -> None:
    speech, _ = speak(SENTENCE, sample_rate=rate)
    lead = np.zeros(rate, np.float32)
    mono = np.concatenate([lead, speech, lead])
    audio = np.stack([mono] * channels, axis=1) * np.array([1.0, 0.6][:channels], np.float32)
    heard = await hear(transcriber, chunks(audio, rate))
    assert len(heard) == 1
    assert words(heard[0].text) == words(SENTENCE)
    voiced = np.nonzero(np.abs(speech) > 0.01)[0]
    assert abs(heard[0].t0 - (1.0 + voiced[0] / rate)) < 0.3
    assert abs(heard[0].t1 - (1.0 + voiced[-1] / rate)) < 0.3


async def test_audio_that_stalls_and_resumes_keeps_media_time(transcriber: Transcriber) -> None:
    rate = 16_000
    speech, _ = speak(SENTENCE, sample_rate=rate)
    part = np.concatenate([np.zeros(rate // 2, np.float32), speech, np.zeros(rate, np.float32)])
    # The source delivers the first part, stalls for 8 s, then resumes where the clock is.
    items = chunks(part, rate) + chunks(part, rate, t0=8.0 + part.size / rate)
    heard = await hear(transcriber, items)
    assert [words(u.text) for u in heard] == [words(SENTENCE)] * 2
    assert heard[1].t0 > 8.0 + part.size / rate, "the second utterance keeps its own time"


async def test_a_resolution_change_and_a_stall_in_video() -> None:
    images = read_frames(VTEST, set(range(0, 100, 10)))
    video = VideoPerception(CpuFrameEncoder(), None, VideoOptions())
    await video.start()
    seen = []
    for second, index in enumerate(range(0, 100, 10)):
        image = images[index]
        if second >= 5:  # the camera switches to 1024x768 half way
            image = cv2.resize(image, (1024, 768))
        t = float(second) if second < 7 else float(second) + 30.0  # then stalls for 30 s
        observation = await video.process(
            VideoFrame(stream_id="s", media_time=t, index=index, image=image)
        )
        if observation is not None:
            seen.append(observation)
    await video.stop()
    assert [o.media_time for o in seen] == [0, 1, 2, 3, 4, 5, 6, 37, 38, 39]
    assert all(o.people >= 2 for o in seen), [o.people for o in seen]
    assert seen[5].motion < 0.5, "the same view at another size is not all motion"
