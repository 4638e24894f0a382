"""Output sinks: console and log text, a real WebSocket server and client, real voices."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import numpy as np
import pytest
from websockets.asyncio.client import connect

from reaction.sinks import (
    EspeakSynthesizer,
    LogSink,
    PiperSynthesizer,
    SpeechSink,
    WebSocketSink,
    fan_out,
)
from reaction.sinks.base import AnswerPart
from vigil.items import Response, ResponseDelta


def answer(*pieces: str, cancelled: bool = False, rid: str = "a1") -> list[AnswerPart]:
    """The deltas of one answer, then its final Response."""
    deltas: list[AnswerPart] = [
        ResponseDelta(stream_id="s", media_time=12.0, response_id=rid, request_id="q", text=p)
        for p in pieces
    ]
    final = Response(
        stream_id="s", media_time=12.0, response_id=rid, request_id="q", question="How many?",
        text="".join(pieces), asked_at=12.0, asked_wall=100.0, first_token_wall=100.5,
        done_wall=101.0, cancelled=cancelled,
    )  # fmt: skip
    return [*deltas, final]


async def test_log_has_one_line_per_answer(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="vigil.answers"):
        await fan_out([LogSink()], answer("7", " people.")[0])
        for part in answer("7", " people."):
            await fan_out([LogSink()], part)
    (record,) = caplog.records
    assert "'7 people.'" in record.getMessage()
    assert "0.50 s to first token" in record.getMessage()


async def test_websocket_clients_receive_every_part() -> None:
    sink = WebSocketSink(port=0)
    await sink.start()
    try:
        url = f"ws://127.0.0.1:{sink.port}/"
        async with connect(url) as first, connect(url) as second:
            async with asyncio.timeout(5):
                while len(sink.clients) < 2:
                    await asyncio.sleep(0.01)
            for part in answer("7", " people", " are walking."):
                await sink.send(part)
            for client in (first, second):
                messages = [json.loads(await asyncio.wait_for(client.recv(), 5)) for _ in range(4)]
                assert [m["type"] for m in messages] == ["delta"] * 3 + ["response"]
                assert "".join(m["text"] for m in messages[:3]) == messages[3]["text"]
                assert messages[3]["latency"] == 0.5
                assert messages[3]["cancelled"] is False
        async with asyncio.timeout(5):  # closed clients are forgotten
            while sink.clients:
                await asyncio.sleep(0.01)
        await sink.send(answer("late")[0])  # nobody listening: no error
    finally:
        await sink.stop()


class Speaker:
    """A fake loudspeaker (hardware): "plays" in real time and notes what it played."""

    def __init__(self) -> None:
        self.played: list[float] = []  # seconds of each sentence played to the end
        self.started = asyncio.Event()
        self.stopped_at = 0.0

    async def __call__(self, samples: np.ndarray, sample_rate: int) -> None:
        self.started.set()
        try:
            await asyncio.sleep(len(samples) / sample_rate)
        finally:
            self.stopped_at = time.perf_counter()
        self.played.append(len(samples) / sample_rate)


async def test_piper_speaks_sentences_and_stops_on_barge_in() -> None:
    speaker = Speaker()
    sink = SpeechSink(PiperSynthesizer(), speaker)
    await sink.start()
    try:
        parts = answer("Seven people", " are walking.", " Two of them", " wear green coats.")
        for part in parts[:-1]:
            await sink.send(part)
        await asyncio.wait_for(speaker.started.wait(), 30)  # the first sentence is playing
        cancelled = answer("", cancelled=True)[-1]
        interrupted = time.perf_counter()
        await sink.send(cancelled)
        await asyncio.sleep(0.05)
        print(f"speech: silenced {(speaker.stopped_at - interrupted) * 1000:.1f} ms after barge-in")
        assert 0 <= speaker.stopped_at - interrupted < 0.2
        assert not sink.busy
        assert sink.spoken == []  # the first sentence was cut, the second never started
        for part in answer("It is raining.", rid="a2"):
            await sink.send(part)
        async with asyncio.timeout(30):
            while sink.busy:
                await asyncio.sleep(0.02)
        assert sink.spoken == ["It is raining."]
        assert 0.5 < speaker.played[-1] < 3.0  # seconds of real speech
    finally:
        await sink.stop()


async def test_espeak_synthesis_is_cancellable() -> None:
    voice = EspeakSynthesizer()
    samples = await voice.synthesize("Seven people are walking.")
    assert voice.sample_rate == 22050
    assert 0.8 < len(samples) / voice.sample_rate < 4.0
    assert float(np.abs(samples).max()) > 0.05
    task = asyncio.create_task(voice.synthesize("Walking. " * 2000))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)


def test_configuration_chooses_the_sinks() -> None:
    from runtime.config import load_config
    from runtime.stages import build_sinks

    assert [type(s) for s in build_sinks(load_config())] == [LogSink]
    chosen = build_sinks(load_config(reaction={"speak": True, "websocket_port": 0}))
    assert [type(s) for s in chosen] == [LogSink, SpeechSink, WebSocketSink]
