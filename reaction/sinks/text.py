"""Text sinks: tokens on a console as they arrive, one line per answer in the log."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from reaction.sinks.base import AnswerPart, Sink
from vigil.items import Response

__all__ = ["ConsoleSink", "LogSink"]


class ConsoleSink(Sink):
    """Writes deltas as they come (flushed, so a terminal shows them at once); a final
    Response ends the line, marked when it was interrupted."""

    def __init__(self, stream: TextIO | None = None, *, prefix: str = "vigil: ") -> None:
        self.stream = stream or sys.stdout
        self.prefix = prefix
        self._open: set[str] = set()

    async def send(self, part: AnswerPart) -> None:
        started = part.response_id in self._open
        if isinstance(part, Response):
            self._open.discard(part.response_id)
            text = "" if started else self.prefix + part.text
            self.stream.write(text + (" [interrupted]" if part.cancelled else "") + "\n")
        else:
            self._open.add(part.response_id)
            self.stream.write(part.text if started else self.prefix + part.text)
        self.stream.flush()


class LogSink(Sink):
    """One log record per finished answer, with its question and latency; deltas are skipped."""

    def __init__(self, logger: logging.Logger | None = None, level: int = logging.INFO) -> None:
        self.logger = logger or logging.getLogger("vigil.answers")
        self.level = level

    async def send(self, part: AnswerPart) -> None:
        if isinstance(part, Response):
            self.logger.log(
                self.level,
                "answer %s to %r%s: %r (%.2f s to first token)",
                part.response_id,
                part.question,
                " (interrupted)" if part.cancelled else "",
                part.text,
                part.latency,
            )
