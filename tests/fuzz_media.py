"""Media made to trouble decoders: odd codecs and containers, sizes, sample rates, channel
counts and clocks, and files damaged the ways disks, networks and half-done uploads damage
them. Every input is generated here from a seed, so a failure can be rebuilt exactly.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

__all__ = ["BASES", "DAMAGES", "NAMES", "ODDITIES", "RAW", "build_all", "encode"]


@dataclass(frozen=True, slots=True)
class Media:
    """What to encode: a container, and a video and/or an audio stream."""

    suffix: str
    video: str | None = "libx264"
    pix_fmt: str = "yuv420p"
    size: tuple[int, int] = (64, 48)
    times: Sequence[float] = tuple(i / 10 for i in range(15))  # frame times, seconds
    audio: str | None = "aac"
    rate: int = 16000
    layout: str = "mono"
    seconds: float = 1.5
    format: str | None = None  # the muxer, when the suffix does not name it


def encode(media: Media, path: Path) -> Path:
    """Write ``media`` to ``path``: moving colours, and a tone that wavers, so every packet
    carries real data rather than a run of identical bytes."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", format=media.format) as out:
        video = audio = None
        if media.video is not None:
            video = out.add_stream(media.video, rate=30)
            video.width, video.height = media.size
            video.pix_fmt = media.pix_fmt
            video.time_base = Fraction(1, 1000)
            video.codec_context.time_base = Fraction(1, 1000)
            if media.video == "libx265":
                video.options = {"x265-params": "log-level=none"}
        if media.audio is not None:
            audio = out.add_stream(media.audio, rate=media.rate, layout=media.layout)
        if video is not None:
            for t in media.times:
                width, height = media.size
                image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
                image[: height // 2] = (int(t * 80) % 255, 40, 200)
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts, frame.time_base = round(t * 1000), Fraction(1, 1000)
                out.mux(video.encode(frame))
            out.mux(video.encode(None))
        if audio is not None:
            channels = audio.codec_context.layout.nb_channels
            block = 1024
            total = int(media.seconds * media.rate)
            for start in range(0, total, block):
                n = min(block, total - start)
                t = (start + np.arange(n)) / media.rate
                tone = (0.3 * np.sin(2 * np.pi * (220 + 40 * np.sin(t)) * t)).astype(np.float32)
                frame = av.AudioFrame.from_ndarray(
                    np.tile(tone, (channels, 1)), format="fltp", layout=media.layout
                )
                frame.sample_rate, frame.pts = media.rate, start
                frame.time_base = Fraction(1, media.rate)
                out.mux(audio.encode(frame))
            out.mux(audio.encode(None))
    return path


BASES: dict[str, Media] = {
    "mp4-h264-aac": Media(".mp4"),
    "mkv-mpeg4-mp3": Media(".mkv", video="mpeg4", audio="libmp3lame", rate=22050),
    "avi-mjpeg-pcm": Media(".avi", video="mjpeg", pix_fmt="yuvj420p", audio="pcm_s16le"),
    "webm-vp8-opus": Media(".webm", video="libvpx", audio="libopus", rate=48000),
    "webm-vp9-opus-stereo": Media(
        ".webm", video="libvpx-vp9", audio="libopus", rate=48000, layout="stereo"
    ),
    "mov-hevc-alac": Media(".mov", video="libx265", audio="alac", rate=44100),
    "mkv-ffv1-flac": Media(".mkv", video="ffv1", pix_fmt="yuv420p", audio="flac", rate=32000),
    "nut-raw-f32": Media(".nut", video="rawvideo", pix_fmt="bgr24", audio="pcm_f32le"),
    "ts-h264-mp2": Media(".ts", audio="mp2", rate=32000, layout="stereo"),
}
"""Well-formed files in many codecs and containers, each then damaged (:data:`DAMAGES`)."""

ODDITIES: dict[str, Media] = {
    "gif-video-only": Media(".gif", video="gif", pix_fmt="rgb8", audio=None),
    "mov-png-video-only": Media(".mov", video="png", pix_fmt="rgb24", audio=None),
    "mp4-video-only": Media(".mp4", audio=None),
    "tiny-2x2": Media(".avi", video="mjpeg", pix_fmt="yuvj444p", size=(2, 2), audio=None),
    "odd-33x17": Media(".avi", video="mjpeg", pix_fmt="yuvj444p", size=(33, 17)),
    "tall-16x1024": Media(".mp4", size=(16, 1024), audio=None),
    "uhd-3840x2160": Media(".mp4", size=(3840, 2160), times=(0.0, 0.5), audio=None),
    "one-frame": Media(".mp4", times=(0.0,), audio=None),
    "variable-rate": Media(".mkv", times=(0.0, 0.02, 0.04, 0.9, 0.91, 2.5, 2.6)),
    "late-first-frame": Media(".mkv", times=(5.0, 5.1, 5.2)),
    "wav-u8-8k": Media(".wav", video=None, audio="pcm_u8", rate=8000),
    "wav-mulaw-8k": Media(".wav", video=None, audio="pcm_mulaw", rate=8000),
    "wav-96k-5.1": Media(".wav", video=None, audio="pcm_s16le", rate=96000, layout="5.1"),
    "wav-f32-stereo": Media(".wav", video=None, audio="pcm_f32le", layout="stereo"),
    "flac-11k": Media(".flac", video=None, audio="flac", rate=11025),
    "ogg-opus": Media(".ogg", video=None, audio="libopus", rate=48000),
    "mp3-stereo": Media(".mp3", video=None, audio="libmp3lame", rate=44100, layout="stereo"),
    "m4a-aac-quad": Media(".m4a", video=None, audio="aac", rate=48000, layout="quad"),
    "mka-alac-stereo": Media(".mka", video=None, audio="alac", rate=44100, layout="stereo"),
    "long-silence-short-video": Media(".mkv", times=(0.0, 0.1), seconds=6.0),
}
"""Well-formed but unusual inputs, played as they are."""

Damage = Callable[[bytes, random.Random], bytes]


def _flip(count: int) -> Damage:
    def damage(data: bytes, rng: random.Random) -> bytes:
        out = bytearray(data)
        for _ in range(count):
            out[rng.randrange(len(out) // 8, len(out))] ^= 1 << rng.randrange(8)
        return bytes(out)

    return damage


def _span(data: bytes, rng: random.Random, width: int) -> tuple[int, int]:
    """A stretch of ``width`` bytes in the middle half of ``data``."""
    start = rng.randrange(len(data) // 4, max(len(data) // 4 + 1, 3 * len(data) // 4))
    return start, min(len(data), start + width)


def _cut(fraction: float) -> Damage:
    return lambda data, _: data[: int(len(data) * fraction)]


def _zeroed(data: bytes, rng: random.Random) -> bytes:
    a, b = _span(data, rng, 2048)
    return data[:a] + bytes(b - a) + data[b:]


def _noise(data: bytes, rng: random.Random) -> bytes:
    a, b = _span(data, rng, 2048)
    return data[:a] + rng.randbytes(b - a) + data[b:]


def _inserted(data: bytes, rng: random.Random) -> bytes:
    a, _ = _span(data, rng, 0)
    return data[:a] + rng.randbytes(777) + data[a:]


def _dropped(data: bytes, rng: random.Random) -> bytes:
    a, b = _span(data, rng, 1500)
    return data[:a] + data[b:]


def _repeated(data: bytes, rng: random.Random) -> bytes:
    a, b = _span(data, rng, 1500)
    return data[:b] + data[a:b] + data[b:]


def _garbled_head(data: bytes, rng: random.Random) -> bytes:
    return rng.randbytes(64) + data[64:]


DAMAGES: dict[str, Damage] = {
    "cut-10pc": _cut(0.1),
    "cut-50pc": _cut(0.5),
    "cut-90pc": _cut(0.9),
    "flip-8": _flip(8),
    "flip-64": _flip(64),
    "zeroed-block": _zeroed,
    "noise-block": _noise,
    "inserted-noise": _inserted,
    "dropped-block": _dropped,
    "repeated-block": _repeated,
    "garbled-head": _garbled_head,
}
"""Ways a file arrives damaged; each is applied to every base file."""

RAW: dict[str, Callable[[random.Random], bytes]] = {
    "empty.mp4": lambda _: b"",
    "one-byte.mkv": lambda _: b"\x1a",
    "random-4k.mp4": lambda r: r.randbytes(4096),
    "random-256k.avi": lambda r: r.randbytes(256 * 1024),
    "text.mp4": lambda _: b"this is not a video, only words\n" * 40,
    "html.webm": lambda _: b"<!doctype html><html><body>404 Not Found</body></html>\n",
    "zeros.wav": lambda _: bytes(100_000),
}
"""Bytes that are no media at all, under media names."""


def build_all(folder: Path) -> dict[str, Path]:
    """Every fuzz input in ``folder``, by name (more than a hundred)."""
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}
    for name, media in {**BASES, **ODDITIES}.items():
        made[name] = encode(media, folder / f"{name}{media.suffix}")
    for base, media in BASES.items():
        data = made[base].read_bytes()
        for damage_name, damage in DAMAGES.items():
            rng = random.Random(f"{base}/{damage_name}")
            path = folder / f"{base}+{damage_name}{media.suffix}"
            path.write_bytes(damage(data, rng))
            made[path.stem] = path
    for name, make in RAW.items():
        path = folder / name
        path.write_bytes(make(random.Random(name)))
        made[name] = path
    made["timestamps-jump-back.ts"] = _concatenated(made["ts-h264-mp2"], folder)
    return made


def _concatenated(ts: Path, folder: Path) -> Path:
    """An MPEG-TS recording restarted mid-file: its clock jumps back to zero halfway."""
    path = folder / "timestamps-jump-back.ts"
    path.write_bytes(ts.read_bytes() * 2)
    return path


NAMES: tuple[str, ...] = (
    *BASES,
    *ODDITIES,
    *(f"{base}+{damage}" for base in BASES for damage in DAMAGES),
    *RAW,
    "timestamps-jump-back.ts",
)
"""The names :func:`build_all` makes, known without building them (for test ids)."""
