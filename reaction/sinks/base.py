"""The sink interface: ``send`` each delta and final Response, in order; ``start``, ``stop``."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence

from vigil.items import Response, ResponseDelta

__all__ = ["AnswerPart", "Sink", "fan_out"]

log = logging.getLogger(__name__)

AnswerPart = ResponseDelta | Response


class Sink(ABC):
    """Receives an answer as it streams. ``send`` must return quickly: slow work (speaking,
    network writes) belongs in the sink's own tasks, so that one sink never delays another."""

    async def start(self) -> None:
        """Open what the sink writes to (a port, an audio device)."""
        return None

    @abstractmethod
    async def send(self, part: AnswerPart) -> None:
        """Take one part of an answer."""

    async def stop(self) -> None:
        """Close it; pending output is dropped."""
        return None


async def fan_out(sinks: Sequence[Sink], part: AnswerPart) -> None:
    """Send ``part`` to every sink; a failing sink is logged and does not stop the others."""
    results = await asyncio.gather(*(sink.send(part) for sink in sinks), return_exceptions=True)
    for sink, result in zip(sinks, results, strict=True):
        if isinstance(result, Exception):
            log.warning("sink %s failed: %s", type(sink).__name__, result)
