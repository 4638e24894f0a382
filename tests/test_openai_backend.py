"""The openai backend against a real OpenAI-compatible server: llama-cpp-python's own, on Qwen."""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import pytest_asyncio

from reaction import ReactionStage
from reaction.backends.base import ChatMessage, FramesMessage
from reaction.backends.openai import OpenAIBackend
from runtime.config import load_config
from runtime.stages import ModelPaths, build_backend, resolve_model_paths
from tests.fault_proxy import FaultProxy
from tests.llama_server import LlamaServer, free_port
from vigil.errors import BackendError, ConfigError
from vigil.items import Request, Response, ResponseDelta, Trigger

pytestmark = pytest.mark.asyncio(loop_scope="module")  # one server per module

CAPITAL = [ChatMessage("user", "What is the capital of France? Answer in one short sentence.")]
COUNT = [ChatMessage("user", "Count from 1 to 200, one number per line.")]
JPEG_URL = "data:image/jpeg;base64,"
NO_PATHS = ModelPaths(llm=Path("x"), asr=Path("x"), vad=Path("x"), voice=None)


def plain(rgb: tuple[int, int, int], height: int, width: int) -> np.ndarray:
    """A frame of one colour (RGB, as FramesMessage holds them)."""
    return np.full((height, width, 3), rgb, np.uint8)


def decoded(part: dict[str, Any]) -> np.ndarray:
    """The RGB frame an image part carries, checked to be a JPEG data URL."""
    assert part["type"] == "image_url"
    url = part["image_url"]["url"]
    assert url.startswith(JPEG_URL)
    jpeg = base64.b64decode(url.removeprefix(JPEG_URL), validate=True)
    assert jpeg[:2] == b"\xff\xd8", "JPEG's start-of-image marker"
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


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


async def test_frames_reach_the_server_as_timed_jpeg_image_parts(server: str) -> None:
    """Two frames through the real server, read on the way by a logging proxy.

    The packaged model reads text only, and no vision-language model with its projector ships
    in a package (shared/OFFLINE_MODELS.md), so llama-cpp-python's server cannot answer image
    parts: its chat template fails on a list of parts (HTTP 500 "can only concatenate str (not
    "list") to str"; streamed, a 200 that ends without a single event). The test therefore
    reads the request as the server received it from the proxy (tests/fault_proxy.py), checks
    that the refusal reaches the caller as an error with a hint rather than an empty answer,
    and that the same message with frames off gets a real answer from the same server.
    """
    red, blue = plain((255, 0, 0), 90, 160), plain((0, 0, 255), 90, 160)
    message = FramesMessage(
        "user", "Name the colour of each frame.", images=(red, blue), times=(12.0, 13.5)
    )
    proxy = FaultProxy(server.removesuffix("/v1"))
    with proxy as url:
        backend = OpenAIBackend(url, timeout=30, retries=0, frames=2, frame_max_side=64)
        with pytest.raises(BackendError, match="without a single event") as raised:
            async with contextlib.aclosing(backend.stream([message], max_tokens=8)) as stream:
                async for _ in stream:
                    pass
        assert "reaction.frames" in raised.value.hint
        await backend.stop()

        # frames=0, the default; a generous timeout, as on a busy 2-core machine a few tokens
        # of a 1.5B model have taken over 15 s
        text_only = OpenAIBackend(url, timeout=120, retries=0)
        async with contextlib.aclosing(text_only.stream([message], max_tokens=4)) as stream:
            answer = "".join([piece async for piece in stream])
        await text_only.stop()
    assert answer.strip(), "a text-only request is answered by the text-only model"

    framed, plain_text = (json.loads(body) for body in proxy.bodies if body)
    parts = framed["messages"][0]["content"]
    assert [part["type"] for part in parts] == ["text", "image_url", "text", "image_url", "text"]
    assert [parts[0]["text"], parts[2]["text"]] == ["frame at t=12.0s", "frame at t=13.5s"]
    assert parts[4]["text"] == message.content, "the question after what it asks about"
    for part, colour in ((parts[1], (255, 0, 0)), (parts[3], (0, 0, 255))):
        image = decoded(part)
        assert image.shape == (36, 64, 3), "shrunk to frame_max_side, aspect kept"
        assert np.abs(image.astype(int) - colour).max() < 8, "RGB, not swapped to BGR"
    assert plain_text["messages"] == [{"role": "user", "content": message.content}]


async def test_frame_count_and_size_follow_the_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VIGIL_REACTION__BACKEND", "openai")
    monkeypatch.setenv("VIGIL_REACTION__BASE_URL", "http://example.invalid/v1")
    monkeypatch.setenv("VIGIL_REACTION__FRAMES", "2")
    monkeypatch.setenv("VIGIL_REACTION__FRAME_MAX_SIDE", "48")
    backend = build_backend(load_config(), NO_PATHS)
    assert isinstance(backend, OpenAIBackend)
    assert (backend.frames, backend.frame_max_side) == (2, 48)

    older = FramesMessage(
        "user",
        "earlier",
        images=(plain((10, 10, 10), 100, 200), plain((20, 20, 20), 100, 200)),
        times=(1.0, 2.0),
    )
    newer = FramesMessage("user", "now", images=(plain((30, 30, 30), 10, 20),), times=(3.0,))
    system = ChatMessage("system", "Watch.")
    chat = backend.chat([system, older, newer])
    assert chat[0] == system.as_dict()
    kept = [(m["content"][0]["text"], decoded(m["content"][1])) for m in chat[1:]]
    assert [label for label, _ in kept] == ["frame at t=2.0s", "frame at t=3.0s"], "newest two"
    assert [len(m["content"]) for m in chat[1:]] == [3, 3]
    (_, second), (_, third) = kept
    assert second.shape == (24, 48, 3), "a large frame shrunk to frame_max_side"
    assert third.shape == (10, 20, 3), "a small frame not enlarged"
    assert abs(int(second.mean()) - 20) <= 2 and abs(int(third.mean()) - 30) <= 2

    untimed = FramesMessage("user", "what", images=(plain((0, 0, 0), 8, 8),) * 2)
    assert [p["text"] for p in backend.chat([untimed])[0]["content"][::2]] == [
        "frame 1 of 2",
        "frame 2 of 2",
        "what",
    ]
    off = OpenAIBackend("http://example.invalid/v1")
    assert off.chat([older]) == [{"role": "user", "content": "earlier"}], "frames=0: text only"
    with pytest.raises(ValueError, match="2 frames but 1 times"):
        FramesMessage("user", "x", images=older.images, times=(1.0,))
    monkeypatch.setenv("VIGIL_REACTION__FRAMES", "-1")
    with pytest.raises(ConfigError):
        load_config()
