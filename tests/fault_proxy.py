"""A reverse proxy that makes a real server misbehave on demand, as toxiproxy does.

Tests put it between Vigil and the real llama.cpp server, then set :class:`Faults`: the next
requests answered 503, every request held back, or a streamed answer broken by a malformed
event or by the connection dropping after some lines. Everything else is forwarded as it is,
so what Vigil sees is a real server's answers with real failures in between.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from service.server import BackgroundServer

__all__ = ["FaultProxy", "Faults"]


@dataclass
class Faults:
    """What the proxy does to the requests that come next (change it at any time)."""

    errors: int = 0
    """The next this many requests are answered HTTP 503 without reaching the server."""
    delay: float = 0.0
    """Seconds every request waits before it is forwarded."""
    malformed_after: int | None = None
    """Events of a stream passed on before a malformed one ends it."""
    cut_after: int | None = None
    """Events of a stream passed on before the connection is dropped mid-response."""


class FaultProxy:
    """``with FaultProxy(upstream) as url:`` forwards ``url/...`` to ``upstream/...``."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.faults = Faults()
        self.requests: list[str] = []  # paths, in the order they came
        self.bodies: list[bytes] = []  # their bodies: what a client really sent, byte for byte
        self._client: httpx.AsyncClient | None = None
        app = FastAPI()
        app.add_api_route("/{path:path}", self._forward, methods=["GET", "POST"])
        self._server = BackgroundServer(app)

    async def _forward(self, path: str, request: Request) -> Response:
        self.requests.append("/" + path)
        body = await request.body()
        self.bodies.append(body)
        faults = self.faults
        if faults.delay:
            await asyncio.sleep(faults.delay)
        if faults.errors > 0:
            faults.errors -= 1
            return JSONResponse({"error": {"message": "overloaded (injected)"}}, status_code=503)
        if self._client is None:  # made here, on the server's own event loop
            self._client = httpx.AsyncClient(timeout=None)
        upstream = await self._client.send(
            self._client.build_request(
                request.method,
                f"{self.upstream}/{path}",
                content=body,
                headers={"content-type": request.headers.get("content-type", "application/json")},
            ),
            stream=True,
        )
        return StreamingResponse(
            self._relay(upstream, faults.malformed_after, faults.cut_after),
            status_code=upstream.status_code,
            media_type=upstream.headers.get("content-type"),
        )

    @staticmethod
    async def _relay(
        upstream: httpx.Response, malformed_after: int | None, cut_after: int | None
    ) -> AsyncIterator[bytes]:
        events = 0
        try:
            async for line in upstream.aiter_lines():
                if line.startswith("data:"):
                    if malformed_after is not None and events >= malformed_after:
                        yield b'data: {"choices": [{"delta": \n\n'
                        return
                    if cut_after is not None and events >= cut_after:
                        raise ConnectionAbortedError("connection cut mid-stream (injected)")
                    events += 1
                yield (line + "\n").encode()
        finally:
            await upstream.aclose()

    def __enter__(self) -> str:
        return self._server.__enter__() + "/v1"

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.__exit__(kind, exc, tb)
