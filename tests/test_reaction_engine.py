"""The reaction stage with the real Qwen 0.5B: answers, streaming, cancellation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import pytest_asyncio

from reaction import ReactionOptions, ReactionStage
from reaction.backends.llama_cpp import LlamaCppBackend
from runtime.models import registry_for
from vigil.items import Observation, Request, Response, ResponseDelta, Trigger, Utterance

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the model loads once per module


@pytest.fixture(scope="module")
def qwen_path() -> Path:
    return registry_for(SimpleNamespace(models=SimpleNamespace(cache_dir=None))).path(
        "qwen2.5-0.5b-instruct"
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stage(qwen_path: Path) -> AsyncIterator[ReactionStage]:
    stage = ReactionStage(LlamaCppBackend(qwen_path, n_ctx=1024, n_threads=2), ReactionOptions())
    await stage.start()
    yield stage
    await stage.stop()


def walking(count_at_end: int = 4) -> list[Observation]:
    """People walking: 2 at first, then ``count_at_end`` (one noisy frame shows 3)."""
    observations = []
    for step in range(24):
        t = step * 0.5
        people = 2 if t < 6.0 else count_at_end
        if t == 10.0:
            people = 3
        observations.append(
            Observation(stream_id="s", media_time=t, frame_index=step, people=people)
        )
    return observations


def ask(text: str, at: float = 11.5, kind: str = "question", evidence: str = "") -> Trigger:
    request = Request(
        stream_id="s", media_time=at, request_id=f"r{time.perf_counter_ns()}", kind=kind,
        text=text, speaker="alice", origin="spoken",
    )  # type: ignore[arg-type]  # fmt: skip
    return Trigger(
        stream_id="s", media_time=at, trigger_id="t", request=request, asked_at=at,
        evidence=evidence, stamps={"asked": time.time()},
    )  # fmt: skip


QUESTION = [
    Utterance(
        stream_id="s", media_time=11.5, utterance_id="u", t0=10.0, t1=11.5,
        text="How many people are walking?", speaker="alice",
    )
]  # fmt: skip


async def answer(stage: ReactionStage, trigger: Trigger) -> tuple[list[ResponseDelta], Response]:
    items = [
        item
        async for item in stage.respond(
            trigger, observations=walking(), utterances=QUESTION, answers=()
        )
    ]
    *deltas, final = items
    assert isinstance(final, Response)
    assert all(isinstance(d, ResponseDelta) for d in deltas)
    return deltas, final  # type: ignore[return-value]


async def test_counts_the_people_seen_at_the_question(stage: ReactionStage) -> None:
    trigger = ask("How many people are walking?")
    deltas, final = await answer(stage, trigger)
    text = final.text.lower()
    assert "4" in text or "four" in text, final.text
    assert "".join(d.text for d in deltas) == final.text
    assert deltas and {d.response_id for d in deltas} == {final.response_id}
    assert final.request_id == trigger.request.request_id
    assert final.question == "How many people are walking?"
    assert final.asked_at == trigger.asked_at and final.media_time == trigger.media_time
    assert final.asked_wall == trigger.stamps["asked"]
    assert final.asked_wall <= final.first_token_wall <= final.done_wall
    assert not final.cancelled
    assert final.text == final.text.strip() and "\n" not in final.text


async def test_instruction_notice(stage: ReactionStage) -> None:
    trigger = ask(
        "Tell me when more people arrive.", 11.5, "instruction", "4 people are visible (was 2)"
    )
    _, final = await answer(stage, trigger)
    assert final.text and not final.cancelled
    assert "4" in final.text or "four" in final.text.lower() or "arriv" in final.text.lower()


async def test_cancel_all_mid_stream_ends_with_a_cancelled_response(stage: ReactionStage) -> None:
    long = ReactionStage(stage.backend, ReactionOptions(max_tokens=200))
    trigger = ask("List every line of the timeline, one by one, with all details.")
    items: list[ResponseDelta | Response] = []
    cancel: asyncio.Task[int] | None = None
    async for item in long.respond(trigger, observations=walking(), utterances=(), answers=()):
        items.append(item)
        if isinstance(item, ResponseDelta) and len(items) == 3:
            cancelled_at = time.perf_counter()
            cancel = asyncio.create_task(long.cancel_all())
    assert cancel is not None, "the answer was too short to cancel"
    assert await cancel == 1
    final = items[-1]
    assert isinstance(final, Response) and final.cancelled
    assert time.perf_counter() - cancelled_at < 1.0
    assert "".join(i.text for i in items[:-1]) == final.text
    assert sum(isinstance(i, Response) for i in items) == 1
    assert long.in_flight == []
    _, again = await answer(stage, ask("How many people are walking?"))  # the backend is free
    assert not again.cancelled and again.text


async def test_cancel_by_request_id(stage: ReactionStage) -> None:
    trigger = ask("How many people are walking?")
    stream = stage.respond(trigger, observations=walking(), utterances=(), answers=())
    first = await anext(stream)  # the answer is in flight from here on
    assert stage.in_flight == [trigger.request.request_id]
    assert stage.cancel("someone-else") is False
    assert stage.cancel(trigger.request.request_id) is True
    rest = [item async for item in stream]
    final = rest[-1]
    assert isinstance(final, Response) and final.cancelled
    assert final.text.startswith(first.text)


async def test_a_long_timeline_is_prefilled_in_bounded_steps(stage: ReactionStage) -> None:
    """Each prefill reads at most about ``prefill_step`` new tokens, so an answer arriving
    meanwhile never waits long; repeated calls finish the job, and then a question is fast."""
    observations = [
        Observation(stream_id="s", media_time=float(t), frame_index=t, people=t % 5)
        for t in range(60)
    ]
    calls, done = 0, False
    while not done:
        started = time.perf_counter()
        done = await stage.prefill(observations=observations)
        calls += 1
        assert time.perf_counter() - started < 5.0
        assert calls < 20
    assert calls >= 3, "about 60 lines of timeline take several steps of 96 tokens"
    assert await stage.prefill(observations=observations), "nothing new: one cheap call"
    pieces = [
        item
        async for item in stage.respond(ask("How many people?", at=59.0), observations=observations)
    ]
    assert isinstance(pieces[-1], Response) and pieces[-1].text
