"""FileSource on real files written by evaluation.media: timing, pacing, and bad input."""

from __future__ import annotations

import itertools
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from evaluation.media import write_clip
from runtime.sources import FileSource, SourceItem, open_source
from runtime.sources import file as file_module
from runtime.sources.file import audio_array
from vigil.errors import MediaError
from vigil.items import AudioChunk, EndOfStream, StreamError, VideoFrame

FPS = 10


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s: frame i is grey level 10*i; a 1 kHz beep plays from 1.0 to 1.1 s."""
    frames = [np.full((96, 128, 3), 10 * i, np.uint8) for i in range(2 * FPS)]
    audio = np.zeros(32000, np.float32)
    audio[16000:17600] = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(1600) / 16000)
    return write_clip(tmp_path_factory.mktemp("media") / "clip.mp4", frames, FPS, audio).path


async def _play(source: FileSource) -> list[SourceItem]:
    async with source:
        return [item async for item in source]


async def test_video_and_audio_timestamps_line_up(clip: Path) -> None:
    items = await _play(FileSource(clip, stream_id="s", paced=False))
    assert isinstance(items[-1], EndOfStream) and items[-1].reason == "eof"
    assert sum(isinstance(item, EndOfStream) for item in items) == 1
    frames = [item for item in items if isinstance(item, VideoFrame)]
    chunks = [item for item in items if isinstance(item, AudioChunk)]
    assert [f.media_time for f in frames] == pytest.approx([i / FPS for i in range(20)])
    assert [f.index for f in frames] == list(range(20))
    assert [round(float(f.image.mean()) / 10) for f in frames] == list(range(20))
    assert all(f.image.dtype == np.uint8 and f.size == (128, 96) for f in frames)

    beep_frame = next(f for f in frames if f.media_time == pytest.approx(1.0))
    assert beep_frame.index == 10 and round(float(beep_frame.image.mean()) / 10) == 10
    first_loud = next(c for c in chunks if np.abs(c.samples).max() > 0.1)
    offset = int(np.flatnonzero(np.abs(first_loud.samples[:, 0]) > 0.1)[0])
    assert first_loud.media_time + offset / first_loud.sample_rate == pytest.approx(1.0, abs=0.01)
    assert all(c.samples.dtype == np.float32 and c.samples.shape[1] == 1 for c in chunks)
    assert sum(c.duration for c in chunks) == pytest.approx(2.0, abs=0.07)
    assert all(b.media_time > a.media_time for a, b in itertools.pairwise(chunks))


async def test_paced_playback_takes_real_time_and_unpaced_does_not(clip: Path) -> None:
    started = time.monotonic()
    paced = await _play(FileSource(clip, stream_id="s"))
    paced_wall = time.monotonic() - started
    started = time.monotonic()
    unpaced = await _play(FileSource(clip, stream_id="s", paced=False))
    unpaced_wall = time.monotonic() - started
    assert 1.85 < paced_wall < 2.6
    assert unpaced_wall < 0.8
    assert len(paced) == len(unpaced)


async def test_a_resumed_stream_plays_from_its_second_paced_from_there(clip: Path) -> None:
    """What a perception actor restarted mid-stream asks for: the rest, on the same clock."""
    started = time.monotonic()
    items = await _play(FileSource(clip, stream_id="s", start_at=1.2))
    wall = time.monotonic() - started
    frames = [item for item in items if isinstance(item, VideoFrame)]
    assert [f.media_time for f in frames] == pytest.approx([i / FPS for i in range(12, 20)])
    assert [round(float(f.image.mean()) / 10) for f in frames] == list(range(12, 20))
    chunks = [item for item in items if isinstance(item, AudioChunk)]
    assert chunks[0].media_time >= 1.2 - 0.07 and chunks[-1].media_time < 2.0
    assert 0.6 < wall < 1.4  # the 0.8 s left, in real time


async def test_audio_or_video_only(clip: Path) -> None:
    source = FileSource(clip, stream_id="s", paced=False, video=False)
    items = await _play(source)
    assert not any(isinstance(item, VideoFrame) for item in items)
    assert source.stats.audio_chunks > 20 and source.stats.frames == 0
    assert source.stats.dropped == 0


async def test_missing_and_garbage_files_fail_to_open(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="no such media file") as caught:
        await FileSource(tmp_path / "nope.mp4", stream_id="s").open()
    assert caught.value.hint
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
    with pytest.raises(MediaError, match="not a readable media file"):
        await FileSource(garbage, stream_id="s").open()
    text = tmp_path / "notes.txt"
    text.write_text("not a video\n" * 50)
    with pytest.raises(MediaError, match="text file"):
        await FileSource(text, stream_id="s").open()
    with pytest.raises(MediaError, match="unsupported URL scheme"):
        await FileSource("gopher://example.org/clip", stream_id="s").open()


async def test_unknown_codec_fails_to_open(clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_module, "_has_decoder", lambda stream: False)
    with pytest.raises(MediaError, match="unknown codec") as caught:
        await FileSource(clip, stream_id="s").open()
    assert "ffmpeg" in caught.value.hint


async def test_truncated_file_gives_what_exists_then_ends(tmp_path: Path) -> None:
    frames = [np.random.default_rng(i).integers(0, 256, (96, 128, 3), np.uint8) for i in range(30)]
    whole = write_clip(tmp_path / "whole.mkv", frames, FPS, np.zeros(48000, np.float32)).path
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    items = await _play(FileSource(cut, stream_id="s", paced=False))
    decoded = [item for item in items if isinstance(item, VideoFrame)]
    assert 3 <= len(decoded) < 30
    assert isinstance(items[-1], EndOfStream)
    assert sum(isinstance(item, EndOfStream) for item in items) == 1


async def test_corrupt_packet_is_reported_and_skipped(tmp_path: Path) -> None:
    frames = [np.random.default_rng(i).integers(0, 256, (96, 128, 3), np.uint8) for i in range(30)]
    path = write_clip(tmp_path / "clip.mp4", frames, FPS).path
    with av.open(str(path)) as container:
        packets = [p for p in container.demux(video=0) if p.size]
    victim = packets[15]
    data = bytearray(path.read_bytes())
    data[victim.pos : victim.pos + victim.size] = b"\xff" * victim.size
    path.write_bytes(bytes(data))

    items = await _play(FileSource(path, stream_id="s", paced=False))
    errors = [item for item in items if isinstance(item, StreamError)]
    assert errors and not any(e.fatal for e in errors)
    assert "corrupt video packet" in errors[0].message
    assert errors[0].media_time == pytest.approx(1.5, abs=0.2)
    times = [item.media_time for item in items if isinstance(item, VideoFrame)]
    assert 25 <= len(times) < 30 and max(times) == pytest.approx(2.9)
    assert isinstance(items[-1], EndOfStream) and items[-1].reason == "eof"


def _write_two_sizes(path: Path, sizes: tuple[tuple[int, int], ...]) -> None:
    """One H.264 stream in MPEG-TS whose resolution changes: a new encoder per size."""
    with av.open(str(path), "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height = sizes[0]
        stream.pix_fmt = "yuv420p"
        index = 0
        for n, (width, height) in enumerate(sizes):
            codec = stream.codec_context
            if n:
                codec = av.CodecContext.create("libx264", "w")
                codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
                codec.time_base, codec.framerate = Fraction(1, FPS), Fraction(FPS)
            for _ in range(FPS):
                image = np.full((height, width, 3), 10 * index, np.uint8)
                frame = av.VideoFrame.from_ndarray(image, format="bgr24")
                frame.pts, frame.time_base = index, Fraction(1, FPS)
                index += 1
                for packet in [*codec.encode(frame)]:
                    packet.stream = stream
                    out.mux(packet)
            for packet in codec.encode(None):
                packet.stream = stream
                out.mux(packet)


async def test_resolution_change_mid_stream(tmp_path: Path) -> None:
    path = tmp_path / "two.ts"
    _write_two_sizes(path, ((160, 120), (320, 240)))
    items = await _play(FileSource(path, stream_id="s", paced=False))
    frames = [item for item in items if isinstance(item, VideoFrame)]
    assert [f.size for f in frames] == [(160, 120)] * FPS + [(320, 240)] * FPS
    assert [round(float(f.image.mean()) / 10) for f in frames] == list(range(2 * FPS))
    steps = np.diff([f.media_time for f in frames])
    assert steps == pytest.approx(np.full(2 * FPS - 1, 1 / FPS))


async def test_close_mid_stream_ends_the_stream(clip: Path) -> None:
    source = FileSource(clip, stream_id="s")
    await source.open()
    items = []
    async for item in source:
        items.append(item)
        if len(items) == 3:
            await source.close()
    await source.close()
    assert isinstance(items[-1], EndOfStream) and items[-1].reason == "stopped"
    assert len(items) < 10


def test_audio_array_handles_packed_and_planar_formats() -> None:
    packed = av.AudioFrame.from_ndarray(
        np.array([[0, 16384, -32768, 32767]], np.int16), format="s16", layout="stereo"
    )
    assert audio_array(packed) == pytest.approx(np.array([[0, 0.5], [-1, 1]]), abs=1e-4)
    planar = av.AudioFrame.from_ndarray(
        np.array([[0.1, 0.2], [0.3, 0.4]], np.float32), format="fltp", layout="stereo"
    )
    assert audio_array(planar) == pytest.approx(np.array([[0.1, 0.3], [0.2, 0.4]]))


def test_open_source_treats_paths_and_urls_as_files(clip: Path) -> None:
    source = open_source(str(clip), stream_id="s", paced=False)
    assert isinstance(source, FileSource) and not source.paced and source.lossless
    rtsp = open_source("rtsp://camera.local/stream", stream_id="s")
    assert isinstance(rtsp, FileSource) and rtsp.scheme == "rtsp" and not rtsp.lossless
    assert open_source("https://example.org/clip.mp4", stream_id="s", paced=False).lossless
    assert isinstance(open_source(f"file://{clip}", stream_id="s"), FileSource)
