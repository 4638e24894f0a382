"""VideoPerception: 1 Hz observations, OCR in its own lane, scene cuts."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from perception.describe import describe
from perception.encoders.base import FrameFeatures
from perception.encoders.cpu import CpuFrameEncoder
from perception.ocr import TextLine, TextReader
from perception.video import VideoOptions, VideoPerception
from tests.perception_models import VTEST, read_frames
from vigil.items import Observation, VideoFrame


@pytest.fixture(scope="module")
def encoder() -> Iterator[CpuFrameEncoder]:
    encoder = CpuFrameEncoder()
    yield encoder
    encoder.close()


def street(t: float) -> np.ndarray:
    """A dark scene with a square moving right."""
    image = np.full((360, 480, 3), (60, 70, 50), np.uint8)
    x = 20 + int(30 * t)
    image[150:230, x : x + 50] = (40, 40, 200)
    return image


def exit_sign() -> np.ndarray:
    image = np.full((360, 480, 3), 235, np.uint8)
    cv2.putText(image, "EXIT", (140, 200), cv2.FONT_HERSHEY_SIMPLEX, 3.0, (0, 0, 0), 8)
    return image


def frame(t: float, index: int, image: np.ndarray) -> VideoFrame:
    return VideoFrame(stream_id="cam", media_time=t, index=index, image=image)


class SlowReader(TextReader):
    """A reader that takes 1.5 s, to show that process() never waits for it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.done = threading.Event()

    def load(self) -> None:
        pass

    def read(self, image: np.ndarray) -> list[TextLine]:
        self.calls += 1
        time.sleep(1.5)
        self.last_seconds = 1.5
        self.done.set()
        return [TextLine(text="EXIT", confidence=0.99, box=(0, 0, 1, 1))]


async def test_one_observation_per_second_from_ten_fps(encoder: CpuFrameEncoder) -> None:
    video = VideoPerception(encoder, None, VideoOptions(sample_rate_hz=1.0))
    await video.start()
    observations: list[Observation] = []
    for i in range(50):
        t = i * 0.1
        wanted = video.wants(t)
        result = await video.process(frame(t, i, street(t)))
        assert (result is not None) == wanted
        if result is not None:
            observations.append(result)
    await video.stop()
    assert [o.frame_index for o in observations] == [0, 10, 20, 30, 40]
    assert [o.media_time for o in observations] == pytest.approx([0, 1, 2, 3, 4])
    first, later = observations[0], observations[1:]
    assert first.motion == 0.0 and all(0 < o.motion < 0.2 for o in later)
    assert not any(o.scene_change for o in observations)
    assert all(o.embedding is not None and o.stream_id == "cam" for o in observations)
    assert "perception" in first.stamps
    assert first.description == describe(
        people=first.people, faces=first.faces, colours=first.colours, motion=0.0
    )


async def test_ocr_text_arrives_later_and_never_delays_process(
    encoder: CpuFrameEncoder,
) -> None:
    reader = SlowReader()
    video = VideoPerception(encoder, reader, VideoOptions(ocr_min_interval=2.0))
    await video.start()
    sign = exit_sign()
    seen: list[Observation] = []
    slowest = 0.0
    try:
        for i in range(40):  # 4 s of 10 fps
            t = i * 0.1
            started = time.perf_counter()
            result = await video.process(frame(t, i, sign))
            slowest = max(slowest, time.perf_counter() - started)
            if result is not None:
                seen.append(result)
                await asyncio.sleep(0.5)  # half a second of wall time per sampled frame
    finally:
        await video.stop()
    assert slowest < 1.0  # the 1.5 s OCR never ran inside process()
    assert seen[0].text == ()  # the first observation did not wait for its OCR
    with_text = [o for o in seen if o.text == ("EXIT",)]
    assert with_text and with_text[0].media_time >= 1.0
    assert "on-screen text: 'EXIT'" in with_text[0].description
    assert reader.calls == 1  # the picture never changed, so it was read once


async def test_unpaced_text_arrives_at_the_next_observation_as_it_would_live(
    encoder: CpuFrameEncoder,
) -> None:
    """Frames fed as fast as possible: without settling, the 1.5 s reading would land seconds
    of media later; settled, the frame after the request carries the text."""
    video = VideoPerception(encoder, SlowReader(), VideoOptions(settle_ocr=True))
    await video.start()
    seen: list[Observation] = []
    try:
        for i in range(40):
            result = await video.process(frame(i * 0.1, i, exit_sign()))
            if result is not None:
                seen.append(result)
    finally:
        await video.stop()
    assert [o.text for o in seen] == [(), ("EXIT",), ("EXIT",), ("EXIT",)]


async def test_scene_cut_is_flagged_and_real_ocr_reads_the_new_scene(
    encoder: CpuFrameEncoder,
) -> None:
    video = VideoPerception(encoder, TextReader(), VideoOptions())
    await video.start()
    observations: list[Observation] = []
    try:
        for i in range(120):  # a street for 4 s, then a cut to an EXIT sign
            t = i * 0.1
            image = street(t) if t < 4.0 else exit_sign()
            result = await video.process(frame(t, i, image))
            if result is not None:
                observations.append(result)
                await asyncio.sleep(0.3)
    finally:
        await video.stop()
    cuts = [o.media_time for o in observations if o.scene_change]
    assert cuts == pytest.approx([4.0])
    texts = {round(o.media_time): o.text for o in observations}
    assert all(texts[s] == () for s in range(0, 5))
    assert ("EXIT",) in texts.values()
    assert video.ocr_runs <= 3


async def test_real_footage_at_one_hertz(encoder: CpuFrameEncoder) -> None:
    frames = read_frames(VTEST, set(range(0, 60)))
    video = VideoPerception(encoder, None, VideoOptions())
    await video.start()
    results = [await video.process(frame(i / 10, i, frames[i])) for i in range(60)]
    await video.stop()
    observations = [o for o in results if o is not None]
    assert len(observations) == 6
    assert all(o.people >= 3 for o in observations[1:])
    assert all(o.motion > 0 for o in observations[1:])
    assert not any(o.scene_change for o in observations)
    assert observations[-1].description.startswith(f"{observations[-1].people} people")


class BoxEncoder:
    """Reports two 'people': one on a fixed structure, one on a moving square."""

    name = "boxes"
    embedding_dim = 4

    def encode(self, image: np.ndarray) -> FrameFeatures:
        columns = np.nonzero(image[190, :, 2] == 200)[0]  # the red square of street()
        moving = (int(columns[0]), 150, 50, 80)
        return FrameFeatures(
            people=2,
            faces=0,
            colours=("grey",),
            embedding=np.array([1.0, 0.0, 0.0, 0.0], np.float32),
            people_boxes=((400, 20, 40, 100), moving),
        )


# The fixed structure stops being detected at the third frame; its track then lingers one
# sampled frame (``TrackerOptions.linger``) before the count drops.
@pytest.mark.parametrize(("after", "expected"), [(2, [2, 2, 2, 1, 1]), (None, [2] * 5)])
async def test_still_detections_at_one_place_stop_counting(
    after: int | None, expected: list[int]
) -> None:
    video = VideoPerception(BoxEncoder(), None, VideoOptions(static_people_after=after))
    await video.start()
    results = [await video.process(frame(t, t, street(t))) for t in range(5)]
    await video.stop()
    assert [o.people for o in results if o is not None] == expected
