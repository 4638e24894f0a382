"""The openai backend against a real OpenAI-compatible server: llama-cpp-python's own, on Qwen."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from reaction import ReactionStage
from reaction.backends.base import ChatMessage
from reaction.backends.openai import OpenAIBackend
from runtime.config import load_config
from runtime.stages import ModelPaths, build_backend, resolve_model_paths
from tests.llama_server import LlamaServer, free_port
from vigil.errors import BackendError
from vigil.items import Request, Response, ResponseDelta, Trigger

pytestmark = pytest.mark.asyncio(loop_scope="module")  # one server per module

CAPITAL = [ChatMessage("user", "What is the capital of France? Answer in one short sentence.")]
COUNT = [ChatMessage("user", "Count from 1 to 200, one number per line.")]


@pytest.fixture(scope="module")
def server(model_paths: ModelPaths, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real server on a free port; yields its base URL once it serves."""
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with LlamaServer(model_paths.llm, log) as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def backend(server: str) -> AsyncIterator[OpenAIBackend]:
    backend = OpenAIBackend(server, timeout=30)
    await backend.start()
    yield backend
    await backend.stop()


async def test_tokens_stream_and_answer(backend: OpenAIBackend) -> None:
    assert backend.model and backend.model.endswith(".gguf")  # asked the server
    started = time.perf_counter()
    pieces, first = [], None
    async with contextlib.aclosing(backend.stream(CAPITAL, max_tokens=24)) as stream:
        async for piece in stream:
            first = first or time.perf_counter()
            pieces.append(piece)
    assert first is not None
    print(f"openai backend: first token {first - started:.3f}s, {len(pieces)} pieces")
    assert len(pieces) > 1
    assert "Paris" in "".join(pieces)


async def test_options_are_scored_by_the_first_tokens_log_probabilities(
    backend: OpenAIBackend,
) -> None:
    question = [
        ChatMessage(
            "user",
            "What is the capital of France?\nA. Berlin\nB. Paris\nC. Rome\n"
            "Answer with the letter only.",
        )
    ]
    scores = await backend.score(question, ["A", "B", "C"])
    assert max(range(3), key=scores.__getitem__) == 1, scores
    with pytest.raises(BackendError, match="cannot score"):
        await backend.score(question, ["Berlin", "Paris"], method="mean_logprob")


async def test_cancel_mid_stream_frees_the_server(backend: OpenAIBackend) -> None:
    pieces = []
    async with contextlib.aclosing(backend.stream(COUNT, max_tokens=400)) as stream:
        async for piece in stream:
            pieces.append(piece)
            if len(pieces) == 3:
                break
    assert len(pieces) == 3
    # The server generates one answer at a time: had it gone on counting to 200 (about 4 s of
    # tokens), the next answer would queue behind it.
    started = time.perf_counter()
    async with contextlib.aclosing(backend.stream(CAPITAL, max_tokens=2)) as stream:
        next_answer = [piece async for piece in stream]
    elapsed = time.perf_counter() - started
    print(f"openai backend: answer after a cancelled one in {elapsed:.3f}s")
    assert next_answer
    assert elapsed < 5.0  # counting to 200 takes over 10 s


async def test_reaction_stage_streams_and_cancels(server: str) -> None:
    stage = ReactionStage(OpenAIBackend(server, timeout=30))
    await stage.start()
    request = Request(
        stream_id="s", media_time=1.0, request_id="r", kind="question", text=COUNT[0].content
    )
    trigger = Trigger(stream_id="s", media_time=1.0, trigger_id="t", request=request, asked_at=1)
    items: list[ResponseDelta | Response] = []
    try:
        async for item in stage.respond(trigger):
            items.append(item)
            if len(items) == 2:
                assert stage.cancel("r")
    finally:
        await stage.stop()
    final = items[-1]
    assert isinstance(final, Response)
    assert final.cancelled
    assert final.text == "".join(i.text for i in items if isinstance(i, ResponseDelta))


async def test_dead_server_fails_with_a_hint() -> None:
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    backend = OpenAIBackend(base_url, model="any", retries=1, backoff=0.01, connect_timeout=1)
    with pytest.raises(BackendError) as raised:
        async with contextlib.aclosing(backend.stream(CAPITAL, max_tokens=4)) as stream:
            async for _ in stream:
                pass
    assert raised.value.retryable
    assert base_url in str(raised.value)
    assert "reaction.base_url" in raised.value.hint
    await backend.stop()


async def test_dead_server_fails_at_start_without_a_model_name() -> None:
    backend = OpenAIBackend(f"http://127.0.0.1:{free_port()}/v1", connect_timeout=1)
    with pytest.raises(BackendError, match="cannot reach"):
        await backend.start()
    assert not backend.started


async def test_wrong_path_is_not_retried(server: str) -> None:
    backend = OpenAIBackend(server.removesuffix("/v1") + "/nowhere", model="any")
    with pytest.raises(BackendError) as raised:
        async with contextlib.aclosing(backend.stream(CAPITAL, max_tokens=4)) as stream:
            async for _ in stream:
                pass
    assert "404" in str(raised.value)
    assert not raised.value.retryable
    await backend.stop()


async def test_configuration_selects_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_REACTION__BACKEND", "openai")
    monkeypatch.setenv("VIGIL_REACTION__BASE_URL", "http://example.invalid/v1/")
    monkeypatch.setenv("VIGIL_REACTION__API_KEY", "sk-test")
    monkeypatch.setenv("VIGIL_REACTION__MODEL", "qwen")
    config = load_config()
    assert "sk-test" not in repr(config)  # a secret, not printed
    backend = build_backend(
        config, ModelPaths(llm=Path("x"), asr=Path("x"), vad=Path("x"), voice=None)
    )
    assert isinstance(backend, OpenAIBackend)
    assert (backend.base_url, backend.model) == ("http://example.invalid/v1", "qwen")
    assert backend.concurrency == config.reaction.concurrency
    assert resolve_model_paths(config).llm is None, "a remote model: no local GGUF to assemble"
