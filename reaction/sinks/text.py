"""The log sink: one record per finished answer (the console is ``runtime.console``'s job)."""

from __future__ import annotations

import logging

from reaction.sinks.base import AnswerPart, Sink
from vigil.items import Response

__all__ = ["LogSink"]


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
