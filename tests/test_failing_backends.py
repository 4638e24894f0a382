"""A language-model server that fails: the real llama.cpp server behind a fault proxy, stopped,
slowed, answering 503, breaking its stream mid-answer. What is safe to retry is retried with
backoff; what is not is reported; a graph whose server is down goes on perceiving, tells the
person, and answers again once the server is back."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evaluation.demo import Overlay, build_clip, clip_info
from evaluation.samples import sample_video
from reaction.backends.base import ChatMessage
from reaction.backends.openai import OpenAIBackend
from runtime.config import load_config
from runtime.session import run_stream
from runtime.stages import ModelPaths
from tests.fault_proxy import FaultProxy, Faults
from tests.llama_server import LlamaServer
from vigil.errors import BackendError
from vigil.items import Item, StreamError

CAPITAL = [ChatMessage("user", "What is the capital of France? Answer in one short sentence.")]
COUNT = [ChatMessage("user", "Count from 1 to 50, one number per line.")]
OPTIONS = [
    ChatMessage(
        "user",
        "What is the capital of France?\nA. Berlin\nB. Paris\nC. Rome\nAnswer with the letter.",
    )
]


@pytest.fixture(scope="module")
def server(
    model_paths: ModelPaths, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    """The real server, which a test may stop and start again on the same port."""
    server = LlamaServer(model_paths.llm, tmp_path_factory.mktemp("llama") / "server.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def proxy(server: LlamaServer) -> Iterator[tuple[FaultProxy, str]]:
    faults = FaultProxy(server.url.removesuffix("/v1"))
    with faults as url:
        yield faults, url


def backend(url: str, **options: float) -> OpenAIBackend:
    return OpenAIBackend(url, model="qwen", **{"retries": 2, "backoff": 0.2, **options})


async def answer(backend: OpenAIBackend, messages: list[ChatMessage]) -> tuple[str, list[str]]:
    """The whole answer, or the pieces that came before the error (in the error's notes)."""
    pieces: list[str] = []
    try:
        async with contextlib.aclosing(backend.stream(messages, max_tokens=32)) as stream:
            async for piece in stream:
                pieces.append(piece)
    except BackendError as error:
        error.add_note(f"received before it: {''.join(pieces)!r}")
        raise
    finally:
        await backend.stop()
    return "".join(pieces), pieces


def test_server_errors_are_retried_with_growing_pauses(proxy: tuple[FaultProxy, str]) -> None:
    faults, url = proxy
    faults.faults = Faults(errors=2)
    started = time.monotonic()
    text, _ = asyncio.run(answer(backend(url), CAPITAL))
    assert "Paris" in text
    assert faults.requests.count("/v1/chat/completions") == 3
    assert time.monotonic() - started >= 0.2 + 0.4  # the backoff doubled


def test_more_errors_than_retries_fail_with_the_status_and_a_hint(
    proxy: tuple[FaultProxy, str],
) -> None:
    faults, url = proxy
    faults.faults = Faults(errors=10)
    with pytest.raises(BackendError) as raised:
        asyncio.run(answer(backend(url, retries=1), CAPITAL))
    assert "503" in str(raised.value) and raised.value.retryable
    assert "reaction.base_url" in raised.value.hint
    assert faults.requests.count("/v1/chat/completions") == 2


def test_choices_are_scored_after_a_failed_try(proxy: tuple[FaultProxy, str]) -> None:
    faults, url = proxy
    faults.faults = Faults(errors=1)

    async def scored() -> list[float]:
        client = backend(url)
        try:
            return await client.score(OPTIONS, ["A", "B", "C"])
        finally:
            await client.stop()

    scores = asyncio.run(scored())
    assert max(range(3), key=scores.__getitem__) == 1
    assert faults.requests.count("/v1/chat/completions") == 2


def test_a_slow_server_is_waited_for_up_to_the_timeout(proxy: tuple[FaultProxy, str]) -> None:
    faults, url = proxy
    faults.faults = Faults(delay=1.0)
    text, _ = asyncio.run(answer(backend(url, timeout=20), CAPITAL))
    assert "Paris" in text
    faults.faults = Faults(delay=30.0)
    started = time.monotonic()
    with pytest.raises(BackendError) as raised:
        asyncio.run(answer(backend(url, timeout=1.5), CAPITAL))
    assert time.monotonic() - started < 5  # the timeout bounds the wait, retries included
    assert "reaction.timeout" in raised.value.hint


@pytest.mark.parametrize(
    ("faults", "what"),
    [(Faults(malformed_after=3), "malformed event"), (Faults(cut_after=3), "cannot reach")],
)
def test_a_stream_broken_mid_answer_is_reported_not_repeated(
    proxy: tuple[FaultProxy, str], faults: Faults, what: str
) -> None:
    """Words already streamed cannot be taken back: a second try would say them twice."""
    server_faults, url = proxy
    server_faults.faults = faults
    with pytest.raises(BackendError, match=what) as raised:
        asyncio.run(answer(backend(url), COUNT))
    assert raised.value.__notes__ != ["received before it: ''"]  # it failed mid-answer
    assert server_faults.requests.count("/v1/chat/completions") == 1


def test_a_stopped_server_fails_fast_and_is_used_again_once_back(server: LlamaServer) -> None:
    client = backend(server.url, retries=1, connect_timeout=1)

    async def twice() -> str:
        try:
            server.stop()
            with pytest.raises(BackendError, match="cannot reach"):
                async with contextlib.aclosing(client.stream(CAPITAL, max_tokens=8)) as stream:
                    async for _ in stream:
                        pass
            await asyncio.to_thread(server.start)
            pieces = []
            async with contextlib.aclosing(client.stream(CAPITAL, max_tokens=16)) as stream:
                async for piece in stream:
                    pieces.append(piece)
            return "".join(pieces)
        finally:
            await client.stop()

    assert "Paris" in asyncio.run(twice())


@pytest.mark.slow
def test_a_graph_whose_server_is_down_perceives_on_and_answers_once_it_is_back(
    ray_cluster: None, model_paths: ModelPaths, server: LlamaServer, tmp_path: Path
) -> None:
    duration = 12.0
    clip = build_clip(
        sample_video("vtest.avi"),
        tmp_path / "sign.mp4",
        start=30.0,
        duration=duration,
        overlays=[Overlay(text="GATE 7 CLOSED", t0=0.0, t1=duration, position="top")],
    )
    faulty = FaultProxy(server.url.removesuffix("/v1"))
    faulty.faults = Faults(errors=1000)  # down from the start until the first answer failed

    def on_event(item: Item) -> None:
        if isinstance(item, StreamError) and item.stage == "reaction":
            faulty.faults = Faults()  # and back

    first, second = "What does the sign say?", "Which gate is named on the screen?"
    with faulty as url:
        config = load_config(
            reaction={
                **{"backend": "openai", "base_url": url, "model": "qwen"},
                **{"retries": 1, "retry_backoff": 0.1, "prefill_interval": 0},
            }
        )
        outcome = asyncio.run(
            run_stream(
                config,
                str(clip_info(Path(clip)).path),
                asks=[(first, 2.0), (second, 7.0)],
                on_event=on_event,
                paths=model_paths,
            )
        )
    (failure,) = [e for e in outcome.errors if e.stage == "reaction"]
    assert first in failure.message and "503" in failure.message  # told, not silently lost
    assert [e for e in outcome.errors if e.stage != "reaction"] == []
    (answered,) = outcome.responses
    assert answered.question == second and answered.text.strip()
    assert not answered.cancelled
    seen = sorted(o.media_time for o in outcome.observations)
    assert seen[-1] >= duration - 2.0  # perception went on to the end
    assert sum(t > failure.media_time for t in seen) >= 5
