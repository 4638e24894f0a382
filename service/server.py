"""The service on a port of this process, in a thread of its own: for tests, benches and
embedding Vigil in another program (``vigil serve`` runs uvicorn in the foreground instead)."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn
from fastapi import FastAPI

__all__ = ["BackgroundServer"]


class BackgroundServer:
    """``with BackgroundServer(app) as url:`` serves ``app`` on 127.0.0.1 (a free port unless
    given) until the block ends; sessions are ended cleanly on the way out."""

    def __init__(
        self,
        app: FastAPI,
        *,
        port: int = 0,
        ws_max_size: int = 16 * 1024 * 1024,
        ping_interval: float = 20.0,
        ping_timeout: float = 60.0,
    ) -> None:
        self._server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                log_level="warning",
                ws_max_size=ws_max_size,
                ws_ping_interval=ping_interval,
                ws_ping_timeout=ping_timeout,
            )
        )
        self._thread = threading.Thread(target=self._server.run, name="vigil-service", daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the service did not start")
            time.sleep(0.05)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.should_exit = True
        self._thread.join(120)
