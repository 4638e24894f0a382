"""Voice activity: silero VAD v6 through onnxruntime, and a segmenter with hysteresis.

The silero package's own wrapper needs torch; onnxruntime alone is lighter and what a
perception actor already has. The v5/v6 ONNX model takes 512-sample windows at 16 kHz, each
prefixed with the last 64 samples of the previous one (its context), plus a recurrent state of
shape (2, 1, 128) carried from window to window. Getting either wrong gives plausible-looking
but useless probabilities, so both are kept here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vigil.errors import ModelError

__all__ = ["SileroVad", "SpeechSegment", "SpeechSegmenter", "VadOptions"]

SAMPLE_RATE = 16_000
WINDOW = 512
CONTEXT = 64


class SileroVad:
    """Speech probability for each 32 ms window of a 16 kHz mono stream.

    :meth:`process` buffers partial windows across calls, so chunks of any size can be fed.
    """

    def __init__(self, model_path: str | Path, *, threads: int = 1) -> None:
        self.model_path = Path(model_path)
        self.threads = threads
        self._session: object | None = None
        self.reset()

    def load(self) -> None:
        """Open the ONNX model (about 20 ms); :meth:`process` calls it on first use."""
        if self._session is not None:
            return
        if not self.model_path.is_file():
            raise ModelError(f"silero VAD model not found: {self.model_path}")
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(
                str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own untyped errors
            raise ModelError(f"cannot load silero VAD from {self.model_path}: {error}") from error
        names = {i.name for i in session.get_inputs()}
        if names != {"input", "state", "sr"}:
            raise ModelError(
                f"{self.model_path} is not a silero v5/v6 model (inputs {sorted(names)})",
                hint="use silero_vad/data/silero_vad.onnx from silero-vad>=5",
            )
        self._session = session

    def reset(self) -> None:
        """Clear the recurrent state, the context and any partial window."""
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)

    def window_probability(self, window: np.ndarray) -> float:
        """Probability that one 512-sample window is speech; advances the state."""
        self.load()
        x = np.concatenate([self._context, window.astype(np.float32, copy=False)])[None, :]
        output, state = self._session.run(  # type: ignore[attr-defined]
            None, {"input": x, "state": self._state, "sr": self._sr}
        )
        self._state = state
        self._context = x[0, -CONTEXT:]
        return float(output.reshape(-1)[0])

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Probabilities of every window completed by ``samples`` (float32, maybe empty)."""
        data = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32)])
        count = data.size // WINDOW
        probs = np.empty(count, dtype=np.float32)
        for i in range(count):
            probs[i] = self.window_probability(data[i * WINDOW : (i + 1) * WINDOW])
        self._pending = data[count * WINDOW :]
        return probs


@dataclass(frozen=True, slots=True)
class VadOptions:
    """Hysteresis of :class:`SpeechSegmenter`, in probabilities and seconds.

    Speech starts at ``threshold`` and only counts as paused below ``threshold - 0.15`` (so a
    word in the middle does not flicker). A segment ends after ``min_silence`` of pause: this is
    most of the delay between the end of speech and a final transcript. Segments shorter than
    ``min_speech`` are noise; ``pad`` seconds of audio are kept on both sides for the recogniser;
    ``max_speech`` splits monologues before Whisper's 30 s window.
    """

    threshold: float = 0.5
    min_speech: float = 0.25
    min_silence: float = 0.4
    pad: float = 0.2
    max_speech: float = 20.0

    @property
    def neg_threshold(self) -> float:
        return max(0.01, self.threshold - 0.15)


@dataclass(frozen=True, slots=True)
class SpeechSegment:
    """Speech from sample ``start`` to ``end`` (16 kHz sample indices, end exclusive)."""

    start: int
    end: int

    @property
    def duration(self) -> float:
        return (self.end - self.start) / SAMPLE_RATE


class SpeechSegmenter:
    """Turns per-window probabilities into speech segments, one window at a time."""

    def __init__(self, options: VadOptions | None = None) -> None:
        self.options = options or VadOptions()
        self.reset()

    def reset(self) -> None:
        self._window = 0  # index of the next window
        self._start: int | None = None  # first speech window of the open segment
        self._silence: int | None = None  # first window of the current pause

    @property
    def in_speech(self) -> bool:
        return self._start is not None

    @property
    def pause(self) -> tuple[int, int] | None:
        """(sample where the current pause began, its length in samples) inside a segment."""
        if self._start is None or self._silence is None:
            return None
        return self._silence * WINDOW, (self._window - self._silence) * WINDOW

    @property
    def open_start(self) -> int | None:
        """Sample index where the open segment began, if one is open."""
        return None if self._start is None else self._start * WINDOW

    def push(self, probability: float) -> SpeechSegment | None:
        """Feed the next window's probability; returns a segment when one just ended."""
        opts = self.options
        i = self._window
        self._window += 1
        if self._start is None:
            if probability >= opts.threshold:
                self._start = i
                self._silence = None
            return None
        if probability >= opts.threshold:
            self._silence = None
        elif probability < opts.neg_threshold and self._silence is None:
            self._silence = i
        if self._silence is not None:
            if (i + 1 - self._silence) * WINDOW >= opts.min_silence * SAMPLE_RATE:
                return self._close(self._silence)
        elif (i + 1 - self._start) * WINDOW >= opts.max_speech * SAMPLE_RATE:
            return self._close(i + 1)
        return None

    def flush(self) -> SpeechSegment | None:
        """End of stream: close the open segment, if long enough."""
        if self._start is None:
            return None
        return self._close(self._silence if self._silence is not None else self._window)

    def _close(self, end_window: int) -> SpeechSegment | None:
        start, self._start, self._silence = self._start, None, None
        assert start is not None
        segment = SpeechSegment(start * WINDOW, end_window * WINDOW)
        return segment if segment.duration >= self.options.min_speech else None
