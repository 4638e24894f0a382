"""One async interface for every reaction backend (llama.cpp in process, vLLM, HTTP servers).

The base class owns what every backend needs and none should re-implement: loading once, a
concurrency limit, a deadline on each generation (counted from when it gets its turn, not
while it waits for one), retries and error mapping. A backend implements one async generator,
``_generate``; a backend that computes in a thread (llama.cpp) implements ``_generate_sync``
on :class:`ThreadedBackend` instead, and gets the thread hand-off, the end-of-stream sentinel
and cancellation between tokens for free.

Beyond free text, a backend may constrain a generation to a JSON schema (``schema``: a
llama.cpp grammar, vLLM's structured output, an OpenAI-compatible ``response_format``) and
score given replies (:meth:`Backend.score`): how likely the model finds each option letter as
the start of its reply, or each option's whole text. Multiple choice and yes/no checks use
the scores, so the answer is always one of the choices.

Cancellation: a consumer that stops iterating (``break`` inside ``contextlib.aclosing``, or
its task is cancelled) closes the stream; the worker sees a flag before its next token, and the
stream only finishes closing once the worker has stopped, so the backend is free for the next
request. Retries only happen before the first token: after that the consumer has already shown
part of an answer, and a second attempt would repeat it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np

from vigil.errors import BackendError, VigilError

__all__ = [
    "UNLIKELY",
    "Backend",
    "ChatMessage",
    "FramesMessage",
    "ScoreMethod",
    "ThreadedBackend",
    "first_tokens",
]

log = logging.getLogger(__name__)

Role = Literal["system", "user", "assistant"]
ScoreMethod = Literal["first_token", "mean_logprob", "sum_logprob"]
"""``first_token``: log p of each choice's first token as the reply's first (a letter, "yes");
``mean_logprob`` / ``sum_logprob``: the mean / total log p of each choice's whole text as the
reply."""
Schema = Mapping[str, Any]
UNLIKELY = -100.0
"""The score of a choice that a server's top log-probabilities did not list."""
_T = TypeVar("_T")


def first_tokens(top: Mapping[str, float], choices: Sequence[str]) -> list[float]:
    """Each choice's score from the log-probabilities of the reply's likeliest first tokens
    (what a server returns as ``top_logprobs``): the best token that reads as the choice,
    give or take spaces, else :data:`UNLIKELY`.

    When no choice is among them, a verdict would be a silent tie (the first option, or "no"):
    that is raised instead, with what to do.
    """
    best: dict[str, float] = {}
    for token, logprob in top.items():
        key = token.strip()
        best[key] = max(best.get(key, UNLIKELY), logprob)
    scores = [best.get(choice.strip(), UNLIKELY) for choice in choices]
    if all(score == UNLIKELY for score in scores):
        raise BackendError(
            f"none of {list(choices)} is among the reply's likeliest first tokens "
            f"({', '.join(map(repr, list(top)[:5]))}, ...)",
            hint='the model may not follow the format; set reaction.choice_method = "generate"',
        )
    return scores


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One turn of a chat prompt, in the OpenAI shape every backend understands."""

    role: Role
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True, slots=True)
class FramesMessage(ChatMessage):
    """A user turn with frames (RGB uint8 arrays, oldest first) for a vision-language model.

    ``times`` are the frames' media seconds, in the same order, so that the prompt can say which
    frame is which moment (empty: not known). Backends that read text only see its ``content``.
    """

    images: tuple[np.ndarray, ...] = ()
    times: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.times and len(self.times) != len(self.images):
            raise ValueError(f"{len(self.images)} frames but {len(self.times)} times")


def frame_label(when: float) -> str:
    """How a prompt names the frame shown at media second ``when``: the timeline's own
    notation ("t=12.0s"), so the model can tie a frame to the lines around it."""
    return f"frame at t={when:.1f}s"


class Backend(ABC):
    """A text generator that streams token pieces; subclasses implement ``_generate``.

    ``concurrency`` generations run at once (the rest wait their turn); ``timeout`` bounds a
    generation from when it gets its turn (waiting is not counted: a queue of answers must
    not time out the last one); ``retries`` re-runs a generation that failed with a retryable
    :class:`BackendError` before its first token (and a scoring call that failed so), after
    ``backoff`` (doubling). A failure after the first token is raised: the words already
    streamed to the person cannot be taken back, so the caller tells them instead.
    """

    name: ClassVar[str] = "backend"
    score_methods: ClassVar[frozenset[str]] = frozenset()
    """The :data:`ScoreMethod` values :meth:`score` supports (none: it cannot score)."""

    def __init__(
        self,
        *,
        concurrency: int = 1,
        timeout: float = 60.0,
        retries: int = 2,
        backoff: float = 0.25,
    ) -> None:
        if concurrency < 1 or timeout <= 0 or retries < 0:
            raise ValueError("concurrency >= 1, timeout > 0 and retries >= 0 are required")
        self.concurrency = concurrency
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._limit = asyncio.Semaphore(concurrency)
        self._start_lock = asyncio.Lock()
        self._started = False

    @property
    def started(self) -> bool:
        return self._started

    async def start(self) -> None:
        """Load the model (once; later calls return at once)."""
        async with self._start_lock:
            if not self._started:
                await self._load()
                self._started = True

    async def stop(self) -> None:
        """Release the model; ``start`` may load it again."""
        async with self._start_lock:
            if self._started:
                self._started = False
                await self._unload()

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
        schema: Schema | None = None,
    ) -> AsyncIterator[str]:
        """Token pieces of the answer to ``messages``, as they are generated (JSON that fits
        ``schema`` when one is given, as far as the backend can enforce it).

        Raises :class:`BackendError` (``retryable`` says whether a later call may succeed) or
        :class:`ModelError`. Iterate inside ``contextlib.aclosing`` so that stopping early stops
        the generation at once rather than when the generator is garbage-collected.
        """
        await self.start()
        attempt = 0
        async with self._limit:
            deadline = asyncio.get_running_loop().time() + self.timeout
            while True:
                produced = False
                pieces = self._generate(
                    list(messages),
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stop=stop,
                    schema=schema,
                )
                try:
                    while True:
                        try:
                            async with asyncio.timeout_at(deadline):
                                piece = await anext(pieces)
                        except StopAsyncIteration:
                            return
                        produced = True
                        yield piece
                except TimeoutError as error:
                    raise BackendError(
                        f"{self.name} gave no complete answer within {self.timeout:g} s of "
                        "generation",
                        hint="raise reaction.timeout or lower reaction.max_tokens",
                    ) from error
                except BackendError as error:
                    if produced or not await self._may_retry(error, attempt):
                        raise
                    attempt += 1
                except VigilError:
                    raise
                except Exception as error:
                    raise BackendError(f"{self.name} failed: {error}") from error
                finally:
                    await pieces.aclose()

    async def prefill(self, messages: Sequence[ChatMessage]) -> bool:
        """Read ``messages`` ahead of time, so that a later prompt that starts the same way
        gets its first token sooner; returns whether they were read (a shared model declines
        while other streams use it).

        This pays off with backends that cache prompt prefixes (llama.cpp keeps its last
        prompt; vLLM and llama.cpp's server cache prefixes by default); elsewhere it only costs
        a one-token generation. It queues behind answers like any generation.
        """
        async with contextlib.aclosing(self.stream(messages, max_tokens=1)) as pieces:
            async for _ in pieces:
                pass
        return True

    async def score(
        self,
        messages: Sequence[ChatMessage],
        choices: Sequence[str],
        *,
        method: ScoreMethod = "first_token",
    ) -> list[float]:
        """A log-probability score of each choice as the reply to ``messages`` (see
        :data:`ScoreMethod`); higher is likelier. Queues behind generations like them."""
        if method not in self.score_methods:
            raise BackendError(f"the {self.name} backend cannot score choices by {method}")
        await self.start()
        async with self._limit:
            attempt = 0
            while True:
                try:
                    async with asyncio.timeout(self.timeout):
                        return await self._score(list(messages), list(choices), method)
                except TimeoutError as error:
                    raise BackendError(
                        f"{self.name} scored no choice within {self.timeout:g} s",
                        hint="raise reaction.timeout",
                    ) from error
                except BackendError as error:
                    if not await self._may_retry(error, attempt):
                        raise
                    attempt += 1
                except VigilError:
                    raise
                except Exception as error:
                    raise BackendError(f"{self.name} failed to score choices: {error}") from error

    async def _may_retry(self, error: BackendError, attempt: int) -> bool:
        """Whether a call that failed with ``error`` on its ``attempt``-th retry (0: the first
        try) is tried again; if so, after the backoff, which doubles with each retry, so that a
        server that is restarting or shedding load gets room rather than a burst of calls."""
        if not error.retryable or attempt >= self.retries:
            return False
        log.warning("%s failed (%s); retry %d/%d", self.name, error, attempt + 1, self.retries)
        await asyncio.sleep(self.backoff * 2**attempt)
        return True

    async def _score(
        self, messages: list[ChatMessage], choices: list[str], method: ScoreMethod
    ) -> list[float]:
        """Scores of ``choices`` (only called for a method in ``score_methods``)."""
        raise NotImplementedError

    async def _load(self) -> None:
        """Load weights, open connections: whatever must happen once before generating."""
        return None

    async def _unload(self) -> None:
        """Undo ``_load``."""
        return None

    @abstractmethod
    def _generate(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str],
        schema: Schema | None,
    ) -> AsyncIterator[str]:
        """One attempt at a generation: an async generator of token pieces."""


@dataclass(frozen=True, slots=True)
class _End:
    error: BaseException | None = None


class ThreadedBackend(Backend):
    """A backend whose generation blocks (a C library): it runs on worker threads.

    Pieces reach the event loop through an asyncio queue, then an end sentinel. The worker
    checks ``cancelled`` before handing on each piece, so a closed stream stops generating
    within one token. The pool has ``concurrency`` threads: even a worker that outlives its
    stream never runs beside the next one on the same model.
    """

    def __init__(
        self,
        *,
        concurrency: int = 1,
        timeout: float = 60.0,
        retries: int = 2,
        backoff: float = 0.25,
    ) -> None:
        super().__init__(concurrency=concurrency, timeout=timeout, retries=retries, backoff=backoff)
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix=self.name)

    @abstractmethod
    def _generate_sync(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str],
        schema: Schema | None,
        cancelled: threading.Event,
    ) -> Iterator[str]:
        """Blocking generation on a worker thread; should stop soon after ``cancelled`` is set."""

    def _score_sync(
        self, messages: list[ChatMessage], choices: list[str], method: str
    ) -> list[float]:
        """Blocking scoring on a worker thread (for backends with ``score_methods``)."""
        raise NotImplementedError

    async def _score(
        self, messages: list[ChatMessage], choices: list[str], method: ScoreMethod
    ) -> list[float]:
        return await self._in_thread(self._score_sync, messages, choices, method)

    async def _in_thread(self, function: Callable[..., _T], *args: object) -> _T:
        """Run a blocking call (loading, say) on the backend's own worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)

    async def _generate(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str],
        schema: Schema | None,
    ) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | _End] = asyncio.Queue()
        cancelled = threading.Event()

        def put(item: str | _End) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                cancelled.set()

        def work() -> None:
            end = _End()
            try:
                pieces = self._generate_sync(
                    messages,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stop=stop,
                    schema=schema,
                    cancelled=cancelled,
                )
                try:
                    for piece in pieces:
                        if cancelled.is_set():
                            break
                        put(piece)
                finally:
                    close = getattr(pieces, "close", None)
                    if close is not None:
                        close()
            except BaseException as error:
                end = _End(error)
            put(end)

        worker = loop.run_in_executor(self._pool, work)
        try:
            while True:
                item = await queue.get()
                if isinstance(item, _End):
                    if item.error is not None:
                        raise item.error
                    return
                yield item
        finally:
            cancelled.set()
            if not worker.done():
                await asyncio.wait({worker})

    async def _unload(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix=self.name)
