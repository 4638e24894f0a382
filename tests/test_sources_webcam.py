"""WebcamSource with the paced FakeCapture, plus one real open of a camera that is not there."""

from __future__ import annotations

import asyncio
import time

import cv2
import numpy as np
import pytest

from runtime.sources import SourceItem, WebcamSource, open_source
from tests.fakes.devices import FakeCapture
from vigil.errors import DeviceNotFound
from vigil.items import EndOfStream, StreamError, VideoFrame


def _frames(count: int) -> np.ndarray:
    """Frame i is grey level 10*(i % 25), so its index can be read back from its pixels."""
    return np.stack([np.full((48, 64, 3), 10 * (i % 25), np.uint8) for i in range(count)])


async def _drain(source: WebcamSource) -> list[SourceItem]:
    async with source:
        return [item async for item in source]


async def test_frames_arrive_in_real_time_then_unplug_ends_the_stream() -> None:
    camera = FakeCapture(_frames(10), fps=20, unplug_after=10)
    source = WebcamSource(0, stream_id="cam", capture_factory=lambda device: camera,
                          max_failed_reads=3)  # fmt: skip
    started = time.monotonic()
    items = await _drain(source)
    elapsed = time.monotonic() - started

    frames = [item for item in items if isinstance(item, VideoFrame)]
    assert [round(float(f.image.mean()) / 10) for f in frames] == list(range(10))
    assert [f.index for f in frames] == list(range(10))
    times = np.array([f.media_time for f in frames])
    assert times[0] < 0.2
    assert times - times[0] == pytest.approx(np.arange(10) / 20, abs=0.04)
    assert 0.4 < elapsed < 1.5
    error, end = items[-2], items[-1]
    assert isinstance(error, StreamError) and error.fatal and "stopped delivering" in error.message
    assert isinstance(end, EndOfStream) and end.reason == "device lost"
    assert camera.released
    assert source.stats.frames == 10 and source.stats.errors == 1


async def test_fps_caps_the_rate_of_a_faster_camera() -> None:
    camera = FakeCapture(_frames(30), fps=30, unplug_after=30)
    source = WebcamSource("/dev/video7", stream_id="cam", fps=10, max_failed_reads=1,
                          capture_factory=lambda device: camera)  # fmt: skip
    frames = [item for item in await _drain(source) if isinstance(item, VideoFrame)]
    assert 9 <= len(frames) <= 11
    assert camera.requested == {cv2.CAP_PROP_FPS: 10}
    assert np.diff([f.media_time for f in frames]).min() > 0.08


async def test_slow_consumer_loses_the_oldest_frames_not_the_newest() -> None:
    camera = FakeCapture(_frames(20), fps=100, unplug_after=20)
    source = WebcamSource(0, stream_id="cam", capacity=2, max_failed_reads=2,
                          capture_factory=lambda device: camera)  # fmt: skip
    await source.open()
    while source.stats.frames < 20:  # the camera delivers everything while nobody reads
        await asyncio.sleep(0.02)
    items = [item async for item in source]
    await source.close()
    frames = [item for item in items if isinstance(item, VideoFrame)]
    assert [f.index for f in frames] == [18, 19]
    assert source.stats.frames == 20 and source.stats.dropped_frames == 18
    assert isinstance(items[-1], EndOfStream)


async def test_close_stops_a_live_camera() -> None:
    camera = FakeCapture(_frames(5), fps=50, loop=True)
    source = WebcamSource(0, stream_id="cam", capture_factory=lambda device: camera)
    await source.open()
    items = []
    async for item in source:
        items.append(item)
        if len(items) == 5:
            await source.close()
    assert isinstance(items[-1], EndOfStream) and items[-1].reason == "stopped"
    assert camera.released
    await source.close()  # idempotent


async def test_missing_camera_is_device_not_found() -> None:
    fake = WebcamSource(0, stream_id="cam", capture_factory=lambda d: FakeCapture([], opened=False))
    with pytest.raises(DeviceNotFound, match="no camera at 0"):
        await fake.open()
    with pytest.raises(DeviceNotFound, match="no camera at '/dev/video63'") as caught:
        await WebcamSource("/dev/video63", stream_id="cam").open()  # the real cv2.VideoCapture
    assert "/dev/video" in caught.value.hint


def test_open_source_parses_camera_specs() -> None:
    cases = {"webcam:0": 0, "webcam:3": 3, "webcam": 0, "webcam:/dev/video2": "/dev/video2",
             "/dev/video5": "/dev/video5"}  # fmt: skip
    for spec, device in cases.items():
        source = open_source(spec, stream_id="cam")
        assert isinstance(source, WebcamSource) and source.device == device, spec
