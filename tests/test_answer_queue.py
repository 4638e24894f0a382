"""Answers start in the order asked, as many at once as the backend allows, and never wait
on a dropped stream."""

from __future__ import annotations

import asyncio

from reaction.answer_queue import AnswerQueue
from vigil.items import Request, Trigger


def trigger(n: int, stream: str = "s") -> Trigger:
    request = Request(stream_id=stream, media_time=0.0, request_id=f"q{n}", kind="question",
                      text=f"question {n}")  # fmt: skip
    return Trigger(stream_id=stream, media_time=0.0, trigger_id=f"t{n}", request=request,
                   asked_at=0.0)  # fmt: skip


async def test_one_worker_answers_in_order_and_stamps_the_wait() -> None:
    started: list[Trigger] = []

    async def answer(t: Trigger) -> None:
        started.append(t)
        await asyncio.sleep(0.02)

    queue = AnswerQueue(answer, workers=1)
    ahead = [await queue.put(trigger(n)) for n in range(7)]
    await queue.idle()
    assert ahead == [0, 1, 2, 3, 4, 5, 6]
    assert [t.request.text for t in started] == [f"question {n}" for n in range(7)]
    waits = [t.stamps["started"] - t.stamps["queued"] for t in started]
    assert waits[0] < 0.01 and waits[-1] >= 0.1  # the last waited for six answers
    await queue.close()


async def test_workers_run_answers_side_by_side_in_order_of_start() -> None:
    running, most = 0, 0
    order: list[str] = []

    async def answer(t: Trigger) -> None:
        nonlocal running, most
        order.append(t.request.request_id)
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05)
        running -= 1

    queue = AnswerQueue(answer, workers=3)
    for n in range(7):
        await queue.put(trigger(n))
    await queue.idle()
    assert most == 3 and order == [f"q{n}" for n in range(7)]
    await queue.close()


async def test_drop_removes_only_that_streams_waiting_answers() -> None:
    gate = asyncio.Event()
    done: list[str] = []

    async def answer(t: Trigger) -> None:
        await gate.wait()
        done.append(t.request.request_id)

    queue = AnswerQueue(answer, workers=1)
    await queue.put(trigger(0, "a"))
    await asyncio.sleep(0)  # the first starts
    for n, stream in ((1, "a"), (2, "b"), (3, "a")):
        await queue.put(trigger(n, stream))
    assert [t.request.request_id for t in queue.drop("a")] == ["q1", "q3"]
    assert [t.request.request_id for t in queue.running("a")] == ["q0"]
    gate.set()
    await queue.idle()
    assert done == ["q0", "q2"]
    await queue.close()


async def test_a_failing_answer_does_not_stop_the_queue() -> None:
    done: list[str] = []

    async def answer(t: Trigger) -> None:
        if t.request.request_id == "q0":
            raise RuntimeError("backend down")
        done.append(t.request.request_id)

    queue = AnswerQueue(answer, workers=1)
    await queue.put(trigger(0))
    await queue.put(trigger(1))
    await queue.idle()
    assert done == ["q1"]
    await queue.close()
