"""Every hop is bounded and its overflow policy is counted."""

from __future__ import annotations

import asyncio

from runtime.hops import Backpressure, BoundedSender, DropOldest


async def test_drop_oldest_keeps_the_freshest() -> None:
    hop: DropOldest[int] = DropOldest(capacity=2)
    for value in range(5):
        hop.put(value)
    assert [await hop.get(), await hop.get()] == [3, 4]
    assert hop.stats.dropped == 3
    assert hop.stats.put == 5 and hop.stats.got == 2


async def test_drop_oldest_get_waits_for_a_put() -> None:
    hop: DropOldest[str] = DropOldest(capacity=1)
    getter = asyncio.create_task(hop.get())
    await asyncio.sleep(0.01)
    assert not getter.done()
    hop.put("frame")
    assert await asyncio.wait_for(getter, 1) == "frame"


async def test_backpressure_never_drops_and_counts_waiting() -> None:
    hop: Backpressure[int] = Backpressure(capacity=2)

    async def produce() -> None:
        for value in range(6):
            await hop.put(value)

    producer = asyncio.create_task(produce())
    await asyncio.sleep(0.05)
    assert not producer.done()  # blocked on a full queue
    got = [await hop.get() for _ in range(6)]
    await producer
    assert got == list(range(6))
    assert hop.stats.dropped == 0
    assert hop.stats.waited > 0.03


async def test_bounded_sender_limits_calls_in_flight() -> None:
    in_flight = 0
    peak = 0
    done: list[int] = []

    async def slow_consumer(value: int) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        done.append(value)

    sender = BoundedSender(slow_consumer, limit=3)
    for value in range(10):
        await sender.send(value)
    await sender.drain()
    assert done == list(range(10))
    assert peak <= 3
    assert sender.stats.waited > 0
