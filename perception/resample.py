"""Any sample rate and channel count to mono 16 kHz float32, chunk by chunk.

Sources deliver 8, 16, 44.1 or 48 kHz, mono or stereo, in chunks of any size; VAD and Whisper
want mono 16 kHz. Resampling each chunk on its own would click at every boundary, so this is a
stateful polyphase filter: output sample ``n`` sits exactly at input time ``n / out_rate``, and
is produced once all the input its windowed-sinc kernel covers has arrived. The output therefore
lags the input by half a kernel (about 1 ms at 44.1 kHz); :meth:`Resampler.flush` releases it.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Resampler", "to_mono", "to_mono_16k"]

TARGET_RATE = 16_000


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average the channels of a (frames, channels) array; 1-D input passes through."""
    array = np.asarray(samples, dtype=np.float32)
    if array.ndim == 1:
        return array
    if array.ndim != 2:
        raise ValueError(f"audio must be (frames,) or (frames, channels), got {array.shape}")
    return array.mean(axis=1, dtype=np.float32) if array.shape[1] > 1 else array[:, 0]


class Resampler:
    """Stateful anti-aliased resampler from ``in_rate`` to ``out_rate`` (mono float32 out).

    The kernel is a Kaiser-windowed sinc with ``zeros`` zero crossings on each side, cut off at
    ``rolloff`` times the lower Nyquist frequency (7.5 kHz for 44.1 -> 16 kHz), with one phase
    per distinct fractional position (160 for 44.1 -> 16 kHz), each normalised to unit gain.
    """

    def __init__(
        self,
        in_rate: int,
        out_rate: int = TARGET_RATE,
        *,
        zeros: int = 16,
        rolloff: float = 0.94,
        beta: float = 8.6,
        max_phases: int = 4096,
    ) -> None:
        if in_rate <= 0 or out_rate <= 0:
            raise ValueError("sample rates must be positive")
        self.in_rate = int(in_rate)
        self.out_rate = int(out_rate)
        g = math.gcd(self.in_rate, self.out_rate)
        self._up = self.out_rate // g
        self._down = self.in_rate // g
        self._phases = min(self._up, max_phases)
        cutoff = min(1.0, self._up / self._down) * rolloff
        self._half = math.ceil(zeros / cutoff)
        taps = np.arange(-self._half + 1, self._half + 1, dtype=np.float64)
        frac = np.arange(self._phases, dtype=np.float64)[:, None] / self._phases
        distance = frac - taps[None, :]  # from each tap to the output position
        window = np.kaiser(2 * self._half + 1, beta)
        # Sample the continuous Kaiser window at the fractional distances.
        grid = np.arange(-self._half, self._half + 1, dtype=np.float64)
        win = np.interp(distance, grid, window, left=0.0, right=0.0)
        kernel = np.sinc(cutoff * distance) * win
        kernel /= kernel.sum(axis=1, keepdims=True)
        self._kernel = kernel.astype(np.float32)
        self._taps = taps.astype(np.int64)
        self.reset()

    @property
    def delay(self) -> float:
        """Seconds of input held back until more arrives."""
        return self._half / self.in_rate

    def reset(self) -> None:
        """Forget all history; the next sample is time zero again."""
        # Index of _buffer[0] in the input stream; history before time zero is silence.
        self._offset = -(self._half - 1)
        self._buffer = np.zeros(self._half - 1, dtype=np.float32)
        self._received = 0
        self._produced = 0

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Resample one chunk ((frames,) or (frames, channels)); returns what is ready."""
        mono = to_mono(samples)
        if self._up == self._down:
            self._received += mono.size
            self._produced += mono.size
            return mono.copy()
        self._buffer = np.concatenate([self._buffer, mono])
        self._received += mono.size
        # Output n needs input up to floor(n * down / up) + half.
        ready = self._received - self._half
        limit = ((ready * self._up) - 1) // self._down + 1 if ready > 0 else 0
        return self._emit(limit)

    def flush(self) -> np.ndarray:
        """The held-back tail, as if the input ended with silence; then reset."""
        if self._up == self._down:
            self.reset()
            return np.zeros(0, dtype=np.float32)
        self._buffer = np.concatenate([self._buffer, np.zeros(self._half + 1, np.float32)])
        total = -(-self._received * self._up // self._down)  # ceil
        out = self._emit(total)
        self.reset()
        return out

    def _emit(self, limit: int) -> np.ndarray:
        n = np.arange(self._produced, max(limit, self._produced), dtype=np.int64)
        if n.size == 0:
            return np.zeros(0, dtype=np.float32)
        position = n * self._down
        base = position // self._up
        phase = (position % self._up) * self._phases // self._up
        index = base[:, None] + self._taps[None, :] - self._offset
        out = np.einsum("ij,ij->i", self._buffer[index], self._kernel[phase])
        self._produced = int(n[-1]) + 1
        # Keep only the history the next output still needs.
        keep_from = (self._produced * self._down) // self._up - self._half + 1
        drop = keep_from - self._offset
        if drop > 0:
            self._buffer = self._buffer[drop:]
            self._offset = keep_from
        return out.astype(np.float32, copy=False)


def to_mono_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    """Resample a whole clip at once (for files and tests)."""
    resampler = Resampler(rate)
    return np.concatenate([resampler.process(samples), resampler.flush()])
