"""Streaming resampling to mono 16 kHz, seamless across chunk boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from perception.resample import Resampler, to_mono, to_mono_16k


def sine(freq: float, rate: int, seconds: float) -> np.ndarray:
    return np.sin(2 * np.pi * freq * np.arange(int(rate * seconds)) / rate).astype(np.float32)


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_sine_in_odd_sized_chunks_is_exact(rate: int, channels: int) -> None:
    tone = sine(440, rate, 2.0)
    audio = tone if channels == 1 else np.stack([tone] * channels, axis=1)
    resampler = Resampler(rate)
    step = int(rate * 0.1) + 7  # chunks that do not line up with anything
    pieces = [resampler.process(audio[i : i + step]) for i in range(0, len(tone), step)]
    out = np.concatenate([*pieces, resampler.flush()])
    assert out.dtype == np.float32
    assert len(out) == 32000
    ideal = np.sin(2 * np.pi * 440 * np.arange(len(out)) / 16000)
    # Away from the two ends (where the kernel sees silence) it is the ideal tone.
    assert np.abs(out[200:-200] - ideal[200:-200]).max() < 1e-3


def test_chunked_equals_whole() -> None:
    rng = np.random.default_rng(1)
    noise = rng.standard_normal(44100).astype(np.float32) * 0.1
    whole = to_mono_16k(noise, 44100)
    resampler = Resampler(44100)
    sizes = rng.integers(1, 3000, size=200)
    pieces, i = [], 0
    for size in sizes:
        pieces.append(resampler.process(noise[i : i + size]))
        i += int(size)
    pieces.append(resampler.process(noise[i:]))
    chunked = np.concatenate([*pieces, resampler.flush()])
    assert np.allclose(chunked, whole, atol=1e-6)


@pytest.mark.parametrize("rate", [44100, 48000])
def test_content_above_8khz_is_filtered_not_aliased(rate: int) -> None:
    out = to_mono_16k(sine(10_000, rate, 1.0), rate)
    assert np.sqrt(np.mean(out[200:-200] ** 2)) < 1e-3  # a 10 kHz tone would alias to 6 kHz


def test_downmix_averages_channels() -> None:
    stereo = np.stack([np.ones(4, np.float32), -np.ones(4, np.float32) * 0.5], axis=1)
    assert np.allclose(to_mono(stereo), 0.25)
    with pytest.raises(ValueError):
        to_mono(np.zeros((2, 2, 2), np.float32))
