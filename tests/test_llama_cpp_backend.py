"""Backends: the base class's contract with a scripted backend, then llama.cpp with real Qwen."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace

import pytest
import pytest_asyncio

from reaction.backends import Backend, ChatMessage, ThreadedBackend
from reaction.backends.llama_cpp import LlamaCppBackend
from runtime.models import registry_for
from vigil.errors import BackendError, ModelError

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the model loads once per module

HELLO = [ChatMessage("user", "hello")]


class Scripted(ThreadedBackend):
    """Yields ``pieces`` every ``delay`` s; ``failures`` are raised by successive attempts."""

    name = "scripted"

    def __init__(self, pieces: Sequence[str], *, delay: float = 0.0, **options: float) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.pieces = list(pieces)
        self.delay = delay
        self.failures: list[BaseException] = []
        self.fail_after = 0
        self.attempts = 0
        self.emitted = 0
        self.running = threading.Event()

    def _generate_sync(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str],
        schema: object,
        cancelled: threading.Event,
    ) -> Iterator[str]:
        self.attempts += 1
        self.running.set()
        try:
            for index, piece in enumerate(self.pieces[:max_tokens]):
                if self.failures and index == self.fail_after:
                    raise self.failures.pop(0)
                if cancelled.wait(self.delay):
                    return
                self.emitted += 1
                yield piece
        finally:
            self.running.clear()


async def collect(backend: Backend, max_tokens: int = 100) -> list[str]:
    return [piece async for piece in backend.stream(HELLO, max_tokens=max_tokens)]


async def test_pieces_stream_in_order() -> None:
    backend = Scripted(["Hel", "lo", "!"])
    assert await collect(backend) == ["Hel", "lo", "!"]
    assert backend.started
    assert await collect(backend, max_tokens=2) == ["Hel", "lo"]


async def test_retryable_error_before_first_token_is_retried() -> None:
    backend = Scripted(["ok"], backoff=0.0)
    backend.failures = [BackendError("busy", retryable=True)]
    assert await collect(backend) == ["ok"]
    assert backend.attempts == 2


async def test_no_retry_after_first_token_or_when_not_retryable() -> None:
    backend = Scripted(["a", "b"], backoff=0.0)
    backend.failures, backend.fail_after = [BackendError("lost", retryable=True)], 1
    with pytest.raises(BackendError, match="lost"):
        await collect(backend)
    assert backend.attempts == 1
    backend.failures, backend.fail_after = [BackendError("bad prompt")], 0
    with pytest.raises(BackendError, match="bad prompt"):
        await collect(backend)
    assert backend.attempts == 2


async def test_retries_run_out() -> None:
    backend = Scripted(["ok"], retries=1, backoff=0.0)
    backend.failures = [BackendError("busy", retryable=True)] * 3
    with pytest.raises(BackendError, match="busy"):
        await collect(backend)
    assert backend.attempts == 2


async def test_other_errors_become_backend_errors() -> None:
    backend = Scripted(["ok"])
    backend.failures = [KeyError("boom")]
    with pytest.raises(BackendError, match="scripted failed") as caught:
        await collect(backend)
    assert not caught.value.retryable


async def test_timeout_bounds_the_whole_generation() -> None:
    backend = Scripted(["x"] * 100, delay=0.05, timeout=0.2)
    started = time.perf_counter()
    with pytest.raises(BackendError, match=r"within 0\.2 s"):
        await collect(backend)
    assert time.perf_counter() - started < 0.5
    assert not backend.running.is_set(), "the worker stopped with the stream"


async def test_closing_the_stream_stops_the_worker_and_frees_the_backend() -> None:
    backend = Scripted(["x"] * 1000, delay=0.01)
    async with contextlib.aclosing(backend.stream(HELLO, max_tokens=1000)) as pieces:
        async for _ in pieces:
            if backend.emitted >= 3:
                break
    assert not backend.running.is_set()
    assert backend.emitted <= 4
    backend.pieces = ["next"]
    assert await collect(backend) == ["next"]


async def test_cancelling_the_consumer_task_stops_the_worker() -> None:
    backend = Scripted(["x"] * 1000, delay=0.01)
    task = asyncio.create_task(collect(backend, max_tokens=1000))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not backend.running.is_set()


async def test_concurrency_limit_serialises_generations() -> None:
    backend = Scripted(["a", "b", "c"], delay=0.02)
    order: list[str] = []

    async def run(tag: str) -> None:
        async for piece in backend.stream(HELLO, max_tokens=3):
            order.append(tag + piece)

    await asyncio.gather(run("1"), run("2"))
    assert order in (["1a", "1b", "1c", "2a", "2b", "2c"], ["2a", "2b", "2c", "1a", "1b", "1c"])


# --- llama.cpp with the packaged Qwen 0.5B ------------------------------------------------------


@pytest.fixture(scope="module")
def qwen_path() -> Path:
    """The packaged GGUF, assembled once into the user's cache (about 2 s the first time)."""
    return registry_for(SimpleNamespace(models=SimpleNamespace(cache_dir=None))).path(
        "qwen2.5-0.5b-instruct"
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def llama(qwen_path: Path) -> AsyncIterator[LlamaCppBackend]:
    backend = LlamaCppBackend(qwen_path, n_ctx=1024, n_threads=2)
    await backend.start()
    yield backend
    await backend.stop()


COUNT = [
    ChatMessage("system", "You are a helpful assistant."),
    ChatMessage("user", "Count from 1 to 50, separated by commas."),
]


async def test_llama_streams_tokens(llama: LlamaCppBackend) -> None:
    messages = [
        ChatMessage("system", "Answer with one word."),
        ChatMessage("user", "What is the capital of France?"),
    ]
    pieces = [piece async for piece in llama.stream(messages, max_tokens=8)]
    assert len(pieces) >= 1
    assert "paris" in "".join(pieces).lower()
    assert llama.count_tokens("Paris") >= 1


async def test_llama_cancel_stops_promptly_and_next_request_works(llama: LlamaCppBackend) -> None:
    pieces: list[str] = []
    async with contextlib.aclosing(llama.stream(COUNT, max_tokens=200)) as stream:
        async for piece in stream:
            pieces.append(piece)
            if len(pieces) == 5:
                break
        started = time.perf_counter()
    stopped = time.perf_counter() - started  # aclose returns once the worker has stopped
    assert stopped < 0.5, f"cancel took {stopped:.3f} s"
    assert "1" in "".join(pieces)
    again = [piece async for piece in llama.stream(COUNT, max_tokens=6)]
    assert "1" in "".join(again)


async def test_llama_stop_sequence(llama: LlamaCppBackend) -> None:
    text = "".join([p async for p in llama.stream(COUNT, max_tokens=60, stop=(", 4",))])
    assert "3" in text and "4" not in text


async def test_missing_or_bad_model_file_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist") as caught:
        await LlamaCppBackend(tmp_path / "missing.gguf").start()
    assert "vigil models prepare" in caught.value.hint
    not_gguf = tmp_path / "model.gguf"
    not_gguf.write_bytes(b"PK\x03\x04 a zip, not a model")
    with pytest.raises(ModelError, match="not a GGUF file"):
        await LlamaCppBackend(not_gguf).start()
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(ModelError, match="could not load"):
        await LlamaCppBackend(truncated).start()
