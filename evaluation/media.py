"""Writing test media: H.264 + AAC clips with PyAV, and synthetic speech with espeak-ng.

Tests, the demo and the synthetic benchmark generator all need real media files with known
content at known times. Making them here, from numpy arrays, keeps the ground truth exact: a
frame written at index ``i`` plays at ``i / fps`` and a sample at ``n`` plays at
``n / sample_rate``.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import soundfile

from vigil.errors import MediaError

__all__ = [
    "WrittenClip",
    "cut_frames",
    "resample",
    "speak",
    "write_clip",
]

_AAC_FRAME = 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class WrittenClip:
    """What :func:`write_clip` wrote, after padding: both tracks last ``duration`` seconds."""

    path: Path
    frames: int
    fps: float
    width: int
    height: int
    duration: float
    audio_samples: int
    sample_rate: int | None


def write_clip(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float,
    audio: np.ndarray | None = None,
    sample_rate: int = 16000,
    *,
    crf: int = 28,
    preset: str = "veryfast",
) -> WrittenClip:
    """Encode BGR uint8 ``frames`` (and float32 ``audio``) into an H.264 + AAC file.

    ``audio`` is shaped (samples,) or (samples, channels) in [-1, 1]. The shorter track is
    padded so both end together: video by repeating its last frame, audio with silence. The
    container follows the suffix (``.mp4``, ``.mkv``, ``.ts`` ...).
    """
    path = Path(path)
    rate = Fraction(fps).limit_denominator(1001)
    audio2d = None if audio is None else _as_2d(audio)
    images = iter(frames)
    first = next(images, None)
    if first is None:
        raise ValueError("write_clip needs at least one frame")
    with av.open(str(path), mode="w") as container:
        video = _add_video(container, first, rate, crf, preset)
        sound = None if audio2d is None else _add_audio(container, audio2d.shape[1], sample_rate)
        count = 0
        last = first
        for image in itertools.chain([first], images):
            _encode_image(container, video, image, count)
            last, count = image, count + 1
        if audio2d is not None:
            while count / rate < audio2d.shape[0] / sample_rate:
                _encode_image(container, video, last, count)
                count += 1
        container.mux(video.encode(None))
        duration = float(count / rate)
        samples = 0
        if audio2d is not None and sound is not None:
            samples = round(duration * sample_rate)
            padded = np.zeros((samples, audio2d.shape[1]), dtype=np.float32)
            padded[: audio2d.shape[0]] = audio2d[:samples]
            _encode_audio(container, sound, padded, sample_rate)
    height, width = last.shape[:2]
    return WrittenClip(
        path=path,
        frames=count,
        fps=float(rate),
        width=width - width % 2,
        height=height - height % 2,
        duration=duration,
        audio_samples=samples,
        sample_rate=sample_rate if audio2d is not None else None,
    )


def _as_2d(audio: np.ndarray) -> np.ndarray:
    array = np.asarray(audio, dtype=np.float32)
    return array[:, None] if array.ndim == 1 else array


def _add_video(
    container: av.container.OutputContainer,
    image: np.ndarray,
    rate: Fraction,
    crf: int,
    preset: str,
) -> av.VideoStream:
    stream = container.add_stream("libx264", rate=rate)
    height, width = image.shape[:2]
    stream.width, stream.height = width - width % 2, height - height % 2
    stream.pix_fmt = "yuv420p"
    stream.time_base = 1 / rate
    stream.codec_context.options = {"crf": str(crf), "preset": preset}
    return stream


def _encode_image(
    container: av.container.OutputContainer, stream: av.VideoStream, image: np.ndarray, index: int
) -> None:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"frames must be HxWx3 uint8 BGR arrays, got {image.dtype} {image.shape}")
    image = image[: stream.height, : stream.width]
    if image.shape[:2] != (stream.height, stream.width):
        raise ValueError("all frames of a clip must have the same size")
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
    frame.pts = index
    container.mux(stream.encode(frame))


def _add_audio(
    container: av.container.OutputContainer, channels: int, sample_rate: int
) -> av.AudioStream:
    stream = container.add_stream("aac", rate=sample_rate)
    stream.layout = "mono" if channels == 1 else "stereo"
    stream.format = "fltp"
    return stream


def _encode_audio(
    container: av.container.OutputContainer,
    stream: av.AudioStream,
    samples: np.ndarray,
    sample_rate: int,
) -> None:
    planar = np.ascontiguousarray(samples.T)
    for start in range(0, planar.shape[1], _AAC_FRAME):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(planar[:, start : start + _AAC_FRAME]),
            format="fltp",
            layout=stream.layout.name,
        )
        frame.sample_rate = sample_rate
        frame.pts = start
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def resample(samples: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Mono float32 ``samples`` at ``new_rate``, with libswresample's filter (no aliasing)."""
    if rate == new_rate:
        return np.asarray(samples, dtype=np.float32)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=new_rate)
    frame = av.AudioFrame.from_ndarray(
        np.asarray(samples, dtype=np.float32)[None, :], format="flt", layout="mono"
    )
    frame.sample_rate = rate
    pieces = [
        f.to_ndarray().reshape(-1) for f in (*resampler.resample(frame), *resampler.resample(None))
    ]
    return np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, np.float32)


def speak(
    text: str,
    voice: str = "en-us",
    speed_wpm: int = 160,
    *,
    sample_rate: int | None = None,
    keep: str | Path | None = None,
) -> tuple[np.ndarray, int]:
    """Synthesise ``text`` with espeak-ng: (float32 mono samples, sample rate).

    Real synthetic speech, rather than tones, is what VAD and ASR tests need. espeak-ng speaks
    at 22050 Hz; pass ``sample_rate`` to get another rate. With ``keep`` the WAV file that
    espeak-ng wrote is kept at that path (at espeak-ng's own rate).
    """
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise MediaError(
            "cannot synthesise speech: espeak-ng is not installed",
            hint="install it with `apt-get install espeak-ng`",
        )
    with tempfile.TemporaryDirectory(prefix="vigil-speak-") as tmp:
        wav = Path(keep) if keep is not None else Path(tmp) / "speech.wav"
        command = [exe, "-v", voice, "-s", str(speed_wpm), "-w", str(wav), text]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not wav.exists():
            raise MediaError(
                f"espeak-ng failed for voice {voice!r}: {result.stderr.strip()}",
                hint="list voices with `espeak-ng --voices`",
            )
        data, rate = soundfile.read(str(wav), dtype="float32", always_2d=True)
    samples = data.mean(axis=1).astype(np.float32)
    if sample_rate is not None and sample_rate != rate:
        return resample(samples, int(rate), sample_rate), sample_rate
    return samples, int(rate)


def cut_frames(source: Path, start: float, duration: float, fps: float) -> Iterator[np.ndarray]:
    """``round(duration * fps)`` BGR frames from ``start`` on (decoding from the beginning)."""
    wanted = round(duration * fps)
    count = 0
    with av.open(str(source)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time < start - 0.5 / fps:
                continue
            yield frame.to_ndarray(format="bgr24")
            count += 1
            if count == wanted:
                return
    raise MediaError(f"{source} ends before {start + duration:.2f} s ({count} of {wanted} frames)")
