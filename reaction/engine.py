"""The reaction stage: turns a trigger and a memory snapshot into a streamed answer.

Generation runs in a producer task per answer, so cancelling an answer never has to wait for
the backend: ``cancel`` stops the producer (which closes the backend stream, which stops the
worker before its next token) and at once ends the answer's stream with a final ``Response``
marked ``cancelled``. Consumers therefore always see exactly one final Response, which the
decision stage needs for turn-taking, whether the answer finished or was interrupted.

Three kinds of answer take three paths:

- a question with options is answered with one of them: the backend scores each
  (:mod:`reaction.choices`), optionally weighed with what perception recorded, and the answer
  is "B. GATE 14" (``Response.choice`` holds the letter);
- an instruction that named its output ("output 'PLATFORM'") is answered with exactly that,
  at once, without the model;
- anything else is generated, token by token.

The stage also lends the model to the decision stage for instructions
(:mod:`reaction.instructions`): compiling them into specs, and checking the ones no spec fits.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from reaction.backends.base import Backend, ChatMessage, FramesMessage, ScoreMethod
from reaction.choices import Choices, parse_choices, support
from reaction.clarify import Asker, ClarifyAgent
from reaction.context import (
    LOOKAHEAD,
    approx_tokens,
    asks,
    build_messages,
    build_prefix,
    now_line,
    recorded,
    system_prompt,
)
from reaction.counting import count_support
from reaction.instructions import check_messages, compile_instruction, says_yes
from reaction.sightings import temporal_support
from reaction.time_reference import read_reference
from vigil.errors import BackendError
from vigil.instructions import WatchSpec
from vigil.items import Observation, Response, ResponseDelta, Trigger, Utterance, new_id
from vigil.passages import Found

__all__ = [
    "CHECK_LINES",
    "CHECK_SECONDS",
    "MEASURED_WEIGHT",
    "Prefilled",
    "ReactionOptions",
    "ReactionStage",
]

log = logging.getLogger(__name__)

Prefilled = Literal["done", "partial", "declined"]
"""What one :meth:`ReactionStage.prefill` call did."""
MEASURED_WEIGHT = 3.0
"""How much more an option gains when what perception measured picks it (the question's time
cue, "no longer on screen", "the first", "right after X", or its count, "how many speakers")
than when the question's words merely occur beside it: a measurement names one option exactly,
where a small model often prefers what is on screen now. On the dev split (58 questions, time
cues only): 74.1% right at 1, 77.6% at 2, 79.3% at 3."""
CHECK_SECONDS = 10.0
"""How far back a model check of an instruction looks: it asks about now, not the past."""
CHECK_LINES = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionOptions:
    """How answers are generated.

    ``max_tokens`` caps an answer (one sentence needs about 20); ``temperature`` 0 makes
    answers repeatable; ``budget_tokens`` bounds the prompt (system prompt included), which
    bounds the time to the first token on a CPU; ``prefill_step`` bounds how many new prompt
    tokens one prefill reads (an answer that arrives meanwhile waits for it, and llama.cpp
    cannot stop a prompt half read); ``stop`` ends an answer at a blank line.

    ``choice_method``: how a question with options is answered: ``letter`` (the likeliest
    option letter as the reply's first token), ``text`` (the likeliest option text, mean
    log-probability per token) or ``generate`` (free text, as for open questions);
    ``support_weight``: how much an option gains per unit of :func:`reaction.choices.support`.
    """

    max_tokens: int = 48
    temperature: float = 0.0
    budget_tokens: int = 700
    prefill_step: int = 96
    stop: tuple[str, ...] = ("\n\n",)
    choice_method: Literal["letter", "text", "generate"] = "letter"
    support_weight: float = 1.0

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


def _when(observation: Observation) -> float:
    return observation.media_time


def _heard(utterance: Utterance) -> float:
    return utterance.t1


def _finished(queue: asyncio.Queue[str | _End], producer: asyncio.Task[None]) -> None:
    """Mark the end of an answer (and retrieve the producer's error, which respond re-raises
    unless the answer was cancelled, so that asyncio does not log it as never retrieved)."""
    if not producer.cancelled():
        producer.exception()
    queue.put_nowait(_END)


def _final(
    trigger: Trigger,
    response_id: str,
    text: str,
    *,
    prompt_wall: float,
    first_token_wall: float | None,
    cancelled: bool = False,
    choice: str = "",
) -> Response:
    """The final Response to ``trigger``, stamped with when its prompt was ready, its first
    token came and it ended (now)."""
    done_wall = time.time()
    return Response(
        stream_id=trigger.stream_id,
        media_time=trigger.media_time,
        stamps={
            **trigger.stamps,
            "prompt": prompt_wall,
            "first_token": first_token_wall or done_wall,
            "reaction": done_wall,
        },
        response_id=response_id,
        request_id=trigger.request.request_id,
        question=trigger.request.text,
        text=text,
        asked_at=trigger.asked_at,
        asked_wall=trigger.stamps.get("asked", prompt_wall),
        first_token_wall=first_token_wall or done_wall,
        done_wall=done_wall,
        cancelled=cancelled,
        choice=choice,
    )


class ReactionStage:
    """Answers triggers with a :class:`Backend`; several answers may be in flight."""

    def __init__(self, backend: Backend, options: ReactionOptions | None = None) -> None:
        self.backend = backend
        self.options = options or ReactionOptions()
        self._answers: set[_Answer] = set()
        self._prefilled = ""  # the user text of the last prefill, as the backend cached it

    async def start(self) -> None:
        """Load the model and evaluate the system prompt once, so that it is cached.

        A server that cannot be reached for now only loses that head start: the stream starts
        and each answer tries again (a misconfigured one, a wrong path or key, fails here).
        """
        await self.backend.start()
        try:
            await self.backend.prefill([ChatMessage("system", system_prompt())])
        except BackendError as error:
            if not error.retryable:
                raise
            log.warning("the %s backend is not answering yet: %s", self.backend.name, error)

    async def prefill(
        self,
        *,
        observations: Sequence[Observation] = (),
        utterances: Sequence[Utterance] = (),
    ) -> Prefilled:
        """Evaluate the prompt that the next answer will start with, while nothing is asked.

        On a CPU, reading a few hundred tokens of timeline takes seconds; done as the stream
        goes, a question only leaves its own lines to read. One call reads at most about
        ``prefill_step`` new tokens, cut at a line, so an answer never waits long behind it;
        returns ``"done"`` when the whole prefix is now read, ``"partial"`` when there is more
        (call again), ``"declined"`` when nothing was read: an answer is being generated
        (answers come first), or the backend declined (a model shared with busier streams).
        """
        if self._answers:
            return "declined"
        system, user = build_prefix(
            observations=observations,
            utterances=utterances,
            budget_tokens=self.options.budget_tokens,
        )
        text = _within_step(self._prefilled, user.content, self.options.prefill_step)
        if not await self.backend.prefill([system, ChatMessage("user", text)]):
            return "declined"
        self._prefilled = text
        return "done" if text == user.content else "partial"

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
        frames: Sequence[tuple[float, np.ndarray]] = (),
    ) -> AsyncIterator[ResponseDelta | Response]:
        """Deltas as the tokens arrive, then exactly one final Response (even if cancelled).

        ``recalled`` are texts long-term memory found for the request in earlier sessions;
        ``frames`` the newest frames (media second, RGB), shown with the question to a
        vision-language backend (one that reads text only sees the question alone).

        A backend failure is raised (as :class:`BackendError`) instead of the final Response.
        """
        request = trigger.request
        queue: asyncio.Queue[str | _End] = asyncio.Queue()
        picked: list[str] = []
        if trigger.output:  # the instruction wrote its answer: no prompt, no model
            prompt_wall = time.time()
            work = self._say(trigger.output, queue)
        else:
            choices = self._choices(trigger)
            messages = build_messages(
                trigger,
                observations=observations,
                utterances=utterances,
                answers=answers,
                recalled=recalled,
                budget_tokens=self.options.budget_tokens,
                choices=choices,
                answer_with="text" if self._score_method() == "mean_logprob" else "letter",
            )
            if frames:
                question = messages[-1]
                messages[-1] = FramesMessage(
                    question.role,
                    question.content,
                    images=tuple(image for _, image in frames),
                    times=tuple(when for when, _ in frames),
                )
            prompt_wall = time.time()
            if choices is not None:
                until = trigger.asked_at + LOOKAHEAD
                seen = sorted((o for o in observations if o.media_time <= until), key=_when)
                heard = sorted(
                    (u for u in utterances if u.final and u.t1 <= until and not asks(u, request)),
                    key=_heard,
                )  # a spoken question is no evidence for its own options
                work = self._choose(messages, choices, seen, heard, queue, picked)
            else:
                work = self._produce(messages, queue)
        producer = asyncio.create_task(work)
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
            yield _final(
                trigger,
                response_id,
                text,
                prompt_wall=prompt_wall,
                first_token_wall=first_token_wall,
                cancelled=answer.cancelled,
                choice=picked[0] if picked and not answer.cancelled else "",
            )
        finally:
            producer.cancel()
            self._answers.discard(answer)
            answer.done.set()

    def _choices(self, trigger: Trigger) -> Choices | None:
        """The question's options, when it has some and this stage answers them by choice."""
        if trigger.request.kind != "question" or self._score_method() is None:
            return None
        return parse_choices(trigger.request.text)

    def _score_method(self) -> ScoreMethod | None:
        """How options are scored: by their text where asked for and the backend can, else by
        their letter; None (free text) where the backend scores nothing."""
        can = self.backend.score_methods
        if self.options.choice_method == "generate" or "first_token" not in can:
            return None
        if self.options.choice_method == "text" and "mean_logprob" in can:
            return "mean_logprob"
        return "first_token"

    async def _say(self, output: str, queue: asyncio.Queue[str | _End]) -> None:
        queue.put_nowait(output)

    async def _choose(
        self,
        messages: list[ChatMessage],
        choices: Choices,
        seen: list[Observation],
        heard: list[Utterance],
        queue: asyncio.Queue[str | _End],
        picked: list[str],
    ) -> None:
        """Score every option, add what perception backs up (``seen`` and ``heard`` up to the
        question), answer with the best."""
        self._prefilled = ""  # the backend's cache now holds this prompt, not the timeline
        if self._score_method() == "mean_logprob":
            scores = await self.backend.score(messages, choices.options, method="mean_logprob")
        else:
            scores = await self.backend.score(messages, choices.letters, method="first_token")
        weight = self.options.support_weight
        if weight:
            notes = recorded(math.inf, observations=seen, utterances=heard)
            now = now_line(seen) if seen else ""
            stem, options = choices.stem, choices.options
            backed = [support(option, stem, notes, now) for option in options]
            relation = await read_reference(self.backend, stem, options, seen, heard)
            for measured in (
                temporal_support(relation, options, seen, heard),
                count_support(stem, options, seen, heard),
            ):
                if measured is not None:
                    measured = [MEASURED_WEIGHT * m for m in measured]
                    backed = [max(b, m) for b, m in zip(backed, measured, strict=True)]
            scores = [score + weight * b for score, b in zip(scores, backed, strict=True)]
        best = max(range(len(scores)), key=scores.__getitem__)
        picked.append(choices.letters[best])
        queue.put_nowait(choices.label(best))

    async def clarify(
        self, trigger: Trigger, agent: ClarifyAgent, asker: Asker, found: Sequence[Found]
    ) -> AsyncIterator[ResponseDelta | Response]:
        """The clarify loop's answer to ``trigger`` (its questions go through ``asker``; it
        starts from ``found``, what a search for the request returned), as one delta and the
        final Response, like any answer."""
        started = time.time()
        self._prefilled = ""  # the backend's cache will hold the loop's prompts
        outcome = await agent.run(trigger.request.text, asker=asker, found=found)
        response_id = new_id()
        yield ResponseDelta(
            stream_id=trigger.stream_id,
            media_time=trigger.media_time,
            response_id=response_id,
            request_id=trigger.request.request_id,
            text=outcome.text,
        )
        yield _final(
            trigger, response_id, outcome.text, prompt_wall=started, first_token_wall=time.time()
        )

    async def compile_instruction(self, instruction: str) -> WatchSpec | None:
        """The model's reading of a standing instruction (see :mod:`reaction.instructions`)."""
        self._prefilled = ""  # the backend's cache will hold this prompt, not the timeline
        return await compile_instruction(self.backend, instruction)

    async def check_instruction(
        self,
        instruction: str,
        *,
        media_time: float,
        observations: Sequence[Observation] = (),
        utterances: Sequence[Utterance] = (),
    ) -> bool:
        """Whether the model judges that ``instruction``'s event is happening at
        ``media_time``, from the last few seconds of the timeline."""
        lines = recorded(
            media_time,
            observations=observations,
            utterances=utterances,
            since=media_time - CHECK_SECONDS,
        )
        messages = check_messages(lines[-CHECK_LINES:], instruction, media_time)
        self._prefilled = ""  # the backend's cache will hold this prompt, not the timeline
        return await says_yes(self.backend, messages, check_messages([], instruction, media_time))

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
