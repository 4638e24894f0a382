"""The contract every media source keeps, and the thread-to-loop handoff they share.

Capture and decoding block (a camera read, a decoder, PortAudio), so each source runs them in a
worker thread that must never stall the event loop. The thread hands items over with
``loop.call_soon_threadsafe``; all buffer bookkeeping then happens on the loop thread, so no
lock is needed. The thread ends by posting an explicit end-of-stream sentinel (aiortc's
pattern), which becomes exactly one :class:`~vigil.items.EndOfStream`.

The buffer is bounded and its policy depends on the kind of source:

* live sources (camera, microphone) must never block their capture thread: when the buffer is
  full the oldest video frame is dropped and counted; audio is dropped only when no frame is
  left to drop, and then never silently: the loss is counted and reported as a non-fatal
  :class:`~vigil.items.StreamError` saying how many seconds were lost;
* lossless sources (files) apply backpressure instead: the decoding thread waits for room.
"""

from __future__ import annotations

import abc
import asyncio
import collections
import logging
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import ClassVar, Self

from vigil.items import AudioChunk, EndOfStream, StreamError, VideoFrame

__all__ = ["Source", "SourceItem", "SourceStats"]

log = logging.getLogger(__name__)

SourceItem = VideoFrame | AudioChunk | StreamError | EndOfStream


@dataclass(frozen=True, slots=True)
class SourceStats:
    """Counters of one source: what it produced and what overflow discarded."""

    frames: int = 0
    audio_chunks: int = 0
    dropped_frames: int = 0
    dropped_audio_chunks: int = 0
    dropped_audio_seconds: float = 0.0
    errors: int = 0

    @property
    def dropped(self) -> int:
        return self.dropped_frames + self.dropped_audio_chunks


@dataclass(frozen=True, slots=True)
class _End:
    """The worker thread's end-of-stream sentinel."""

    reason: str


class Source(abc.ABC):
    """A stream of timestamped media: open it, iterate it, close it.

    Subclasses implement ``_open`` (raise DeviceNotFound or MediaError with a hint), ``_run``
    (the worker thread's body; return the end reason) and ``_release`` (free the device).
    """

    join_timeout: ClassVar[float] = 5.0

    def __init__(self, *, stream_id: str, capacity: int, lossless: bool = False) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.stream_id = stream_id
        self.lossless = lossless
        self._capacity = capacity
        self._buffer: collections.deque[SourceItem | _End] = collections.deque()
        self._queued = 0  # data items in the buffer
        self._slots = threading.Semaphore(capacity)  # room in the buffer, for lossless sources
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ended = False
        self._closed = False
        self._lost_seconds = 0.0
        self._lost_at = 0.0
        self._counts: dict[str, int] = dict.fromkeys(
            ("frames", "audio_chunks", "dropped_frames", "dropped_audio_chunks", "errors"), 0
        )
        self._dropped_seconds = 0.0
        self._end_time = 0.0

    # --- public API ------------------------------------------------------------------------------

    @property
    def stats(self) -> SourceStats:
        return SourceStats(**self._counts, dropped_audio_seconds=self._dropped_seconds)

    async def open(self) -> None:
        """Open the device or file and start the worker thread; raises SourceError subclasses."""
        if self._loop is not None or self._closed:
            raise RuntimeError(f"source {self.stream_id!r} was already opened or closed")
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        try:
            await self._open()
        except BaseException:
            self._closed = True
            await asyncio.to_thread(self._release_quietly)
            raise
        self._thread = threading.Thread(
            target=self._thread_main, name=f"vigil-source-{self.stream_id}", daemon=True
        )
        self._thread.start()

    async def close(self) -> None:
        """Stop the worker thread and release the device; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        thread = self._thread
        if thread is not None:
            await asyncio.to_thread(thread.join, self.join_timeout)
            if thread.is_alive():
                log.warning("source %s: worker thread did not stop; leaking it", self.stream_id)
                return
        await asyncio.to_thread(self._release_quietly)

    def __aiter__(self) -> AsyncIterator[SourceItem]:
        return self._iterate()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # --- for subclasses --------------------------------------------------------------------------

    @abc.abstractmethod
    async def _open(self) -> None: ...

    @abc.abstractmethod
    def _run(self) -> str:
        """Capture or decode until done or ``self._stopping`` is set; return the end reason."""

    def _release(self) -> None:  # noqa: B027 - optional hook
        """Free the device or container; called once, also after a failed open."""

    def _release_quietly(self) -> None:
        try:
            self._release()
        except Exception:  # closing must not fail because a device is already gone
            log.exception("source %s: releasing failed", self.stream_id)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def _emit(self, item: SourceItem) -> bool:
        """Hand ``item`` to the loop (from any thread); False once the source is stopping."""
        if isinstance(item, VideoFrame | AudioChunk) and self.lossless:
            while not self._slots.acquire(timeout=0.1):
                if self._stopping.is_set() or self._loop is None or self._loop.is_closed():
                    return False
        return self._post(item) and not self._stopping.is_set()

    def _emit_error(self, message: str, media_time: float, *, fatal: bool = False) -> bool:
        error = StreamError(
            stream_id=self.stream_id,
            media_time=media_time,
            stamps={"source": time.time()},
            stage="source",
            message=message,
            fatal=fatal,
        )
        return self._emit(error)

    def _wait_until(self, deadline: float) -> bool:
        """Sleep until ``time.monotonic()`` reaches ``deadline``; False if stopped meanwhile."""
        delay = deadline - time.monotonic()
        return not (self._stopping.wait(delay) if delay > 0 else self._stopping.is_set())

    # --- the handoff -----------------------------------------------------------------------------

    def _thread_main(self) -> None:
        reason = "error"
        try:
            reason = self._run()
        except Exception as exc:  # the stream must end cleanly whatever the capture code did
            log.exception("source %s failed", self.stream_id)
            self._emit_error(f"{type(exc).__name__}: {exc}", 0.0, fatal=True)
        finally:
            self._post(_End("stopped" if self._stopping.is_set() else reason))

    def _post(self, entry: SourceItem | _End) -> bool:
        loop = self._loop
        if loop is None:
            return False
        try:
            loop.call_soon_threadsafe(self._deliver, entry)
        except RuntimeError:  # the loop is closed: nobody will read any more
            self._stopping.set()
            return False
        return True

    def _deliver(self, entry: SourceItem | _End) -> None:
        """Runs on the loop thread: count, apply the overflow policy, enqueue, wake the reader."""
        if isinstance(entry, VideoFrame | AudioChunk):
            self._counts["frames" if isinstance(entry, VideoFrame) else "audio_chunks"] += 1
            if self._queued >= self._capacity and not self._make_room(entry):
                return
            self._queued += 1
        elif isinstance(entry, StreamError):
            self._counts["errors"] += 1
        self._buffer.append(entry)
        assert self._wake is not None
        self._wake.set()

    def _make_room(self, incoming: VideoFrame | AudioChunk) -> bool:
        """Drop the oldest frame, else the oldest audio (reported); False: drop ``incoming``."""
        oldest_audio = None
        for index, queued in enumerate(self._buffer):
            if isinstance(queued, VideoFrame):
                del self._buffer[index]
                self._counts["dropped_frames"] += 1
                self._queued -= 1
                return True
            if oldest_audio is None and isinstance(queued, AudioChunk):
                oldest_audio = index
        if isinstance(incoming, VideoFrame) or oldest_audio is None:
            self._counts["dropped_frames"] += 1
            return False
        lost = self._buffer[oldest_audio]
        assert isinstance(lost, AudioChunk)
        del self._buffer[oldest_audio]
        self._queued -= 1
        self._counts["dropped_audio_chunks"] += 1
        self._dropped_seconds += lost.duration
        if self._lost_seconds == 0.0:
            self._lost_at = lost.media_time
        self._lost_seconds += lost.duration
        return True

    async def _iterate(self) -> AsyncIterator[SourceItem]:
        if self._wake is None:
            raise RuntimeError(f"open() source {self.stream_id!r} before iterating it")
        while not self._ended:
            if self._lost_seconds > 0.0:
                yield self._loss_report()
                continue
            if not self._buffer:
                self._wake.clear()
                await self._wake.wait()
                continue
            entry = self._buffer.popleft()
            if isinstance(entry, _End):
                self._ended = True
                yield EndOfStream(
                    stream_id=self.stream_id,
                    media_time=self._end_time,
                    stamps={"source": time.time()},
                    reason=entry.reason,
                )
                return
            if isinstance(entry, VideoFrame | AudioChunk):
                self._queued -= 1
                self._end_time = max(self._end_time, entry.media_time)
                if self.lossless:
                    self._slots.release()
            yield entry

    def _loss_report(self) -> StreamError:
        seconds, self._lost_seconds = self._lost_seconds, 0.0
        self._counts["errors"] += 1
        return StreamError(
            stream_id=self.stream_id,
            media_time=self._lost_at,
            stamps={"source": time.time()},
            stage="source",
            message=f"audio overflow: {seconds:.3f} s of audio from {self._lost_at:.3f} s "
            "was dropped because the consumer fell behind",
            fatal=False,
        )
