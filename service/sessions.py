"""Sessions of the service: each a tenant's conversation with the agent, over any number of
streams, each stream one graph of actors (as ``vigil run`` builds it).

A session keeps its standing instructions (given to every stream it attaches, then and later),
the answers so far, and the latest events for readers that connect late; every event also goes
to each connected reader's queue, bounded so that a reader that stops reading loses its oldest
events rather than stalling the stream (it is told how many it missed).

Ending a session ends its streams the way a run ends: a live stream is finished, a file
stops where it is, and each graph then writes its voices and its session summary to memory
before its actors go.

With long-term memory on, every session is also kept in a ledger beside the store
(:mod:`service.ledger`): a restarted service lists the sessions of before, their
instructions and answers, and those that had not ended are open again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from runtime.config import VigilConfig
from runtime.console import plain
from runtime.graph import SharedLanguageModel, StreamGraph, shares_llm
from runtime.session import play, vigil_cause
from runtime.stages import ModelPaths
from service.ledger import Ledger
from vigil.cache import cache_dir
from vigil.errors import VigilError
from vigil.items import (
    AudioChunk,
    Item,
    Observation,
    Request,
    Response,
    ResponseDelta,
    StreamError,
    Utterance,
    VideoFrame,
    new_id,
)

__all__ = [
    "Forbidden",
    "LimitReached",
    "NotFound",
    "NotReady",
    "Reader",
    "Session",
    "Sessions",
    "Stream",
]

log = logging.getLogger(__name__)

StreamState = Literal["starting", "playing", "ended", "failed"]

_DEVICE = re.compile(r"webcam:\d+|/dev/video\d+|mic(?::(?:default|\d+))?")
"""Device sources, exactly (anything else is a path or a URL, checked against the lists)."""


class NotFound(LookupError):
    """No such session or stream for this tenant (another tenant's looks the same)."""


class Forbidden(PermissionError):
    """A source outside what the service allows."""


class LimitReached(RuntimeError):
    """A per-tenant limit; the message says which."""


class NotReady(RuntimeError):
    """The session cannot take this yet (no stream playing, a stream still starting)."""


@dataclass(eq=False)
class Stream:
    id: str
    session: Session
    source: str
    live: bool
    state: StreamState = "starting"
    error: str | None = None
    media_time: float = 0.0
    graph: StreamGraph | None = None
    task: asyncio.Task[None] | None = None
    clients: int = 0
    """Connected ingest sockets and WebRTC peers (a live stream with none for
    ``service.disconnect_grace_s`` ends)."""
    alone_since: float = field(default_factory=time.monotonic)
    stop: str | None = None
    """Why the stream was asked to end (it may still have been starting then)."""
    started: float = field(default_factory=time.time)

    def join(self) -> None:
        self.clients += 1

    def leave(self) -> None:
        self.clients -= 1
        if self.clients == 0:
            self.alone_since = time.monotonic()

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "session": self.session.id,
            "source": self.source,
            "state": self.state,
            "error": self.error,
            "media_time": round(self.media_time, 3),
            "started": self.started,
        }


class Reader:
    """One connected reader's events, at most ``size`` waiting: when it falls behind, its oldest
    go, and its next event says how many it missed (``{"type": "Missed", "count": n}``)."""

    def __init__(self, size: int) -> None:
        self._events: deque[dict[str, Any]] = deque(maxlen=size)
        self._missed = 0
        self._ready = asyncio.Event()

    @property
    def empty(self) -> bool:
        return not self._events and not self._missed

    def put(self, event: dict[str, Any]) -> None:
        if len(self._events) == self._events.maxlen:
            self._missed += 1  # the deque drops the oldest
        self._events.append(event)
        self._ready.set()

    async def get(self, timeout: float | None = None) -> dict[str, Any]:
        """The next event (TimeoutError after ``timeout`` seconds without one)."""
        while self.empty:
            self._ready.clear()
            await asyncio.wait_for(self._ready.wait(), timeout)
        if self._missed:
            missed, self._missed = self._missed, 0
            return {"type": "Missed", "count": missed}
        return self._events.popleft()


@dataclass(eq=False)
class Session:
    id: str
    tenant: str
    keep: int
    created: float = field(default_factory=time.time)
    streams: dict[str, Stream] = field(default_factory=dict)
    instructions: list[str] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    ended: bool = False
    summaries: list[str] = field(default_factory=list)
    restored: bool = False  # read back from the ledger by a restarted service
    events: deque[dict[str, Any]] = field(init=False)
    readers: set[Reader] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.events = deque(maxlen=self.keep)

    def publish(self, event: dict[str, Any]) -> None:
        """Keep ``event`` and hand it to every reader."""
        self.events.append(event)
        for reader in self.readers:
            reader.put(event)

    def subscribe(self, size: int = 256) -> Reader:
        reader = Reader(size)
        self.readers.add(reader)
        return reader

    def unsubscribe(self, reader: Reader) -> None:
        self.readers.discard(reader)

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created": self.created,
            "ended": self.ended,
            "streams": [s.view() for s in self.streams.values()],
            "instructions": list(self.instructions),
            "answers": len(self.answers),
            "restored": self.restored,
        }


def _open_ledger(config: VigilConfig) -> Ledger | None:
    """The ledger beside the memory store, when memory outlives the service (else none: a
    restarted service would list sessions whose memory is gone)."""
    if not config.memory.persistent:
        return None
    return Ledger((config.memory.path or cache_dir() / "memory") / "service-sessions.sqlite3")


def _answer(item: Response, stream_id: str) -> dict[str, Any]:
    return {
        "id": item.response_id,
        "request_id": item.request_id,
        "stream": stream_id,
        "question": item.question,
        "text": item.text,
        "choice": item.choice,
        "asked_at": item.asked_at,
        "media_time": item.media_time,
        "latency_s": round(item.latency, 3),
        "cancelled": item.cancelled,
    }


class Sessions:
    """Every tenant's sessions, with the limits of ``config.service``."""

    def __init__(
        self,
        config: VigilConfig,
        paths: Callable[[], ModelPaths],
        *,
        on_item: Callable[[Stream, Item], None] | None = None,
    ) -> None:
        self.config = config
        self._paths = paths
        self._on_item = on_item
        self._sessions: dict[str, Session] = {}
        self._streams: dict[str, Stream] = {}
        self._llm: SharedLanguageModel | None = None
        self._preparing = asyncio.Lock()
        self._ledger = _open_ledger(config)
        for saved in self._ledger.load() if self._ledger else ():
            self._sessions[saved.id] = Session(
                saved.id,
                saved.tenant,
                config.service.events_kept,
                created=saved.created,
                instructions=saved.instructions,
                answers=saved.answers,
                ended=saved.ended,
                summaries=saved.summaries,
                restored=True,
            )

    # --- lookups ---------------------------------------------------------------------------------

    def of(self, tenant: str) -> list[Session]:
        return [s for s in self._sessions.values() if s.tenant == tenant]

    def get(self, tenant: str, session_id: str) -> Session:
        session = self._sessions.get(session_id)
        if session is None or session.tenant != tenant:
            raise NotFound(f"no session {session_id!r}")
        return session

    def stream(self, tenant: str, stream_id: str) -> Stream:
        stream = self._streams.get(stream_id)
        if stream is None or stream.session.tenant != tenant:
            raise NotFound(f"no stream {stream_id!r}")
        return stream

    def open_sessions(self) -> int:
        return sum(not s.ended for s in self._sessions.values())

    async def model_waiting(self) -> dict[str, int]:
        """Per stream, its requests waiting for a turn on the shared language model."""
        if self._llm is None:
            return {}
        return await self._llm.actor.waiting.remote()

    def playing(self, tenant: str | None = None) -> list[Stream]:
        return [
            s
            for s in self._streams.values()
            if s.state in ("starting", "playing") and (tenant is None or s.session.tenant == tenant)
        ]

    # --- changes ---------------------------------------------------------------------------------

    async def prepare(self) -> ModelPaths:
        """Verify the models and load the language model that every stream shares
        (``reaction.shared``); done once, at startup or for the first stream."""
        async with self._preparing:
            paths = await asyncio.to_thread(self._paths)
            if self._llm is None and shares_llm(self.config):
                self._llm = await SharedLanguageModel.start(self.config, paths)
        return paths

    def create(self, tenant: str) -> Session:
        if sum(not s.ended for s in self.of(tenant)) >= self.config.service.max_sessions:
            raise LimitReached(
                f"tenant has {self.config.service.max_sessions} open sessions (service."
                "max_sessions); end one with DELETE /v1/sessions/{id}"
            )
        session = Session(new_id(), tenant, self.config.service.events_kept)
        self._sessions[session.id] = session
        if self._ledger:
            self._ledger.created(session.id, tenant, session.created)
        return session

    def forget(self, session_id: str) -> None:
        """Drop an ended session's record (its memory was forgotten); an open one stays."""
        session = self._sessions.get(session_id)
        if session is not None and session.ended:
            del self._sessions[session_id]
        if self._ledger and (session is None or session.ended):
            self._ledger.forget(session_id)

    def allowed(self, source: str) -> str:
        """``source`` if the service may play it, else :class:`Forbidden` saying why."""
        service = self.config.service
        if source == "live":
            return source
        if "://" in source:
            if any(source.startswith(prefix) for prefix in service.allowed_urls):
                return source
            raise Forbidden(
                f"URL {source!r} is not allowed: it must start with one of service.allowed_urls"
            )
        if _DEVICE.fullmatch(source):
            if service.allow_devices:
                return source
            raise Forbidden(f"device {source!r} is not allowed: service.allow_devices is off")
        path = Path(source).resolve()
        for folder in service.allowed_paths:
            if path.is_relative_to(folder.resolve()):
                if not path.is_file():
                    raise NotFound(f"no file {source!r}")
                return str(path)
        raise Forbidden(
            f"path {source!r} is not allowed: it must lie under one of service.allowed_paths"
        )

    async def attach(self, session: Session, source: str) -> Stream:
        """Start playing ``source`` in ``session`` (``"live"``: a client pushes the media)."""
        if session.ended:
            raise NotFound(f"session {session.id!r} has ended")
        source = self.allowed(source)
        if len(self.playing(session.tenant)) >= self.config.service.max_streams:
            raise LimitReached(
                f"tenant has {self.config.service.max_streams} streams playing (service."
                "max_streams)"
            )
        stream = Stream(new_id(), session, source, live=source == "live")
        session.streams[stream.id] = stream
        self._streams[stream.id] = stream
        stream.task = asyncio.create_task(self._run(stream), name=f"vigil-stream-{stream.id}")
        return stream

    async def ask(self, session: Session, text: str, at: float | None) -> str:
        """Put a question to the session's streams; returns the request id."""
        streams = [s for s in session.streams.values() if s.state in ("starting", "playing")]
        if not streams:
            raise NotReady("the session has no stream playing: attach one first")
        request_id = new_id()
        for stream in streams:
            await self._submit(stream, "question", text, at, request_id)
        session.publish({"type": "Question", "request_id": request_id, "text": text, "at": at})
        return request_id

    async def instruct(self, session: Session, text: str) -> str:
        """Add a standing instruction: to the streams playing now and to those attached later."""
        if session.ended:
            raise NotFound(f"session {session.id!r} has ended")
        session.instructions.append(text)
        if self._ledger:
            self._ledger.instruction(session.id, text)
        request_id = new_id()
        for stream in session.streams.values():
            if stream.state in ("starting", "playing"):
                await self._submit(stream, "instruction", text, 0.0, request_id)
        return request_id

    async def push(self, stream: Stream, items: list[VideoFrame | AudioChunk]) -> int:
        if stream.graph is None or stream.state != "playing":
            return 0
        if items:
            stream.media_time = max(stream.media_time, items[-1].media_time)
        return int(await stream.graph.perception.push.remote(items))

    async def finish(self, stream: Stream, reason: str) -> None:
        """End a stream: a live one after what its client sent, a file where it is; one still
        starting ends as soon as it has started."""
        if stream.state not in ("starting", "playing"):
            return
        stream.stop = stream.stop or reason
        graph = stream.graph
        if graph is None:
            return
        if stream.live:
            await graph.perception.finish.remote(reason)
        else:
            await graph.perception.stop.remote()

    async def end(self, session: Session, timeout: float = 30.0) -> None:
        """End ``session``: every stream finished, its memory flushed and summarised."""
        if session.ended:
            return
        session.ended = True
        for stream in list(session.streams.values()):
            with contextlib.suppress(Exception):
                await self.finish(stream, "session ended")
        tasks = [s.task for s in session.streams.values() if s.task is not None]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=timeout)
            for task in late:
                task.cancel()
        if self._ledger:
            self._ledger.ended(session.id, session.summaries)
        session.publish({"type": "SessionEnded", "summaries": session.summaries})

    async def close(self) -> None:
        """Stop every stream (the service is shutting down). With a ledger, open sessions
        stay open on disk, to go on when the service starts again; without, they end."""
        if self._ledger is None:
            await asyncio.gather(*(self.end(s) for s in self._sessions.values()))
        else:
            for stream in self.playing():
                with contextlib.suppress(Exception):
                    await self.finish(stream, "the service is stopping")
            tasks = [s.task for s in self._streams.values() if s.task is not None]
            if tasks:
                await asyncio.wait(tasks, timeout=30.0)
            self._ledger.close()
        if self._llm is not None:
            self._llm.stop()
            self._llm = None

    # --- the streams' work -----------------------------------------------------------------------

    async def _submit(
        self, stream: Stream, kind: str, text: str, at: float | None, request_id: str
    ) -> None:
        if stream.graph is None:  # still starting: its run registers the instructions
            if kind == "question":
                raise NotReady("the stream is still starting: ask again in a moment")
            return
        media_time = stream.media_time if at is None else at
        request = Request(
            stream_id=stream.id,
            media_time=media_time,
            request_id=request_id,
            kind=kind,  # type: ignore[arg-type]
            text=text,
        )
        await stream.graph.decision.submit.remote([request])

    def _graph_config(self, session: Session) -> VigilConfig:
        memory = self.config.memory.model_copy(
            update={"tenant": session.tenant, "session": session.id}
        )
        return self.config.model_copy(update={"memory": memory})

    async def _end_when_alone(self, stream: Stream) -> None:
        """End a live stream once no client has fed it for ``disconnect_grace_s``."""
        grace = self.config.service.disconnect_grace_s
        while True:
            await asyncio.sleep(min(1.0, max(0.1, grace / 4)))
            if stream.clients == 0 and time.monotonic() - stream.alone_since >= grace:
                await self.finish(stream, "no client for service.disconnect_grace_s")
                return

    async def _run(self, stream: Stream) -> None:
        session = stream.session
        config = self._graph_config(session)
        alone: asyncio.Task[None] | None = None
        try:
            paths = await self.prepare()
            stream.graph = await StreamGraph.start(
                config,
                paths,
                stream_id=stream.id,
                source=stream.source,
                paced=True,
                llm=self._llm,
            )
            stream.state = "playing"
            session.publish({"type": "StreamStarted", "stream": stream.view()})
            if stream.live:
                alone = asyncio.create_task(self._end_when_alone(stream))
            if stream.stop is not None:  # asked to end while it was starting
                await self.finish(stream, stream.stop)
            outcome = await play(
                config,
                stream.graph,
                whens=list(session.instructions),
                on_event=lambda item: self._deliver(stream, item),
            )
            if outcome.session_summary:
                session.summaries.append(outcome.session_summary)
            stream.state = "ended"
        except asyncio.CancelledError:
            stream.state = "failed"
            stream.error = "stopped before it ended"
            raise
        except VigilError as error:
            stream.state, stream.error = "failed", str(error)
        except Exception as error:  # one stream failing must not take the service down
            cause = vigil_cause(error)
            if cause is None:
                log.exception("stream %s failed", stream.id)
            stream.state = "failed"
            stream.error = str(cause) if cause else f"{type(error).__name__}: {error}"
        finally:
            if alone is not None:
                alone.cancel()
            if stream.graph is not None:
                stream.graph.stop()
            session.publish({"type": "StreamEnded", "stream": stream.view()})

    def _deliver(self, stream: Stream, item: Item) -> None:
        session = stream.session
        if isinstance(item, Observation | Utterance) and item.media_time > stream.media_time:
            stream.media_time = item.media_time
        if isinstance(item, Response):
            session.answers.append(answer := _answer(item, stream.id))
            if self._ledger:
                self._ledger.answer(session.id, answer)
        if isinstance(item, StreamError) and item.fatal:
            stream.error = item.message
        if self._on_item is not None:
            self._on_item(stream, item)
        event = plain(item)
        event["stream"] = stream.id
        if not isinstance(item, ResponseDelta):
            event.pop("stamps", None)
        session.publish(event)
