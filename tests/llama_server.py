"""llama-cpp-python's OpenAI-compatible server on the packaged model, as a real process that a
test can start, stop and start again on the same port (a server restarting under a client)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

__all__ = ["LlamaServer", "free_port"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """``python -m llama_cpp.server --model MODEL`` on 127.0.0.1; ``url`` ends in ``/v1``."""

    def __init__(self, model: Path, log: Path, *, port: int | None = None) -> None:
        self.model = model
        self.log = log
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, wait: float = 60.0) -> str:
        """Start the server and return its URL once it lists its model."""
        with self.log.open("ab") as out:
            self._process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "llama_cpp.server", "--model", str(self.model)),
                    *("--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "2048"),
                    *("--n_threads", "2", "--verbose", "False"),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + wait
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/models", timeout=1).status_code == 200:
                    return self.url
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"llama.cpp server did not start:\n{self.log.read_text()[-2000:]}"
                )
            time.sleep(0.2)

    def stop(self) -> None:
        """Terminate the server (its port refuses connections once this returns)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
