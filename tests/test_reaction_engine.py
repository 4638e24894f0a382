"""The reaction stage with the default model (Qwen 1.5B): answers, streaming, cancellation."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from reaction import ReactionOptions, ReactionStage
from reaction.backends.llama_cpp import LlamaCppBackend
from runtime.stages import ModelPaths
from vigil.items import Observation, Request, Response, ResponseDelta, Trigger, Utterance

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the model loads once per module


@pytest.fixture(scope="module")
def qwen_path(model_paths: ModelPaths) -> Path:
    return model_paths.llm


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
        Observation(
            stream_id="s", media_time=float(t), frame_index=t, people=2, text=(f"N{t % 5}",)
        )
        for t in range(60)
    ]
    calls, done = 0, False
    while not done:
        started = time.perf_counter()
        done = await stage.prefill(observations=observations) == "done"
        calls += 1
        assert time.perf_counter() - started < 5.0
        assert calls < 20
    assert calls >= 3, "about 60 lines of timeline take several steps of 96 tokens"
    assert await stage.prefill(observations=observations) == "done", "nothing new: one cheap call"
    pieces = [
        item
        async for item in stage.respond(ask("How many people?", at=59.0), observations=observations)
    ]
    assert isinstance(pieces[-1], Response) and pieces[-1].text


async def test_a_question_whose_only_evidence_fell_out_of_the_window(stage: ReactionStage) -> None:
    """Ten minutes of a changing street: Carlos's words at 40 s are far older than the
    prompt's window, and are brought back by the question's own words."""
    seen = [
        Observation(stream_id="s", media_time=float(t), frame_index=t, people=t % 5,
                    colours=("grey" if t // 5 % 2 else "white",))
        for t in range(600)
    ]  # fmt: skip
    heard = [
        Utterance(stream_id="s", media_time=43.0, utterance_id="c", t0=40.0, t1=43.0,
                  text="The meeting moved to room twelve.", speaker="Carlos"),
        Utterance(stream_id="s", media_time=52.0, utterance_id="d", t0=50.0, t1=52.0,
                  text="I will bring the slides to room four.", speaker="Dana"),
    ]  # fmt: skip
    trigger = ask("Which room did Carlos say the meeting moved to?", at=590.0)
    items = [i async for i in stage.respond(trigger, observations=seen, utterances=heard)]
    assert re.search(r"\b(twelve|12)\b", items[-1].text.lower()), items[-1].text


def signs(*shown: tuple[float, str]) -> list[Observation]:
    """One observation a second; ``shown`` = (media time, text read from then on)."""
    out, text = [], ""
    for t in range(12):
        for at, read in shown:
            if t >= at:
                text = read
        out.append(
            Observation(
                stream_id="s", media_time=float(t), frame_index=t, people=1,
                text=(text,) if text else (), colours=("grey",),
            )
        )  # fmt: skip
    return out


GATE = (
    "What does the sign on the wall say?\nOptions:\nA. EXIT B\nB. GATE 14\nC. PLATFORM 2\nD. GATE 4"
)


async def test_a_question_with_options_is_answered_with_one_of_them(stage: ReactionStage) -> None:
    trigger = ask(GATE, at=11.0)
    items = [i async for i in stage.respond(trigger, observations=signs((3.0, "GATE 14")))]
    final = items[-1]
    assert isinstance(final, Response)
    labels = {"A. EXIT B", "B. GATE 14", "C. PLATFORM 2", "D. GATE 4"}
    assert final.text in labels and final.choice == final.text[0]
    assert final.choice == "B", "the sign on screen reads GATE 14"
    assert [i.text for i in items[:-1]] == [final.text]  # one delta: the chosen option


async def test_what_perception_recorded_backs_an_option_up(stage: ReactionStage) -> None:
    supported = ReactionStage(stage.backend, ReactionOptions(support_weight=20.0))
    for read, letter in (("GATE 14", "B"), ("PLATFORM 2", "C")):
        trigger = ask(GATE, at=11.0)
        items = [i async for i in supported.respond(trigger, observations=signs((3.0, read)))]
        assert items[-1].choice == letter, items[-1]


async def test_an_instruction_that_named_its_output_gets_exactly_that(stage: ReactionStage) -> None:
    request = Request(stream_id="s", media_time=0.0, request_id="w", kind="instruction",
                      text="When the word GATE appears, output 'GATE'")  # fmt: skip
    trigger = Trigger(stream_id="s", media_time=3.0, trigger_id="t", request=request,
                      asked_at=3.0, evidence="the text 'GATE' appeared at 3.0 s", output="GATE",
                      stamps={"asked": time.time()})  # fmt: skip
    items = [i async for i in stage.respond(trigger, observations=signs((3.0, "GATE 14")))]
    assert items[-1].text == "GATE" and items[-1].latency < 0.5


async def test_the_model_checks_an_instruction_no_condition_fits(stage: ReactionStage) -> None:
    """Yes/no is read from the model's log-probabilities; the timeline decides."""
    calm = signs()
    smoke = [
        Observation(stream_id="s", media_time=float(t), frame_index=t, people=1,
                    text=("FIRE ALARM",) if t >= 6 else (), colours=("red",) if t >= 6 else ())
        for t in range(12)
    ]  # fmt: skip
    instruction = "tell me when the fire alarm goes off"
    assert await stage.check_instruction(instruction, media_time=10.0, observations=smoke)
    assert not await stage.check_instruction(instruction, media_time=10.0, observations=calm)
