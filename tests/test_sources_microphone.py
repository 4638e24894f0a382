"""MicrophoneSource with the paced FakeInputStream, plus real opens of missing devices."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pytest
import sounddevice

from runtime.sources import MicrophoneSource, SourceItem, open_source
from tests.fakes.devices import FakeInputStream
from vigil.errors import DeviceNotFound
from vigil.items import AudioChunk, EndOfStream, StreamError

RATE = 16000


def _ramp(seconds: float) -> np.ndarray:
    """A signal whose every sample is distinct, so each block's content gives its position."""
    return (np.arange(round(seconds * RATE), dtype=np.float32) / RATE / 10).astype(np.float32)


def _factory(signal: np.ndarray, **options: Any) -> Any:
    return lambda **kwargs: FakeInputStream(signal, **kwargs, **options)


async def _drain(source: MicrophoneSource) -> list[SourceItem]:
    async with source:
        return [item async for item in source]


async def test_blocks_arrive_in_real_time_with_exact_media_times() -> None:
    signal = _ramp(1.0)
    source = MicrophoneSource(stream_id="mic", stream_factory=_factory(signal, unplug_after=8))
    started = time.monotonic()
    items = await _drain(source)
    elapsed = time.monotonic() - started

    chunks = [item for item in items if isinstance(item, AudioChunk)]
    assert [c.media_time for c in chunks] == [k * 1600 / RATE for k in range(8)]  # exact
    assert all(c.samples.shape == (1600, 1) and c.sample_rate == RATE for c in chunks)
    np.testing.assert_array_equal(np.concatenate([c.samples[:, 0] for c in chunks]), signal[:12800])
    assert 0.75 < elapsed < 1.6
    error, end = items[-2], items[-1]
    assert isinstance(error, StreamError) and error.fatal
    assert error.media_time == pytest.approx(0.8)
    assert isinstance(end, EndOfStream) and end.reason == "device lost"
    assert source.stats.audio_chunks == 8 and source.stats.dropped == 0


async def test_input_overflow_is_reported_and_the_stream_goes_on() -> None:
    factory = _factory(_ramp(0.5), overflow_at={2}, unplug_after=4)
    items = await _drain(MicrophoneSource(stream_id="mic", block_duration=0.05,
                                          stream_factory=factory))  # fmt: skip
    kinds = [type(item).__name__ for item in items]
    assert kinds[:5] == ["AudioChunk", "AudioChunk", "StreamError", "AudioChunk", "AudioChunk"]
    overflow = items[2]
    assert isinstance(overflow, StreamError) and not overflow.fatal
    assert "input overflow" in overflow.message and overflow.media_time == pytest.approx(0.1)


async def test_a_microphone_that_goes_quiet_is_declared_lost() -> None:
    factory = _factory(_ramp(0.5), unplug_after=3, silent_unplug=True)
    source = MicrophoneSource(stream_id="mic", block_duration=0.05, stall_timeout=0.3,
                              stream_factory=factory)  # fmt: skip
    items = await _drain(source)
    assert sum(isinstance(item, AudioChunk) for item in items) == 3
    assert isinstance(items[-2], StreamError) and "went silent" in items[-2].message
    assert isinstance(items[-1], EndOfStream) and items[-1].reason == "device lost"


async def test_a_slow_consumer_loses_audio_loudly() -> None:
    factory = _factory(_ramp(1.0), unplug_after=20)
    source = MicrophoneSource(stream_id="mic", block_duration=0.02, capacity=3,
                              stream_factory=factory)  # fmt: skip
    await source.open()
    while source.stats.audio_chunks < 20:  # 20 blocks of 20 ms arrive while nobody reads
        await asyncio.sleep(0.02)
    items = [item async for item in source]
    await source.close()
    report = items[0]
    assert isinstance(report, StreamError) and not report.fatal
    assert "0.340 s of audio" in report.message and report.media_time == pytest.approx(0.0)
    chunks = [item for item in items if isinstance(item, AudioChunk)]
    assert [round(c.media_time, 2) for c in chunks] == [0.34, 0.36, 0.38]
    stats = source.stats
    assert (stats.audio_chunks, stats.dropped_audio_chunks) == (20, 17)
    assert stats.dropped_audio_seconds == pytest.approx(0.34)


async def test_close_stops_the_stream() -> None:
    streams: list[FakeInputStream] = []

    def factory(**kwargs: Any) -> FakeInputStream:
        streams.append(FakeInputStream(_ramp(0.1), **kwargs))
        return streams[-1]

    source = MicrophoneSource(3, stream_id="mic", block_duration=0.02, stream_factory=factory)
    items = []
    await source.open()
    async for item in source:
        items.append(item)
        if len(items) == 4:
            await source.close()
    assert isinstance(items[-1], EndOfStream) and items[-1].reason == "stopped"
    assert streams[0].closed and not streams[0].active and streams[0].device == 3


async def test_missing_microphones_are_device_not_found() -> None:
    with pytest.raises(DeviceNotFound, match="no-such-microphone") as caught:
        await MicrophoneSource("no-such-microphone", stream_id="mic").open()  # real PortAudio
    assert "python -m sounddevice" in caught.value.hint

    def broken(**kwargs: Any) -> FakeInputStream:
        raise sounddevice.PortAudioError("Error opening InputStream: Device unavailable")

    with pytest.raises(DeviceNotFound, match="Device unavailable"):
        await MicrophoneSource(1, stream_id="mic", stream_factory=broken).open()


def test_open_source_parses_microphone_specs() -> None:
    cases = {"mic": None, "mic:default": None, "mic:3": 3, "mic:USB Audio": "USB Audio"}
    for spec, device in cases.items():
        source = open_source(spec, stream_id="mic")
        assert isinstance(source, MicrophoneSource) and source.device == device, spec
