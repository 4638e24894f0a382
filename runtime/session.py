"""Running streams end to end: the driver side of the graphs.

``run_stream`` builds the graph, registers the typed requests, plays the source and hands every
event from the hub to ``on_event`` as it arrives (the CLI prints them; evaluation records
them). It returns what happened, with the numbers the bench and the tests need.
``run_streams`` does the same for several sources at once, one graph each, in one cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ray
from ray.exceptions import RayActorError, RayError

from runtime.actors.perception import PerceptionStats
from runtime.config import VigilConfig
from runtime.graph import (
    SharedEncoder,
    SharedLanguageModel,
    StreamGraph,
    cpus_needed,
    ensure_ray,
    shares_llm,
)
from runtime.sources import open_source
from runtime.stages import ModelPaths, resolve_model_paths
from runtime.supervisor import Supervisor
from vigil.errors import VigilError
from vigil.items import (
    Item,
    Observation,
    Request,
    Response,
    StreamError,
    Utterance,
    new_id,
)

__all__ = ["RunOutcome", "play", "run_stream", "run_streams", "vigil_cause"]

EventHandler = Callable[[Item], None]


@dataclass(slots=True)
class RunOutcome:
    """Everything a run produced, in arrival order."""

    stream_id: str
    responses: list[Response] = field(default_factory=list)
    utterances: list[Utterance] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    errors: list[StreamError] = field(default_factory=list)
    events: list[Item] = field(default_factory=list)
    perception: PerceptionStats | None = None
    understood: list[tuple[str, str | None]] = field(default_factory=list)
    session_summary: str | None = None  # with long-term memory: the session's summary unit
    restarts: dict[str, int] = field(default_factory=dict)  # stages Ray restarted, how often
    wall_seconds: float = 0.0
    startup_seconds: float = 0.0

    def record(self, item: Item) -> None:
        self.events.append(item)
        match item:
            case Response():
                self.responses.append(item)
            case Utterance(final=True):
                self.utterances.append(item)
            case Observation():
                self.observations.append(item)
            case Request():
                self.requests.append(item)
            case StreamError():
                self.errors.append(item)


async def run_stream(
    config: VigilConfig,
    source: str,
    *,
    stream_id: str = "stream-0",
    paced: bool = True,
    asks: Sequence[tuple[str, float]] = (),
    whens: Sequence[str] = (),
    on_event: EventHandler | None = None,
    paths: ModelPaths | None = None,
) -> RunOutcome:
    """Play ``source`` through a fresh graph; ``asks`` are (question, media time) pairs."""
    (outcome,) = await run_streams(
        config,
        [source],
        stream_ids=[stream_id],
        paced=paced,
        asks=asks,
        whens=whens,
        on_event=on_event,
        paths=paths,
    )
    return outcome


async def run_streams(
    config: VigilConfig,
    sources: Sequence[str],
    *,
    stream_ids: Sequence[str] | None = None,
    paced: bool = True,
    asks: Sequence[tuple[str, float]] = (),
    whens: Sequence[str] = (),
    on_event: EventHandler | None = None,
    paths: ModelPaths | None = None,
) -> list[RunOutcome]:
    """Play several sources at once, one graph each, in one Ray cluster; every stream gets the
    same ``asks`` and ``whens``. Stream ids default to ``stream-0``, ``stream-1``, ...; events
    of every stream go to ``on_event`` (their ``stream_id`` tells them apart). With
    ``models.encoder`` set, the streams share one vision encoder actor; with several sources
    and ``reaction.shared``, one language model actor."""
    started = time.monotonic()
    ids = list(stream_ids or [f"stream-{i}" for i in range(len(sources))])
    if len(ids) != len(sources) or len(set(ids)) != len(ids):
        raise ValueError("one distinct stream id per source is required")
    paths = paths or resolve_model_paths(config)
    if config.runtime.ray_address is None:  # on a cluster the device may live on another node
        for source, stream_id in zip(sources, ids, strict=True):
            await _probe(source, stream_id)
    shared = paths.encoder is not None
    shared_llm = len(sources) > 1 and shares_llm(config)
    cpus = cpus_needed(config, len(sources), shared_encoder=shared, shared_llm=shared_llm)
    owns_ray = ensure_ray(config.runtime.ray_address, cpus=cpus)
    encoder: SharedEncoder | None = None
    llm: SharedLanguageModel | None = None
    graphs: list[StreamGraph] = []
    try:
        try:
            if shared:
                encoder = await SharedEncoder.start(config, paths)
            if shared_llm:
                llm = await SharedLanguageModel.start(config, paths)
            graphs = await _start_graphs(config, paths, sources, ids, paced, encoder, llm)
        except BaseException as error:
            _raise_vigil_cause(error)
            raise
        runs = [play(config, graph, asks, whens, on_event, started) for graph in graphs]
        return list(await asyncio.gather(*runs))
    finally:
        for graph in graphs:
            graph.stop()
        if encoder is not None:
            encoder.stop()
        if llm is not None:
            llm.stop()
        if owns_ray:
            ray.shutdown()


async def _start_graphs(
    config: VigilConfig,
    paths: ModelPaths,
    sources: Sequence[str],
    ids: Sequence[str],
    paced: bool,
    encoder: SharedEncoder | None,
    llm: SharedLanguageModel | None,
) -> list[StreamGraph]:
    """Every stream's graph, started at once; if one fails, the others are stopped."""
    started = await asyncio.gather(
        *(
            StreamGraph.start(
                config,
                paths,
                stream_id=stream_id,
                source=source,
                paced=paced,
                encoder=encoder,
                llm=llm,
            )
            for source, stream_id in zip(sources, ids, strict=True)
        ),
        return_exceptions=True,
    )
    graphs = [g for g in started if isinstance(g, StreamGraph)]
    failed = [g for g in started if isinstance(g, BaseException)]
    if failed:
        for graph in graphs:
            graph.stop()
        raise failed[0]
    return graphs


async def play(
    config: VigilConfig,
    graph: StreamGraph,
    asks: Sequence[tuple[str, float]] = (),
    whens: Sequence[str] = (),
    on_event: EventHandler | None = None,
    started: float | None = None,
) -> RunOutcome:
    """Register the typed requests, play the stream to its end, and collect what it produced
    (``started``: when the run began, for its startup time; default now)."""
    started = time.monotonic() if started is None else started
    stream_id = graph.stream_id
    outcome = RunOutcome(stream_id)
    requests = [
        Request(
            stream_id=stream_id,
            media_time=0.0,
            request_id=new_id(),
            kind="instruction",
            text=text,
        )
        for text in whens
    ] + [
        Request(stream_id=stream_id, media_time=at, request_id=new_id(), kind="question", text=text)
        for text, at in asks
    ]
    if requests:
        await graph.decision.submit.remote(requests)
    outcome.understood = [
        (u.request.text, u.condition) for u in await graph.decision.understood.remote()
    ]
    if config.memory.persistent:  # voices (and names) learnt in earlier sessions
        await graph.perception.restore_speakers.remote(await graph.memory.voices.remote())
    supervisor = Supervisor(config, graph, requests)
    await supervisor.start()
    outcome.startup_seconds = time.monotonic() - started
    outcome.perception = await _pump(graph, supervisor, outcome, on_event)
    outcome.restarts = supervisor.restarts
    if config.memory.persistent:
        await graph.memory.keep_voices.remote(await graph.perception.speakers.remote())
        outcome.session_summary = await graph.memory.end_session.remote()
    outcome.wall_seconds = time.monotonic() - started
    return outcome


def _raise_vigil_cause(error: BaseException) -> None:
    """Raise the :class:`VigilError` behind a Ray error, if there is one (see
    :func:`vigil_cause`)."""
    found = vigil_cause(error)
    if found is not None:
        raise found from None


def vigil_cause(error: BaseException) -> VigilError | None:
    """The :class:`VigilError` behind a Ray error, if there is one.

    An actor method that raised gives a ``RayTaskError`` (of a type that also subclasses the
    error's, with the remote traceback in its message) whose ``cause`` is the error itself.
    Actors therefore load their models in ``ready``, not in their constructors: a constructor's
    error reaches the driver only as text. The user should see Vigil's one-line message and
    its hint, not remote tracebacks.
    """
    found = None
    cause: object = error
    for _ in range(4):  # the innermost is Vigil's own (Ray's wrappers subclass its type too)
        if isinstance(cause, VigilError):
            found = cause
        cause = getattr(cause, "cause", None)
        if not isinstance(cause, BaseException):
            break
    return found


async def _probe(source: str, stream_id: str) -> None:
    """Open and close the source once, so that a missing file or device fails fast and clearly."""
    probe = open_source(source, stream_id=stream_id, paced=False)
    try:
        await probe.open()
    finally:
        await probe.close()


async def _pump(
    graph: StreamGraph,
    supervisor: Supervisor,
    outcome: RunOutcome,
    on_event: EventHandler | None,
) -> PerceptionStats:
    """Play the stream and hand hub events to ``on_event`` until it ended and every answer is
    out; returns perception's statistics (of its last run, when it was restarted).

    Perception's ``run`` returns only after its last items were acknowledged by the decision
    actor, which in turn has queued every trigger with the reaction actor; so once it returns,
    waiting for the reaction actor to be idle catches every answer.
    """

    def deliver(items: list[Item]) -> None:
        for item in items:
            outcome.record(item)
            supervisor.observe(item)
            if on_event is not None:
                on_event(item)

    async def take(timeout: float = 0.2) -> list[Item]:
        try:
            return await graph.hub.take.remote(timeout=timeout)
        except RayActorError:  # the hub restarting: what it held is lost, the rest comes
            await asyncio.sleep(timeout)
            return []

    async def until_done(call: Any) -> asyncio.Future[Any]:
        """Hand events on as they come while ``call`` runs (answers stream while the driver
        waits for them too); the call's future, done."""
        finished = asyncio.ensure_future(call)
        while not finished.done():
            deliver(await take())
        return finished

    stop = asyncio.Event()
    watching = asyncio.create_task(supervisor.watch(deliver, stop))
    try:
        played = graph.perception.run.remote()
        while True:
            finished = await until_done(played)
            try:
                stats = finished.result()
                break
            except RayActorError as error:  # its process died: Ray restarts it
                played = await supervisor.resume(error, deliver)
            except RayError as error:  # a source that failed mid-run: Vigil's own error
                _raise_vigil_cause(error)
                raise
        stop.set()
        (await until_done(watching)).result()
        while True:  # every answer out, including those of a stage set up again meanwhile
            with contextlib.suppress(RayActorError):
                (await until_done(graph.reaction.idle.remote())).result()
            told = await supervisor.check()
            deliver(told)
            if not told:
                break
    finally:
        watching.cancel()
    while items := await take(timeout=0.05):
        deliver(items)
    return stats
