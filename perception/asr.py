"""Speech to text with word times: faster-whisper (CTranslate2) on a CPU thread.

Whisper is a clip model, not a streaming one: the audio stage calls it once per VAD segment.
Settings favour latency on two cores: int8 weights, greedy decoding (beam 1), English fixed (no
language detection pass), no built-in VAD (ours already cut the clip), and no conditioning on
previous text (clips are independent, and it stops one hallucination feeding the next).

The big saving is the encoder window. faster-whisper always pads features to Whisper's 30 s,
and encoding 30 s costs about 0.9 s on one core here, whatever the clip's length. CTranslate2
accepts shorter inputs (whisper.cpp calls this ``audio_ctx``), so the encoder sees the clip plus
a margin, at least ``min_window`` seconds: 0.05-0.1 s instead of 0.9 s. faster-whisper pads
with zero features, which Whisper never saw in training (its padding is silent audio, whose
log-mel sits at the clip's floor); with a short window that made tiny loop ("Stop Stop ...") and
drop question marks, so the padded frames are set to the clip's floor instead. A token cap and
Whisper's compression test still catch a loop and retry with the full 30 s window.
"""

from __future__ import annotations

import math
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from vigil.errors import ModelError
from vigil.items import Word

__all__ = ["Transcriber"]


class Transcriber:
    """Wraps ``faster_whisper.WhisperModel``; times in results are seconds from clip start."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        compute_type: str = "int8",
        cpu_threads: int = 1,
        language: str = "en",
        beam_size: int = 1,
        no_speech_threshold: float = 0.6,
        window_margin: float | None = 1.0,
        min_window: float = 6.0,
    ) -> None:
        self.model_path = Path(model_path)
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads
        self.language = language
        self.beam_size = beam_size
        self.no_speech_threshold = no_speech_threshold
        self.window_margin = window_margin  # None: always the full 30 s window
        self.min_window = min_window
        self.retries = 0
        self.last_seconds = 0.0
        self._model: Any = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Load the model once (about 0.2 s for tiny); later calls do nothing."""
        if self._model is not None:
            return
        if not (self.model_path / "model.bin").is_file():
            raise ModelError(
                f"no CTranslate2 Whisper model in {self.model_path}",
                hint="the folder needs model.bin, config.json, tokenizer.json, vocabulary.*",
            )
        try:
            self._model = _windowed_model_class()(
                str(self.model_path),
                device="cpu",
                compute_type=self.compute_type,
                cpu_threads=self.cpu_threads,
                num_workers=1,
            )
        except Exception as error:  # CTranslate2 raises RuntimeError/ValueError variously
            raise ModelError(f"cannot load Whisper from {self.model_path}: {error}") from error

    def transcribe(self, samples: np.ndarray) -> tuple[str, list[Word]]:
        """Text and words of a mono 16 kHz float32 clip."""
        self.load()
        started = time.perf_counter()
        audio = np.ascontiguousarray(samples, dtype=np.float32)
        seconds = audio.size / 16_000
        max_tokens = int(12 + 8 * seconds)
        frames = 3000
        if self.window_margin is not None:
            window = max(self.min_window, seconds + self.window_margin)
            frames = min(3000, 2 * math.ceil(window * 50))
        text, words, tokens = self._decode(audio, frames, max_tokens)
        if frames < 3000 and (tokens >= max_tokens or _repetitive(text)):
            self.retries += 1
            text, words, _ = self._decode(audio, 3000, max_tokens)
        self.last_seconds = time.perf_counter() - started
        return text, words

    def _decode(
        self, audio: np.ndarray, frames: int, max_tokens: int
    ) -> tuple[str, list[Word], int]:
        self._model.encoder_frames = frames
        self._model.content_frames = max(1, audio.size // 160)
        segments, _ = self._model.transcribe(
            audio,
            language=self.language,
            beam_size=self.beam_size,
            best_of=1,
            temperature=0.0,
            vad_filter=False,
            word_timestamps=True,
            condition_on_previous_text=False,
            no_speech_threshold=self.no_speech_threshold,
            max_new_tokens=max_tokens,
        )
        texts: list[str] = []
        words: list[Word] = []
        tokens = 0
        for segment in segments:  # a generator: decoding happens while iterating
            texts.append(segment.text.strip())
            tokens += len(segment.tokens)
            for word in segment.words or ():
                text = word.word.strip()
                if text:
                    words.append(Word(text=text, t0=float(word.start), t1=float(word.end)))
        return " ".join(t for t in texts if t), words, tokens


def _repetitive(text: str) -> bool:
    """Whisper's own loop test (text that compresses too well), and for text too short for
    it, a phrase of one to four words said three times running."""
    data = text.encode("utf-8")
    if len(data) > 24 and len(data) / len(zlib.compress(data)) > 2.4:
        return True
    words = [w.strip(".,!?;:").lower() for w in text.split()]
    return any(
        words[i : i + n] == words[i + n : i + 2 * n] == words[i + 2 * n : i + 3 * n]
        for n in range(1, 5)
        for i in range(len(words) - 3 * n + 1)
    )


def _windowed_model_class() -> type:
    """A WhisperModel whose encoder sees the first ``encoder_frames`` frames, padded silently."""
    from faster_whisper import WhisperModel

    class WindowedWhisperModel(WhisperModel):  # type: ignore[misc]
        encoder_frames = 3000
        content_frames = 3000

        def encode(self, features: np.ndarray) -> Any:
            window = np.array(features[..., : self.encoder_frames], dtype=np.float32)
            content = min(self.content_frames, window.shape[-1])
            if 0 < content < window.shape[-1]:
                window[..., content:] = window[..., :content].min()
            return super().encode(window)

    return WindowedWhisperModel
