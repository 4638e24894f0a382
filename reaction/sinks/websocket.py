"""Answers to WebSocket clients: a small broadcaster that any browser or script can follow.

Each client gets every delta and final Response as one JSON text message. Sending never waits
for a client: ``websockets.broadcast`` writes to each connection's buffer and skips (and logs)
a client that is too slow or gone, so one stalled browser cannot hold up the answers.
"""

from __future__ import annotations

import json
import logging

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve

from reaction.sinks.base import AnswerPart, Sink
from vigil.items import Response

__all__ = ["WebSocketSink", "message"]

log = logging.getLogger(__name__)


def message(part: AnswerPart) -> str:
    """The JSON a client receives: ``type`` is "delta" or "response"."""
    body: dict[str, object] = {
        "type": "response" if isinstance(part, Response) else "delta",
        "stream_id": part.stream_id,
        "media_time": part.media_time,
        "response_id": part.response_id,
        "request_id": part.request_id,
        "text": part.text,
    }
    if isinstance(part, Response):
        body |= {
            "question": part.question,
            "cancelled": part.cancelled,
            "latency": round(part.latency, 4),
        }
    return json.dumps(body)


class WebSocketSink(Sink):
    """Serves ``ws://host:port/``; port 0 picks a free one (see ``port`` after ``start``)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8765) -> None:
        self.host = host
        self._port = port
        self._server: Server | None = None
        self.clients: set[ServerConnection] = set()

    @property
    def port(self) -> int:
        if self._server is None:
            return self._port
        return int(next(iter(self._server.sockets)).getsockname()[1])

    async def start(self) -> None:
        if self._server is None:
            self._server = await serve(self._serve, self.host, self._port)

    async def _serve(self, connection: ServerConnection) -> None:
        self.clients.add(connection)
        try:
            await connection.wait_closed()
        finally:
            self.clients.discard(connection)

    async def send(self, part: AnswerPart) -> None:
        broadcast(self.clients, message(part))

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
