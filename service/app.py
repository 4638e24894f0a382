"""``vigil serve``: sessions, streams, questions and answers over HTTP and WebSockets.

The routes are thin: they check who is calling (:mod:`service.auth`), what they may touch
(their tenant's sessions only; another tenant's look absent, 404) and what they sent (sizes,
fields), then hand over to :class:`~service.sessions.Sessions`, which drives one graph of Ray
actors per stream exactly as ``vigil run`` does. Events leave through a WebSocket or
server-sent events; media from a browser comes in through the ingest WebSocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from importlib import resources
from typing import Annotated, Any, Literal

from fastapi import (
    Depends,
    FastAPI,
    HTTPException,
    Query,
    Request,
    WebSocket,
    WebSocketDisconnect,
    status,
)
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from runtime.config import VigilConfig
from runtime.graph import cpus_needed, ensure_ray, shares_llm
from runtime.stages import ModelPaths, resolve_model_paths
from service.auth import RateLimiter, Tokens
from service.ingest import Ingest, IngestError
from service.memory import TenantMemory
from service.metrics import ServiceMetrics
from service.sessions import (
    Forbidden,
    LimitReached,
    NotFound,
    NotReady,
    Sessions,
    Stream,
)
from service.webrtc import WebRtcIngest
from vigil.errors import VigilError
from vigil.items import AudioChunk, Item, VideoFrame

__all__ = ["create_app"]

log = logging.getLogger("vigil.service")


class NewStream(BaseModel):
    source: str = Field(min_length=1, max_length=2048, description="A path, URL, or 'live'.")


class Question(BaseModel):
    text: str = Field(min_length=1, max_length=100_000)
    at: float | None = Field(None, ge=0, description="Media second; default: now.")


class Instruction(BaseModel):
    text: str = Field(min_length=1, max_length=100_000)


class Offer(BaseModel):
    sdp: str = Field(min_length=1, description="The client's SDP offer.")
    type: Literal["offer"]


class _State:
    """What the routes share: configuration, sessions, memory, metrics."""

    def __init__(self, config: VigilConfig, paths: ModelPaths | None) -> None:
        self.config = config
        self.tokens = Tokens(config.service.tokens)
        self.limiter = RateLimiter(config.service.requests_per_minute)
        self.metrics = ServiceMetrics()
        self.memory = TenantMemory(config.memory)
        self.paths = paths
        self.ready = False
        self.peers: dict[str, WebRtcIngest] = {}
        self.sessions = Sessions(config, self.model_paths, on_item=self._observe)

    def model_paths(self) -> ModelPaths:
        if self.paths is None:
            self.paths = resolve_model_paths(self.config)
        return self.paths

    def verified(self, task: asyncio.Task[ModelPaths]) -> None:
        if task.cancelled():
            return
        if (error := task.exception()) is not None:
            log.error("models could not be verified or loaded: %s", error)
            return
        self.ready = True
        self.metrics.ready.set(1)
        log.info("vigil service ready")

    def _observe(self, stream: Stream, item: Item) -> None:
        self.metrics.observe(item)

    async def gauges(self) -> None:
        """Refresh what is read, not counted: sessions, streams, each stream's answer queue,
        its turns waiting on the shared model, and what it dropped."""
        self.metrics.sessions.set(self.sessions.open_sessions())
        playing = [s for s in self.sessions.playing() if s.graph is not None]
        self.metrics.streams.set(len(playing))
        self.metrics.waiting.clear()
        self.metrics.dropped.clear()
        self.metrics.model_waiting.clear()
        with contextlib.suppress(Exception):  # a model restarting has no turns to tell
            waiting = await asyncio.wait_for(self.sessions.model_waiting(), 1.0)
            for stream_id, count in waiting.items():
                self.metrics.model_waiting.labels(stream_id).set(count)
        for stream in playing:
            assert stream.graph is not None
            with contextlib.suppress(Exception):  # a stream ending meanwhile has no queue
                graph = stream.graph
                waiting = await asyncio.wait_for(graph.reaction.waiting.remote(), 1.0)
                self.metrics.waiting.labels(stream.id).set(waiting)
                dropped = await asyncio.wait_for(graph.perception.dropped.remote(), 1.0)
                for what, value in dropped.items():
                    self.metrics.dropped.labels(stream.id, what).set(value)


def _tenant(request: Request) -> str:
    """The caller's tenant (401 without a known token, 429 over the rate)."""
    state: _State = request.app.state.vigil
    who = state.tokens.of(request)
    state.limiter.check(who)
    return who


Tenant = Annotated[str, Depends(_tenant)]


def _status(code: int) -> Any:
    """An exception handler answering ``code`` with the error's message as ``detail``."""

    async def handle(request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, code)

    return handle


def _is_end(text: str) -> bool:
    """Whether a text message is the client's ``{"type": "end"}``."""
    if len(text) > 100:
        return False
    try:
        return json.loads(text).get("type") == "end"
    except (ValueError, AttributeError, RecursionError):
        return False


def create_app(config: VigilConfig, *, paths: ModelPaths | None = None) -> FastAPI:
    """The service's app. Unless ``paths`` gives the models already verified, every model's
    sha256 is checked at startup; the language model the streams share is loaded then too.
    ``/readyz`` waits for both."""
    state = _State(config, paths)
    service = config.service

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        cpus = cpus_needed(
            config, service.max_streams, shared_encoder=False, shared_llm=shares_llm(config)
        )
        owns_ray = ensure_ray(config.runtime.ray_address, cpus=cpus)
        # Verified (and the shared language model loaded) in the background: /healthz answers
        # at once, /readyz once this is done.
        verifying = asyncio.create_task(state.sessions.prepare())
        verifying.add_done_callback(state.verified)
        try:
            yield
        finally:
            verifying.cancel()
            for peer in state.peers.values():
                await peer.close()
            await state.sessions.close()
            if owns_ray:
                import ray

                ray.shutdown()

    app = FastAPI(
        title="Vigil",
        summary="An always-on agent that watches, listens, remembers and answers.",
        lifespan=lifespan,
    )
    app.state.vigil = state
    for error_type, code in (
        (NotFound, status.HTTP_404_NOT_FOUND),
        (Forbidden, status.HTTP_403_FORBIDDEN),
        (LimitReached, status.HTTP_429_TOO_MANY_REQUESTS),
        (NotReady, status.HTTP_409_CONFLICT),
    ):
        app.add_exception_handler(error_type, _status(code))

    @app.middleware("http")
    async def limits(request: Request, call_next: Any) -> Response:
        began = time.monotonic()
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > service.max_request_bytes:
            response: Response = JSONResponse(
                {"detail": f"request body over {service.max_request_bytes} bytes "
                 "(service.max_request_bytes)"},
                status.HTTP_413_CONTENT_TOO_LARGE,
            )  # fmt: skip
        else:
            response = await call_next(request)
        state.metrics.http.labels(request.method, str(response.status_code)).inc()
        log.info(
            "%s %s %s",
            request.method,
            request.url.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "seconds": round(time.monotonic() - began, 4),
            },
        )
        return response

    def text_ok(text: str) -> str:
        if len(text) > service.max_text_chars:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                f"text of {len(text)} characters; at most {service.max_text_chars} "
                "(service.max_text_chars)",
            )
        return text

    # --- operations ------------------------------------------------------------------------------

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> JSONResponse:
        return JSONResponse({"ready": state.ready}, 200 if state.ready else 503)

    @app.get("/metrics", tags=["operations"])
    async def metrics(who: Tenant) -> Response:
        await state.gauges()
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # --- sessions --------------------------------------------------------------------------------

    @app.post("/v1/sessions", status_code=201, tags=["sessions"])
    async def create_session(who: Tenant) -> dict[str, Any]:
        return {"id": state.sessions.create(who).id}

    @app.get("/v1/sessions", tags=["sessions"])
    async def list_sessions(who: Tenant) -> list[dict[str, Any]]:
        return [s.view() for s in state.sessions.of(who)]

    @app.get("/v1/sessions/{session_id}", tags=["sessions"])
    async def get_session(who: Tenant, session_id: str) -> dict[str, Any]:
        return state.sessions.get(who, session_id).view()

    @app.delete("/v1/sessions/{session_id}", tags=["sessions"])
    async def end_session(who: Tenant, session_id: str) -> dict[str, Any]:
        session = state.sessions.get(who, session_id)
        await state.sessions.end(session)
        return {"id": session.id, "ended": True, "summaries": session.summaries}

    @app.post("/v1/sessions/{session_id}/streams", status_code=201, tags=["streams"])
    async def attach(who: Tenant, session_id: str, body: NewStream) -> dict[str, Any]:
        stream = await state.sessions.attach(
            state.sessions.get(who, session_id), body.source.strip()
        )
        view = stream.view()
        if stream.live:
            view["ingest"] = f"/v1/streams/{stream.id}/ingest"
        return view

    @app.get("/v1/streams/{stream_id}", tags=["streams"])
    async def get_stream(who: Tenant, stream_id: str) -> dict[str, Any]:
        return state.sessions.stream(who, stream_id).view()

    @app.delete("/v1/streams/{stream_id}", tags=["streams"])
    async def end_stream(who: Tenant, stream_id: str) -> dict[str, Any]:
        stream = state.sessions.stream(who, stream_id)
        await state.sessions.finish(stream, "ended by the client")
        return stream.view()

    @app.post("/v1/sessions/{session_id}/questions", status_code=202, tags=["conversation"])
    async def ask(who: Tenant, session_id: str, body: Question) -> dict[str, Any]:
        session = state.sessions.get(who, session_id)
        return {"request_id": await state.sessions.ask(session, text_ok(body.text), body.at)}

    @app.post("/v1/sessions/{session_id}/instructions", status_code=202, tags=["conversation"])
    async def instruct(who: Tenant, session_id: str, body: Instruction) -> dict[str, Any]:
        session = state.sessions.get(who, session_id)
        return {"request_id": await state.sessions.instruct(session, text_ok(body.text))}

    @app.get("/v1/sessions/{session_id}/answers", tags=["conversation"])
    async def answers(who: Tenant, session_id: str) -> list[dict[str, Any]]:
        return list(state.sessions.get(who, session_id).answers)

    # --- events ----------------------------------------------------------------------------------

    @app.get("/v1/sessions/{session_id}/events", tags=["events"])
    async def events_sse(who: Tenant, session_id: str) -> StreamingResponse:
        session = state.sessions.get(who, session_id)

        async def feed() -> AsyncIterator[str]:
            reader = session.subscribe()
            try:
                for event in list(session.events):
                    yield f"data: {json.dumps(event)}\n\n"
                    if event.get("type") == "SessionEnded":
                        return
                while True:  # until the session's last event, summaries included
                    try:
                        event = await reader.get(timeout=15.0)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    yield f"data: {json.dumps(event)}\n\n"
                    if event.get("type") == "SessionEnded":
                        return
            finally:
                session.unsubscribe(reader)

        return StreamingResponse(feed(), media_type="text/event-stream")

    @app.websocket("/v1/sessions/{session_id}/events")
    async def events_ws(socket: WebSocket, session_id: str) -> None:
        session = await _accept(socket, lambda who: state.sessions.get(who, session_id))
        if session is None:
            return
        reader = session.subscribe()
        try:
            for event in list(session.events):
                await socket.send_json(event)
            while True:
                event = await reader.get()
                if event.get("type") == "Missed":
                    state.metrics.readers_missed.inc(event["count"])
                await socket.send_json(event)
                if event.get("type") == "SessionEnded":
                    await socket.close()
                    return
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            session.unsubscribe(reader)

    @app.websocket("/v1/streams/{stream_id}/ingest")
    async def ingest(socket: WebSocket, stream_id: str) -> None:
        stream = await _accept(socket, lambda who: state.sessions.stream(who, stream_id))
        if stream is None:
            return
        if not stream.live:
            await socket.close(code=1008, reason="not a live stream")
            return
        decoder = Ingest(stream.id)
        stream.join()
        try:
            await _ingest(socket, stream, decoder)
        except WebSocketDisconnect:
            pass
        finally:
            stream.leave()

    async def _ingest(socket: WebSocket, stream: Stream, decoder: Ingest) -> None:
        if not await _started(stream):
            await socket.send_json({"type": "ended", "stream": stream.view()})
            await socket.close(code=1011, reason=f"the stream has {stream.state}")
            return
        await socket.send_json({"type": "ready", "stream": stream.id})
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None:
                if _is_end(message.get("text") or ""):
                    await state.sessions.finish(stream, "client ended the stream")
                    return
                await socket.send_json(
                    {"type": "error", "error": 'send binary media messages or {"type":"end"}'}
                )
                continue
            if len(data) > service.max_message_bytes:
                state.metrics.ingest_dropped.inc()
                await socket.send_json(
                    {"type": "error", "error": f"message of {len(data)} bytes over "
                     f"{service.max_message_bytes} (service.max_message_bytes); dropped"}
                )  # fmt: skip
                continue
            try:
                item: VideoFrame | AudioChunk = await asyncio.to_thread(decoder.decode, data)
            except IngestError as error:
                state.metrics.ingest_dropped.inc()
                await socket.send_json({"type": "error", "error": str(error)})
                continue
            state.metrics.ingest.labels("video" if isinstance(item, VideoFrame) else "audio").inc()
            if not await state.sessions.push(stream, [item]):
                state.metrics.ingest_dropped.inc()
                if stream.state in ("ended", "failed"):
                    await socket.send_json({"type": "ended", "stream": stream.view()})
                    return

    @app.post("/v1/streams/{stream_id}/webrtc", tags=["streams"])
    async def webrtc(who: Tenant, stream_id: str, body: Offer) -> dict[str, str]:
        """Feed a live stream over WebRTC: post the offer, get the answer."""
        stream = state.sessions.stream(who, stream_id)
        if not stream.live:
            raise NotReady('not a live stream: attach one with {"source": "live"}')
        if not await _started(stream):
            raise NotReady(f"the stream has {stream.state}")
        old = state.peers.pop(stream.id, None)
        peer = WebRtcIngest(
            stream.id,
            lambda items: state.sessions.push(stream, items),
            stream.leave,  # called once, when the connection fails or closes
            fps=2 * config.perception.sample_rate_hz,
        )
        stream.join()  # before the old peer leaves, so the stream never looks alone
        if old is not None:
            await old.close()
        state.peers[stream.id] = peer
        try:
            answer = await peer.answer(body.sdp, body.type)
        except Exception as error:  # an offer aiortc cannot read
            state.peers.pop(stream.id, None)
            await peer.close()
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, f"unusable SDP offer: {error}"
            ) from None
        return {"sdp": answer.sdp, "type": answer.type}

    async def _started(stream: Stream, timeout: float = 300.0) -> bool:
        """Wait (bounded) for a stream to start; whether it is playing."""
        deadline = time.monotonic() + timeout
        while stream.state == "starting" and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return stream.state == "playing"

    async def _accept(socket: WebSocket, find: Any) -> Any:
        """Accept a WebSocket of a known token whose target this tenant owns; else close it
        with a reason (1008, policy violation) and return None."""
        await socket.accept()
        try:
            who = state.tokens.of(socket)
            state.limiter.check(who)
            return find(who)
        except HTTPException as error:
            await socket.close(code=1008, reason=str(error.detail)[:120])
        except NotFound as error:
            await socket.close(code=1008, reason=str(error)[:120])
        return None

    # --- memory ----------------------------------------------------------------------------------

    def memory_on() -> None:
        if not state.memory.enabled:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                "long-term memory is off: set memory.persistent = true",
            )

    @app.get("/v1/memory/search", tags=["memory"])
    async def memory_search(
        who: Tenant, q: Annotated[str, Query(min_length=1, max_length=500)]
    ) -> list[dict[str, Any]]:
        memory_on()
        return await state.memory.search(who, q)

    @app.delete("/v1/memory/speakers/{name}", tags=["memory"])
    async def forget_speaker(who: Tenant, name: str) -> dict[str, Any]:
        memory_on()
        deleted = await _memory_call(state.memory.forget_speaker(who, name))
        if deleted < 0:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no speaker {name!r}")
        return {"speaker": name, "deleted": deleted}

    @app.delete("/v1/memory/sessions/{session_id}", tags=["memory"])
    async def forget_session(who: Tenant, session_id: str) -> dict[str, Any]:
        memory_on()
        deleted = await _memory_call(state.memory.forget_session(who, session_id))
        if any(s.id == session_id for s in state.sessions.of(who)):
            state.sessions.forget(session_id)
        return {"session": session_id, "deleted": deleted}

    async def _memory_call(call: Any) -> int:
        try:
            return int(await call)
        except VigilError as error:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None

    # --- the web page ----------------------------------------------------------------------------

    static = resources.files("service") / "static"

    @app.get("/", include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse((static / "index.html").read_text())

    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    return app
