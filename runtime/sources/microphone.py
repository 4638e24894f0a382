"""A microphone read with sounddevice (PortAudio), callback-based.

PortAudio calls back from its own thread with one block of samples; the callback copies the
block and hands it over without blocking. ``media_time`` counts delivered samples
(``samples / sample_rate``), which is exact and cannot drift the way a wall clock does. The
worker thread only watches the stream: it ends the stream with reason ``"device lost"`` when
PortAudio stops on its own or no block arrives for ``stall_timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from runtime.sources.base import Source
from vigil.errors import DeviceNotFound
from vigil.items import AudioChunk

__all__ = ["InputStream", "MicrophoneSource"]

_HINT = "list audio devices with `python -m sounddevice` and pass an index or a name"


class InputStream(Protocol):
    """The part of ``sounddevice.InputStream`` that the source uses."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


class MicrophoneSource(Source):
    """Audio from input ``device`` (None: the system default; an index; a name substring)."""

    def __init__(
        self,
        device: int | str | None = None,
        *,
        stream_id: str,
        sample_rate: int = 16000,
        channels: int = 1,
        block_duration: float = 0.1,
        stream_factory: Callable[..., InputStream] | None = None,
        capacity: int = 100,
        stall_timeout: float = 2.0,
    ) -> None:
        super().__init__(stream_id=stream_id, capacity=capacity)
        if sample_rate <= 0 or channels <= 0 or block_duration <= 0:
            raise ValueError("sample_rate, channels and block_duration must be positive")
        self.device = device
        self.sample_rate = sample_rate
        self.channels = channels
        self.blocksize = max(1, round(sample_rate * block_duration))
        self._factory = stream_factory
        self._stall_timeout = max(stall_timeout, 4 * block_duration)
        self._stream: InputStream | None = None
        self._samples = 0
        self._last_block = 0.0
        self._finished = threading.Event()

    async def _open(self) -> None:
        factory, errors = self._factory, _open_errors()
        if factory is None:
            factory = _default_factory()
        try:
            self._stream = await asyncio.to_thread(
                factory,
                device=self.device,
                samplerate=self.sample_rate,
                channels=self.channels,
                blocksize=self.blocksize,
                dtype="float32",
                callback=self._callback,
                finished_callback=self._finished.set,
            )
            self._last_block = time.monotonic()
            await asyncio.to_thread(self._stream.start)
        except errors as exc:
            name = (
                "the default microphone" if self.device is None else f"microphone {self.device!r}"
            )
            raise DeviceNotFound(f"cannot open {name}: {exc}", hint=_HINT) from exc

    def _release(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        for action in (stream.stop, stream.close):
            try:
                action()
            except Exception:  # a vanished device may refuse to stop; closing is what matters
                continue

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio's thread: copy the block out (PortAudio reuses it) and hand it over."""
        self._last_block = time.monotonic()
        media_time = self._samples / self.sample_rate
        self._samples += frames
        if getattr(status, "input_overflow", False):
            self._emit_error(
                f"input overflow before {media_time:.3f} s: the audio device dropped samples, "
                "so media time now runs behind the wall clock",
                media_time,
            )
        samples = np.array(indata, dtype=np.float32, copy=True).reshape(frames, self.channels)
        self._emit(
            AudioChunk(
                stream_id=self.stream_id,
                media_time=media_time,
                stamps={"source": time.time()},
                samples=samples,
                sample_rate=self.sample_rate,
            )
        )

    def _run(self) -> str:
        """Watch the stream until stopped or the device goes away."""
        while not self._stopping.wait(min(0.1, self._stall_timeout / 4)):
            stalled = time.monotonic() - self._last_block > self._stall_timeout
            if self._finished.is_set() or stalled:
                if self.stopping:
                    break
                why = "stopped by the audio system" if self._finished.is_set() else "went silent"
                self._emit_error(
                    f"microphone {self.device!r} {why}: no audio since "
                    f"{self._samples / self.sample_rate:.3f} s",
                    self._samples / self.sample_rate,
                    fatal=True,
                )
                return "device lost"
        return "stopped"


def _default_factory() -> Callable[..., InputStream]:
    try:
        import sounddevice
    except OSError as exc:  # sounddevice loads the PortAudio library at import
        raise DeviceNotFound(
            f"cannot use microphones: {exc}",
            hint="install PortAudio (`apt-get install libportaudio2`)",
        ) from exc
    return sounddevice.InputStream  # type: ignore[no-any-return]


def _open_errors() -> tuple[type[BaseException], ...]:
    """What opening a stream raises for a missing or busy device (PortAudioError, ValueError)."""
    errors: tuple[type[BaseException], ...] = (OSError, ValueError)
    try:
        import sounddevice
    except OSError:
        return errors
    return (*errors, sounddevice.PortAudioError)
