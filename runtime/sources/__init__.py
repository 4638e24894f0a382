"""Media sources: files and URLs (PyAV), cameras (OpenCV) and microphones (sounddevice).

Every source is opened, iterated and closed the same way (see :class:`Source`), and
:func:`open_source` turns the strings a user types into the right one:

    webcam:0  webcam:/dev/video2  /dev/video2      a camera
    mic  mic:default  mic:3  mic:"USB Audio"       a microphone (index or name)
    clip.mp4  file:///data/clip.mp4  rtsp://...    a file or a network stream
    live                                           frames and audio a client pushes (the service)
"""

from __future__ import annotations

import re

from runtime.sources.base import Source, SourceItem, SourceStats
from runtime.sources.file import FileSource
from runtime.sources.live import LiveSource
from runtime.sources.microphone import MicrophoneSource
from runtime.sources.webcam import WebcamSource
from vigil.errors import ConfigError

__all__ = [
    "FileSource",
    "LiveSource",
    "MicrophoneSource",
    "Source",
    "SourceItem",
    "SourceStats",
    "WebcamSource",
    "open_source",
]

_VIDEO_DEVICE = re.compile(r"/dev/video\d+")


def open_source(spec: str, *, stream_id: str, paced: bool = True, start_at: float = 0.0) -> Source:
    """The source that ``spec`` names, not yet opened (``await source.open()`` does that).

    ``paced`` and ``start_at`` (the media second to play from: a stream resumed after its
    perception restarted) apply to files only: live devices are always at their live edge.
    """
    spec = spec.strip()
    if not spec:
        raise ConfigError("empty source", hint="give a file, a URL, webcam:N or mic")
    if spec == "live":
        return LiveSource(stream_id=stream_id)
    kind, _, rest = spec.partition(":")
    if kind == "webcam" and not rest.startswith("//"):
        camera = _device(rest, what="webcam")
        return WebcamSource(0 if camera is None else camera, stream_id=stream_id)
    if _VIDEO_DEVICE.fullmatch(spec):
        return WebcamSource(spec, stream_id=stream_id)
    if kind == "mic" and not rest.startswith("//"):
        rest = "" if rest.strip() == "default" else rest
        return MicrophoneSource(_device(rest, what="mic"), stream_id=stream_id)
    return FileSource(spec, stream_id=stream_id, paced=paced, start_at=start_at)


def _device(text: str, *, what: str) -> int | str | None:
    """An index, a name or path, or None for "the default one"."""
    text = text.strip().strip("\"'")
    if not text:
        return None
    if text.lstrip("-").isdigit():
        index = int(text)
        if index < 0:
            raise ConfigError(f"{what} index must be 0 or more, got {index}")
        return index
    return text
