"""One language model for several streams: a real Ray actor holding llama.cpp with the packaged
Qwen 0.5B, and each stream's backend calling it (answers in turn, cancellation, scoring,
prefill for one stream only, a restart after the actor's process dies)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from types import SimpleNamespace

import pytest
import pytest_asyncio
import ray

from reaction.backends import ChatMessage
from runtime.config import load_config
from runtime.graph import SharedLanguageModel, cpus_needed, shares_llm
from runtime.models import registry_for
from runtime.stages import ModelPaths

in_module_loop = pytest.mark.asyncio(loop_scope="module")  # the model loads once per module

COUNT = [ChatMessage("user", "Count from 1 to 20, separated by commas.")]


@pytest.fixture(scope="module")
def llm_paths(ray_cluster: None, model_paths: ModelPaths) -> ModelPaths:
    qwen = registry_for(SimpleNamespace(models=SimpleNamespace(cache_dir=None))).path(
        "qwen2.5-0.5b-instruct"
    )
    return replace(model_paths, llm=qwen)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(llm_paths: ModelPaths) -> AsyncIterator[SharedLanguageModel]:
    config = load_config(reaction={"context_tokens": 1024, "timeout": 120.0})
    model = await SharedLanguageModel.start(config, llm_paths)
    yield model
    model.stop()


async def _timed(backend_factory: object, messages: list[ChatMessage]) -> list[float]:
    """When each piece of the answer arrived."""
    backend = backend_factory()  # type: ignore[operator]
    stamps = []
    async with contextlib.aclosing(backend.stream(messages, max_tokens=24)) as pieces:
        async for _ in pieces:
            stamps.append(time.monotonic())
    return stamps


def test_sharing_is_for_models_in_process_and_counts_one_reaction() -> None:
    assert shares_llm(load_config())
    assert not shares_llm(load_config(reaction={"shared": False}))
    openai = load_config(reaction={"backend": "openai", "base_url": "http://x/v1"})
    assert not shares_llm(openai)
    config = load_config(runtime={"perception_cpus": 1.0, "reaction_cpus": 1.0})
    assert cpus_needed(config, 8, shared_encoder=False, shared_llm=True) == 9.0
    assert cpus_needed(config, 8, shared_encoder=False) == 16.0


@in_module_loop
async def test_streams_are_answered_in_turn_by_one_model(shared: SharedLanguageModel) -> None:
    assert shared.info.name == "llama.cpp" and "first_token" in shared.info.score_methods
    a, b = shared.backend("a"), shared.backend("b")
    first, second = await asyncio.gather(_timed(a, COUNT), _timed(b, COUNT))
    assert len(first) > 5 and len(second) > 5
    # One generation at a time: the later one's first piece comes after the earlier one's last.
    earlier, later = sorted((first, second))
    assert later[0] >= earlier[-1]
    assert await shared.actor.generations.remote() == 0


@in_module_loop
async def test_a_quiet_stream_is_not_kept_behind_a_noisy_streams_questions(
    shared: SharedLanguageModel,
) -> None:
    noisy, quiet = shared.backend("noisy"), shared.backend("quiet")
    flood = [asyncio.create_task(_timed(noisy, COUNT)) for _ in range(4)]
    await asyncio.sleep(0.5)  # all four are waiting or under way
    asked = time.monotonic()
    answered = await _timed(quiet, COUNT)
    floods = sorted(await asyncio.gather(*flood))
    assert all(len(stamps) > 5 for stamps in floods)
    # First come, first served would put it after all four; in turn, right after the one
    # under way when it asked.
    assert answered[0] < floods[1][0], "the quiet stream waited behind the noisy one's queue"
    print(f"quiet stream's first piece {answered[0] - asked:.1f} s after asking")
    assert await shared.actor.waiting.remote() == {}


@in_module_loop
async def test_a_stream_that_stops_reading_frees_the_model(shared: SharedLanguageModel) -> None:
    backend = shared.backend("a")()
    async with contextlib.aclosing(backend.stream(COUNT, max_tokens=200)) as pieces:
        async for _ in pieces:
            break  # the person barged in
    assert await shared.actor.generations.remote() == 0
    began = time.monotonic()
    stamps = await _timed(shared.backend("b"), [ChatMessage("user", "Say hi.")])
    assert stamps and stamps[0] - began < 10.0, "the next answer did not wait for 200 tokens"


@in_module_loop
async def test_scores_go_through_the_actor(shared: SharedLanguageModel) -> None:
    question = [ChatMessage("user", "Is the sky blue? Answer yes or no.")]
    yes, no = await shared.backend("a")().score(question, ["yes", "no"])
    assert yes > no


@in_module_loop
async def test_prefill_only_for_a_stream_alone_and_a_retry_after_a_restart(
    llm_paths: ModelPaths,
) -> None:
    config = load_config(
        reaction={"context_tokens": 1024, "timeout": 120.0}, runtime={"max_restarts": 2}
    )
    model = await SharedLanguageModel.start(config, llm_paths)
    try:
        solo, other = model.backend("solo")(), model.backend("other")()
        prompt = [ChatMessage("system", "You watch a street."), ChatMessage("user", "12 s: a bus")]
        assert await solo.prefill(prompt), "alone on the model, its prompt is read ahead"
        await other.score(prompt, ["yes", "no"])
        assert not await solo.prefill(prompt), "another stream used it: no evicting its cache"

        before = await model.actor.process.remote()
        ray.kill(model.actor, no_restart=False)  # its process dies, as from an OOM kill
        stamps = await _timed(model.backend("a"), [ChatMessage("user", "Say hi.")])
        assert stamps, "no answer after the restart"
        assert await model.actor.process.remote() != before
    finally:
        model.stop()
