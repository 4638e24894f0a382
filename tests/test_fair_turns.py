"""Turns on a shared model go round the streams that wait, not first come first served."""

from __future__ import annotations

import asyncio

import pytest

from runtime.fair_turns import FairTurns


async def _served(turns: FairTurns, asks: list[str], order: list[str]) -> None:
    """Each ask takes its turn, notes who had it, and holds it until every ask is queued."""
    queued = asyncio.Event()

    async def take(stream_id: str) -> None:
        await turns.acquire(stream_id)
        order.append(stream_id)
        await queued.wait()
        turns.release()

    tasks = []
    for stream_id in asks:
        tasks.append(asyncio.create_task(take(stream_id)))
        await asyncio.sleep(0)  # queued in this order
    queued.set()
    await asyncio.gather(*tasks)


@pytest.mark.asyncio
async def test_a_quiet_stream_waits_for_one_turn_of_a_noisy_one_not_all() -> None:
    order: list[str] = []
    await _served(FairTurns(1), ["noisy"] * 6 + ["quiet"], order)
    assert order.index("quiet") == 1  # right after the noisy turn under way when it asked
    assert order.count("noisy") == 6


@pytest.mark.asyncio
async def test_turns_go_to_the_stream_served_least_recently() -> None:
    order: list[str] = []
    await _served(FairTurns(1), ["a", "a", "a", "b", "b", "c"], order)
    assert order == ["a", "b", "c", "a", "b", "a"]


@pytest.mark.asyncio
async def test_several_slots_are_all_used() -> None:
    turns = FairTurns(2)
    await turns.acquire("a")
    await asyncio.wait_for(turns.acquire("a"), 1.0)  # a second slot: no wait
    third = asyncio.create_task(turns.acquire("b"))
    await asyncio.sleep(0)
    assert not third.done() and turns.waiting() == {"b": 1}
    turns.release()
    await asyncio.wait_for(third, 1.0)
    assert turns.waiting() == {}


@pytest.mark.asyncio
async def test_a_request_cancelled_while_waiting_leaves_its_line_and_frees_nothing() -> None:
    turns = FairTurns(1)
    await turns.acquire("a")
    gone = asyncio.create_task(turns.acquire("b"))
    kept = asyncio.create_task(turns.acquire("c"))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.sleep(0)
    assert turns.waiting() == {"c": 1}
    turns.release()
    await asyncio.wait_for(kept, 1.0)
    late = asyncio.create_task(turns.acquire("a"))
    await asyncio.sleep(0)
    assert not late.done(), "the cancelled request's turn was handed out twice"
    late.cancel()


@pytest.mark.asyncio
async def test_a_turn_handed_over_as_its_request_is_cancelled_goes_on_to_the_next() -> None:
    turns = FairTurns(1)
    await turns.acquire("a")
    unlucky = asyncio.create_task(turns.acquire("b"))
    nxt = asyncio.create_task(turns.acquire("c"))
    await asyncio.sleep(0)
    turns.release()  # b is handed the turn ...
    unlucky.cancel()  # ... and cancelled before it ran
    with pytest.raises(asyncio.CancelledError):
        await unlucky
    await asyncio.wait_for(nxt, 1.0)
