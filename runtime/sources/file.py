"""A media file or network URL decoded with PyAV, played as if live or as fast as possible.

Video and audio are demuxed together, each with its own timestamps, and share one origin (the
container's start time), so ``media_time`` of a frame and of the audio spoken over it agree.
Paced playback waits until ``start + media_time`` on the monotonic clock rather than sleeping a
frame period, so it never drifts (aiortc's pacing). Local files, and any source played
unpaced (evaluation wants every frame), are lossless: the decoder waits for the consumer.
Network streams played paced are treated as live and follow the drop-oldest policy, since
stalling the demuxer would only make the network buffers overflow instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import av
import numpy as np

from runtime.sources.base import Source
from vigil.errors import MediaError
from vigil.items import AudioChunk, VideoFrame

__all__ = ["NETWORK_SCHEMES", "FileSource"]

NETWORK_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt"})
_MAX_READ_ERRORS = 10  # consecutive demux failures before the stream is declared broken
_SCALES = {"u8": 128.0, "s16": 32768.0, "s32": 2147483648.0}
_JUMP_BACK = 1.0  # seconds a clock may step back before it counts as a restart
_BRIDGE = 0.04  # seconds between the last frame before a restart and the first after it


class FileSource(Source):
    """Decode ``location`` (a path, ``file://``, ``rtsp://``, ``http(s)://`` URL)."""

    def __init__(
        self,
        location: str | Path,
        *,
        stream_id: str,
        paced: bool = True,
        video: bool = True,
        audio: bool = True,
        capacity: int = 32,
        timeout: float = 10.0,
        start_at: float = 0.0,
    ) -> None:
        if not (video or audio):
            raise ValueError("FileSource needs video, audio or both")
        if start_at < 0:
            raise ValueError("start_at must be 0 or more")
        self.location = str(location)
        self.scheme = urlparse(self.location).scheme.lower() if "://" in self.location else ""
        super().__init__(
            stream_id=stream_id,
            capacity=capacity,
            lossless=self.scheme not in NETWORK_SCHEMES or not paced,
        )
        self.paced = paced
        self._want_video = video
        self._want_audio = audio
        self._timeout = timeout
        self._start_at = start_at
        self._container: av.container.InputContainer | None = None
        self._streams: list[av.VideoStream | av.AudioStream] = []

    async def _open(self) -> None:
        await asyncio.to_thread(self._open_container)

    def _open_container(self) -> None:
        location, options = self.location, {}
        if self.scheme in ("", "file"):
            path = Path(urlparse(location).path if self.scheme else location)
            if not path.is_file():
                raise MediaError(f"no such media file: {path}", hint="check the path")
            location = str(path)
        elif self.scheme not in NETWORK_SCHEMES:
            raise MediaError(
                f"unsupported URL scheme {self.scheme!r} in {location}",
                hint=f"use a file path or one of {', '.join(sorted(NETWORK_SCHEMES))}",
            )
        if self.scheme.startswith("rtsp"):
            options["rtsp_transport"] = "tcp"
        try:
            # Titles and tags in a damaged or foreign file need not be UTF-8; they are not
            # what Vigil reads, so they must not stop it from opening.
            container = av.open(
                location, options=options, timeout=self._timeout, metadata_errors="replace"
            )
        except av.FFmpegError as exc:
            raise MediaError(
                f"cannot open {self.location}: not a readable media file or stream ({exc})",
                hint="check that it plays, e.g. with `ffprobe`, and that the URL is reachable",
            ) from exc
        self._container = container
        if container.format.name == "tty":  # FFmpeg would "play" a text file as ANSI art
            raise MediaError(f"{self.location} is a text file, not media", hint="check the path")
        if self._want_video and container.streams.video:
            self._streams.append(container.streams.video[0])
        if self._want_audio and container.streams.audio:
            self._streams.append(container.streams.audio[0])
        if not self._streams:
            raise MediaError(
                f"{self.location} has no {self._wanted()} stream",
                hint="pick a file with video or audio, or change video=/audio=",
            )
        for stream in self._streams:
            if stream.codec_context is None or not _has_decoder(stream):
                raise MediaError(
                    f"unknown codec in {self.location} ({stream.type} stream {stream.index})",
                    hint="re-encode it, e.g. `ffmpeg -i IN -c:v libx264 -c:a aac OUT.mp4`",
                )
        if self._start_at:
            self._seek(container)

    def _seek(self, container: av.container.InputContainer) -> None:
        """Move to the key frame at or before ``start_at``; frames before it are decoded
        (to rebuild the picture) but not played. A stream that cannot seek plays from the
        start and skips ahead the same way."""
        origin = (container.start_time or 0) / av.time_base
        with contextlib.suppress(av.FFmpegError):
            container.seek(int((origin + self._start_at) / av.time_base), backward=True)

    def _wanted(self) -> str:
        kinds = [k for k, on in (("video", self._want_video), ("audio", self._want_audio)) if on]
        return " or ".join(kinds)

    def _release(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    # --- the decoding thread ---------------------------------------------------------------------

    def _run(self) -> str:
        assert self._container is not None
        container = self._container
        origin = None if container.start_time is None else container.start_time / av.time_base
        if self._start_at and origin is None:
            origin = 0.0  # a seek leaves no first frame to count from
        clocks = {stream.index: _StreamClock() for stream in self._streams}
        start_wall = time.monotonic() - self._start_at
        frame_index = 0
        for packet in self._packets():
            if packet is None:
                return "error"
            clock = clocks[packet.stream.index]
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                at = clock.last
                if packet.pts is not None and packet.time_base and origin is not None:
                    at = max(0.0, float(packet.pts * packet.time_base) - origin)
                message = f"skipped a corrupt {packet.stream.type} packet at {at:.3f} s: {exc}"
                if not self._emit_error(message, at):
                    return "stopped"
                continue
            for frame in frames:
                raw = clock.time_of(frame)
                if origin is None:
                    origin = raw
                media_time, jump = clock.place(max(0.0, raw - origin))
                if jump and not self._emit_error(
                    f"{packet.stream.type} timestamps jumped back {jump:.2f} s; playing on "
                    f"from {media_time:.3f} s",
                    media_time,
                ):
                    return "stopped"
                if media_time < self._start_at:
                    continue
                if self.paced and not self._wait_until(start_wall + media_time):
                    return "stopped"
                stamps = {"source": time.time()}
                if isinstance(frame, av.VideoFrame):
                    item: VideoFrame | AudioChunk = VideoFrame(
                        stream_id=self.stream_id,
                        media_time=media_time,
                        stamps=stamps,
                        image=frame.to_ndarray(format="bgr24"),
                        index=frame_index,
                    )
                    frame_index += 1
                else:
                    item = AudioChunk(
                        stream_id=self.stream_id,
                        media_time=media_time,
                        stamps=stamps,
                        samples=audio_array(frame),
                        sample_rate=frame.sample_rate,
                    )
                if not self._emit(item):
                    return "stopped"
        return "eof"

    def _packets(self) -> Iterator[av.Packet | None]:
        """Demuxed packets; a read error restarts demuxing from where the container stands.

        Yields None (the stream is broken) after too many consecutive read errors.
        """
        assert self._container is not None
        failures = 0
        while not self.stopping:
            try:
                for packet in self._container.demux(*self._streams):
                    failures = 0
                    yield packet
                return
            except av.EOFError:
                return
            except av.FFmpegError as exc:
                failures += 1
                if failures >= _MAX_READ_ERRORS:
                    self._emit_error(
                        f"cannot read {self.location} any more: {exc}", 0.0, fatal=True
                    )
                    yield None
                    return
                self._emit_error(f"read error, skipping ahead: {exc}", 0.0)


class _StreamClock:
    """A stream's timestamps in seconds, inventing them from durations where pts is missing,
    and keeping them from going back."""

    __slots__ = ("last", "next", "offset")

    def __init__(self) -> None:
        self.last = 0.0
        self.next: float | None = None
        self.offset = 0.0  # added to every time since the clock last jumped back

    def place(self, seconds: float) -> tuple[float, float]:
        """The media time of a frame at ``seconds`` on the file's clock, and how far back that
        clock jumped (0.0 when it did not).

        A recording restarted mid-file, files concatenated, or a wrapped clock make times go
        back; memory and the timeline assume they never do. A jump of more than
        ``_JUMP_BACK`` is bridged: what follows goes on from the last time. A smaller step
        back (audio after a damaged packet) is held at the last time.
        """
        placed = seconds + self.offset
        jump = 0.0
        if placed < self.last - _JUMP_BACK:
            jump = self.last - placed
            self.offset += jump + _BRIDGE
            placed = seconds + self.offset
        self.last = max(placed, self.last)
        return self.last, jump

    def time_of(self, frame: av.VideoFrame | av.AudioFrame) -> float:
        seconds = frame.time
        if seconds is None:
            seconds = self.next if self.next is not None else 0.0
        if isinstance(frame, av.AudioFrame):
            self.next = seconds + frame.samples / frame.sample_rate
        else:
            step = frame.time_base and frame.duration and float(frame.duration * frame.time_base)
            self.next = seconds + (step or 0.04)  # 25 fps when the file says nothing
        return float(seconds)


def audio_array(frame: av.AudioFrame) -> np.ndarray:
    """float32 samples shaped (frames, channels) in [-1, 1], from a planar or packed frame."""
    array = frame.to_ndarray()
    channels = frame.layout.nb_channels
    array = array.T if frame.format.is_planar else array.reshape(-1, channels)
    base = frame.format.name.rstrip("p")
    if base in _SCALES:
        offset = 128.0 if base == "u8" else 0.0
        array = (array.astype(np.float32) - offset) / _SCALES[base]
    # Float formats are stored as they are: damaged data can hold NaN, infinities or huge
    # values, and lossy decoders overshoot a little; the VAD and Whisper expect [-1, 1].
    array = np.nan_to_num(array.astype(np.float32, copy=False), nan=0.0, posinf=1.0, neginf=-1.0)
    return np.ascontiguousarray(np.clip(array, -1.0, 1.0))


def _has_decoder(stream: av.VideoStream | av.AudioStream) -> bool:
    try:
        av.codec.Codec(stream.codec_context.name, "r")
    except (av.codec.codec.UnknownCodecError, ValueError):
        return False
    return True
