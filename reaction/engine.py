"""The reaction stage: turns a trigger and a memory snapshot into a streamed answer.

Generation runs in a producer task per answer, so cancelling an answer never has to wait for
the backend: ``cancel`` stops the producer (which closes the backend stream, which stops the
worker before its next token) and at once ends the answer's stream with a final ``Response``
marked ``cancelled``. Consumers therefore always see exactly one final Response, which the
decision stage needs for turn-taking, whether the answer finished or was interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from reaction.backends.base import Backend, ChatMessage
from reaction.context import approx_tokens, build_messages, build_prefix, system_prompt
from vigil.items import Observation, Response, ResponseDelta, Trigger, Utterance, new_id

__all__ = ["ReactionOptions", "ReactionStage"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionOptions:
    """How answers are generated.

    ``max_tokens`` caps an answer (one sentence needs about 20); ``temperature`` 0 makes
    answers repeatable; ``budget_tokens`` bounds the prompt (system prompt included), which
    bounds the time to the first token on a CPU; ``prefill_step`` bounds how many new prompt
    tokens one prefill reads (an answer that arrives meanwhile waits for it, and llama.cpp
    cannot stop a prompt half read); ``stop`` ends an answer at a blank line.
    """

    max_tokens: int = 48
    temperature: float = 0.0
    budget_tokens: int = 700
    prefill_step: int = 96
    stop: tuple[str, ...] = ("\n\n",)

    def __post_init__(self) -> None:
        if self.max_tokens < 1 or self.budget_tokens < 64 or not 0 <= self.temperature <= 2:
            raise ValueError("max_tokens >= 1, budget_tokens >= 64, 0 <= temperature <= 2")


class _End:
    """The end-of-answer sentinel (put by the producer's completion or by ``cancel``)."""


_END = _End()


@dataclass(eq=False)
class _Answer:
    request_id: str
    producer: asyncio.Task[None]
    queue: asyncio.Queue[str | _End]
    cancelled: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def cancel(self) -> None:
        if not self.cancelled and not self.done.is_set():
            self.cancelled = True
            self.producer.cancel()
            self.queue.put_nowait(_END)


def _within_step(done: str, text: str, step: int) -> str:
    """``text`` cut at the last line break that leaves at most ``step`` tokens beyond what
    it shares with ``done`` (at least one line, so that every call makes progress)."""
    shared = next(
        (i for i, (a, b) in enumerate(zip(done, text, strict=False)) if a != b),
        min(len(done), len(text)),
    )
    if approx_tokens(text[shared:]) <= step:
        return text
    end = text.find("\n", shared)
    while end != -1:
        further = text.find("\n", end + 1)
        if further == -1 or approx_tokens(text[shared:further]) > step:
            break
        end = further
    return text if end == -1 else text[:end]


def _finished(queue: asyncio.Queue[str | _End], producer: asyncio.Task[None]) -> None:
    """Mark the end of an answer (and retrieve the producer's error, which respond re-raises
    unless the answer was cancelled, so that asyncio does not log it as never retrieved)."""
    if not producer.cancelled():
        producer.exception()
    queue.put_nowait(_END)


class ReactionStage:
    """Answers triggers with a :class:`Backend`; several answers may be in flight."""

    def __init__(self, backend: Backend, options: ReactionOptions | None = None) -> None:
        self.backend = backend
        self.options = options or ReactionOptions()
        self._answers: set[_Answer] = set()
        self._prefilled = ""  # the user text of the last prefill, as the backend cached it

    async def start(self) -> None:
        """Load the model and evaluate the system prompt once, so that it is cached."""
        await self.backend.start()
        await self.backend.prefill([ChatMessage("system", system_prompt())])

    async def prefill(
        self,
        *,
        observations: Sequence[Observation] = (),
        utterances: Sequence[Utterance] = (),
        answers: Sequence[Response] = (),
    ) -> bool:
        """Evaluate the prompt that the next answer will start with, while nothing is asked.

        On a CPU, reading a few hundred tokens of timeline takes seconds; done as the stream
        goes, a question only leaves its own lines to read. One call reads at most about
        ``prefill_step`` new tokens, cut at a line, so an answer never waits long behind it;
        returns whether the whole prefix is now read (call again if not). Skipped (False)
        while an answer is being generated: answers come first.
        """
        if self._answers:
            return False
        system, user = build_prefix(
            observations=observations,
            utterances=utterances,
            answers=answers,
            budget_tokens=self.options.budget_tokens,
        )
        text = _within_step(self._prefilled, user.content, self.options.prefill_step)
        await self.backend.prefill([system, ChatMessage("user", text)])
        self._prefilled = text
        return text == user.content

    async def stop(self) -> None:
        await self.cancel_all()
        await self.backend.stop()

    @property
    def in_flight(self) -> list[str]:
        """Request ids of the answers being generated."""
        return [answer.request_id for answer in self._answers]

    def cancel(self, request_id: str) -> bool:
        """Cancel the answers to ``request_id``; each still ends with a cancelled Response."""
        found = [a for a in self._answers if a.request_id == request_id]
        for answer in found:
            answer.cancel()
        return bool(found)

    async def cancel_all(self, wait: float = 2.0) -> int:
        """Cancel every answer, then wait (up to ``wait`` s) until their consumers have taken
        the final Response, so that a caller may tear down the consumers afterwards."""
        answers = list(self._answers)
        for answer in answers:
            answer.cancel()
        waits = [asyncio.ensure_future(answer.done.wait()) for answer in answers]
        if waits:
            await asyncio.wait(waits, timeout=wait)
        for waiting in waits:
            waiting.cancel()
        return len(answers)

    async def respond(
        self,
        trigger: Trigger,
        *,
        observations: Sequence[Observation] = (),
        utterances: Sequence[Utterance] = (),
        answers: Sequence[Response] = (),
        recalled: Sequence[str] = (),
    ) -> AsyncIterator[ResponseDelta | Response]:
        """Deltas as the tokens arrive, then exactly one final Response (even if cancelled).

        ``recalled`` are texts long-term memory found for the request in earlier sessions.

        A backend failure is raised (as :class:`BackendError`) instead of the final Response.
        """
        asked_wall = trigger.stamps.get("asked", time.time())
        request = trigger.request
        messages = build_messages(
            trigger,
            observations=observations,
            utterances=utterances,
            answers=answers,
            recalled=recalled,
            budget_tokens=self.options.budget_tokens,
        )
        prompt_wall = time.time()
        queue: asyncio.Queue[str | _End] = asyncio.Queue()
        producer = asyncio.create_task(self._produce(messages, queue))
        producer.add_done_callback(functools.partial(_finished, queue))
        answer = _Answer(request.request_id, producer, queue)
        self._answers.add(answer)
        response_id = new_id()
        text, pending, first_token_wall = "", "", None
        try:
            while not isinstance(piece := await queue.get(), _End):
                # Leading whitespace is dropped, trailing whitespace held back, so that the
                # deltas add up to exactly the final text.
                piece = pending + piece if text else piece.lstrip()
                body = piece.rstrip()
                pending = piece[len(body) :]
                if not body:
                    continue
                first_token_wall = first_token_wall or time.time()
                text += body
                yield ResponseDelta(
                    stream_id=trigger.stream_id,
                    media_time=trigger.media_time,
                    response_id=response_id,
                    request_id=request.request_id,
                    text=body,
                )
            if not answer.cancelled and producer.done() and not producer.cancelled():
                error = producer.exception()
                if error is not None:
                    raise error
            done_wall = time.time()
            yield Response(
                stream_id=trigger.stream_id,
                media_time=trigger.media_time,
                stamps={
                    **trigger.stamps,
                    "prompt": prompt_wall,
                    "first_token": first_token_wall or done_wall,
                    "reaction": done_wall,
                },
                response_id=response_id,
                request_id=request.request_id,
                question=request.text,
                text=text,
                asked_at=trigger.asked_at,
                asked_wall=asked_wall,
                first_token_wall=first_token_wall or done_wall,
                done_wall=done_wall,
                cancelled=answer.cancelled,
            )
        finally:
            producer.cancel()
            self._answers.discard(answer)
            answer.done.set()

    async def _produce(self, messages: list[ChatMessage], queue: asyncio.Queue[str | _End]) -> None:
        options = self.options
        stream = self.backend.stream(
            messages,
            max_tokens=options.max_tokens,
            temperature=options.temperature,
            stop=options.stop,
        )
        async with contextlib.aclosing(stream) as pieces:
            async for piece in pieces:
                queue.put_nowait(piece)
