"""The shared language model: one actor holds it, every stream's reaction calls it.

A model in process (llama.cpp on the CPU, vLLM on a GPU) loaded once per stream costs its
memory and its load time per stream, and several copies on one machine compete for the same
cores: with eight streams on two cores none of them answered within two minutes. Here one
:class:`LanguageModelActor` holds the backend, and each stream's reaction stage sees a
:class:`RemoteBackend`, a backend like any other whose generations run in that actor, in
turns handed out in rotation among the streams (:class:`~runtime.fair_turns.FairTurns`), so
that a stream asking many questions at once cannot keep a quiet one waiting behind all of them.

A generation crosses the actor boundary as a pull: ``open`` registers it, each ``next``
returns one piece, ``close`` stops it. A stream that stops reading (its answer was cancelled,
its actor died) has its generation closed, by ``close`` or, when nobody is left to call it,
after :data:`ABANDONED_AFTER` seconds without a call, so the model is never held for nobody.

Prefill is for one stream: the model caches one prompt, so streams that prefilled in turn
would each evict the other's. The actor reads a stream's prefix only while no answer is being
generated and no other stream has used the model for :data:`ALONE_AFTER` seconds; otherwise
it declines, and the stream's first token costs its whole prompt, as it would unwarmed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ray

from reaction.backends.base import Backend, ChatMessage, Schema, ScoreMethod
from runtime.actors.supervised import Supervised
from runtime.fair_turns import FairTurns
from vigil.errors import BackendError, VigilError

__all__ = ["ABANDONED_AFTER", "ALONE_AFTER", "LanguageModelActor", "ModelInfo", "RemoteBackend"]

ABANDONED_AFTER = 60.0
"""Seconds a generation may go without a call for its next piece before it is closed."""
ALONE_AFTER = 30.0
"""Seconds after another stream last used the model during which prefill is declined."""


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the streams' backends need to know about the shared one."""

    name: str
    concurrency: int
    score_methods: frozenset[str]


@dataclass(slots=True)
class _Generation:
    pieces: AsyncIterator[str]
    touched: float = field(default_factory=time.monotonic)
    pending: asyncio.Task[str | None] | None = None


class LanguageModelActor(Supervised):
    """Wrapped with ``ray.remote`` by the graph (an async actor: every stream calls at once)."""

    def __init__(self, backend: Callable[[], Backend]) -> None:
        self._backend = backend()
        self._turns = FairTurns(self._backend.concurrency)
        self._generations: dict[int, _Generation] = {}
        self._ids = itertools.count()
        self._last_use: dict[str, float] = {}  # stream id -> when it last used the model
        self._scoring = 0
        self._reaper: asyncio.Task[None] | None = None

    async def ready(self) -> ModelInfo:
        """Load the model (a failure raises here, where its error reaches the caller intact)."""
        await self._backend.start()
        backend = self._backend
        return ModelInfo(backend.name, backend.concurrency, frozenset(backend.score_methods))

    async def open(
        self,
        stream_id: str,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str],
        schema: Schema | None,
    ) -> int:
        """Register a generation; its pieces come from ``next``. It waits for its turn on the
        model only when the first piece is asked for (on an actor that Ray has just restarted,
        the model loads then)."""
        if self._reaper is None:
            self._reaper = asyncio.create_task(self._close_abandoned())
        self._used_by(stream_id)
        pieces = self._backend.stream(
            messages, max_tokens=max_tokens, temperature=temperature, stop=stop, schema=schema
        )
        generation_id = next(self._ids)
        self._generations[generation_id] = _Generation(self._in_turn(stream_id, pieces))
        return generation_id

    async def _in_turn(self, stream_id: str, pieces: AsyncIterator[str]) -> AsyncIterator[str]:
        await self._turns.acquire(stream_id)
        try:
            async for piece in pieces:
                yield piece
        finally:
            try:
                await pieces.aclose()  # type: ignore[attr-defined]
            finally:
                self._turns.release()

    async def next(self, generation_id: int) -> str | None:
        """The generation's next piece; None once it has ended (it is then closed)."""
        generation = self._generations.get(generation_id)
        if generation is None:
            raise BackendError("this generation was closed (it went unread too long)")
        generation.pending = asyncio.ensure_future(anext(generation.pieces, None))
        try:
            piece = await generation.pending
        except BaseException:
            self._generations.pop(generation_id, None)
            raise
        finally:
            generation.pending = None
            generation.touched = time.monotonic()
        if piece is None:
            self._generations.pop(generation_id, None)
        return piece

    async def close(self, generation_id: int) -> None:
        """Stop a generation (the model is free for the next one once it has stopped)."""
        generation = self._generations.pop(generation_id, None)
        if generation is None:
            return
        if generation.pending is not None:
            generation.pending.cancel()
            await asyncio.wait({generation.pending})
        await generation.pieces.aclose()  # type: ignore[attr-defined]

    async def score(
        self,
        stream_id: str,
        messages: list[ChatMessage],
        choices: list[str],
        method: ScoreMethod,
    ) -> list[float]:
        self._used_by(stream_id)
        self._scoring += 1
        try:
            await self._turns.acquire(stream_id)
            try:
                return await self._backend.score(messages, choices, method=method)
            finally:
                self._turns.release()
        finally:
            self._scoring -= 1

    async def prefill(self, stream_id: str, messages: list[ChatMessage]) -> bool:
        """Read ``messages`` ahead for ``stream_id`` when the model is idle and the stream is
        the only one using it; returns whether it did."""
        now = time.monotonic()
        others = any(
            when > now - ALONE_AFTER for who, when in self._last_use.items() if who != stream_id
        )
        if others or self._generations or self._scoring:
            return False
        self._used_by(stream_id)
        return await self._backend.prefill(messages)

    async def generations(self) -> int:
        """Generations registered and not yet ended or closed."""
        return len(self._generations)

    async def waiting(self) -> dict[str, int]:
        """Generations and scorings waiting for their turn, per stream."""
        return self._turns.waiting()

    def _used_by(self, stream_id: str) -> None:
        self._last_use[stream_id] = time.monotonic()

    async def _close_abandoned(self) -> None:
        while True:
            await asyncio.sleep(ABANDONED_AFTER / 4)
            cutoff = time.monotonic() - ABANDONED_AFTER
            for generation_id, generation in list(self._generations.items()):
                if generation.pending is None and generation.touched < cutoff:
                    await self.close(generation_id)


class RemoteBackend(Backend):
    """A :class:`~reaction.backends.base.Backend` whose model lives in a shared
    :class:`LanguageModelActor`.

    Waiting behind other streams' answers happens in the actor, where the backend's own
    ``reaction.timeout`` counts from each generation's turn; the bound here (``timeout``)
    only catches an actor that stopped answering. An actor that died is retried (Ray
    restarts it, and its backend loads the model again at the first call); an error the
    model raised was already retried there, and is not again.
    """

    def __init__(
        self,
        actor: Any,
        info: ModelInfo,
        *,
        stream_id: str,
        timeout: float,
        retries: int = 2,
        backoff: float = 1.0,
    ) -> None:
        super().__init__(
            concurrency=info.concurrency, timeout=timeout, retries=retries, backoff=backoff
        )
        self._actor = actor
        self._stream_id = stream_id
        self.name = f"{info.name} (shared)"
        self.score_methods = info.score_methods  # type: ignore[misc]

    async def _generate(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str],
        schema: Schema | None,
    ) -> AsyncIterator[str]:
        with _remote_errors():
            generation = await self._actor.open.remote(
                self._stream_id,
                messages,
                max_tokens=max_tokens,
                temperature=temperature,
                stop=list(stop),
                schema=schema,
            )
        try:
            while True:
                with _remote_errors():
                    piece = await self._actor.next.remote(generation)
                if piece is None:
                    return
                yield piece
        finally:
            with contextlib.suppress(Exception):  # a dead actor has nothing left to close
                await self._actor.close.remote(generation)

    async def _score(
        self, messages: list[ChatMessage], choices: list[str], method: ScoreMethod
    ) -> list[float]:
        with _remote_errors():
            return await self._actor.score.remote(self._stream_id, messages, choices, method)

    async def prefill(self, messages: Sequence[ChatMessage]) -> bool:
        with _remote_errors():
            return await self._actor.prefill.remote(self._stream_id, list(messages))


@contextlib.contextmanager
def _remote_errors() -> Any:
    """Ray's errors as the backend errors the reaction stage handles: the model's own error
    as it was raised (not retried again here), a lost actor as one worth retrying."""
    try:
        yield
    except ray.exceptions.RayTaskError as error:
        cause = error.cause
        if isinstance(cause, BackendError):
            raise BackendError(cause.args[0], hint=cause.hint) from cause
        if isinstance(cause, VigilError):
            raise cause from None
        raise
    except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as error:
        raise BackendError(
            f"the shared language model is unavailable ({type(error).__name__})",
            hint="it is being restarted; the answer is tried again",
            retryable=True,
        ) from error
