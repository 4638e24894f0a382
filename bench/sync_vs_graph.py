"""The disentangled graph against a synchronous loop built from the same components.

Both play the demo clip paced, as a live camera would deliver it, with the same two requests:
a typed one that asks for a long answer early in the clip, and the question spoken in it.

- graph: :func:`runtime.session.run_stream`, perception, decision and reaction as Ray actors;
- sync: one loop over a :class:`FileSource` that runs the same stages (built by the same
  ``runtime.stages`` factories) in turn and awaits each answer before reading on, so that
  generation blocks perception. Its source is live (drop-oldest when the loop falls behind),
  as a camera is: frames that arrive while it generates are lost, not queued.

Measured for each, then as ratios sync / graph:

- perception stall during generation: the largest media-time gap between consecutive
  observations whose wall-clock interval overlaps a generation, in sampling intervals
  (the target is at most 2 for the graph);
- sampled frames missed: sampling slots (every 1 / sample_rate_hz s of media) with no
  observation within half an interval;
- end-of-question to first-token latency: the first token's wall clock minus the moment the
  question was complete in the played media (play origin + the end of the spoken question, or
  the media time of the typed one), so both modes are measured by one clock.

    python -m bench.sync_vs_graph [--out reports/bench-sync-vs-graph.json] [--max-tokens 160]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from evaluation.demo import DemoClip, build_demo_clip
from runtime.config import VigilConfig, load_config
from runtime.session import run_stream
from runtime.sources.file import FileSource
from runtime.stages import (
    ModelPaths,
    build_audio_perception,
    build_decision_stage,
    build_reaction_stage,
    build_video_perception,
    resolve_model_paths,
)
from vigil.cache import cache_dir
from vigil.items import (
    AudioChunk,
    EndOfStream,
    Item,
    Observation,
    Request,
    Response,
    Trigger,
    Utterance,
    VideoFrame,
    new_id,
)

STREAM = "bench"
LONG_REQUEST = ("Describe everything you have seen so far, in detail, in several sentences.", 5.0)


@dataclass
class Run:
    """What one mode produced: observations and final answers, with their wall stamps."""

    mode: str
    observations: list[Observation] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    seconds: float = 0.0
    ended: tuple[float, float] = (0.0, 0.0)
    """Media time and wall clock at which perception handled the end of the stream."""


async def run_graph(config: VigilConfig, paths: ModelPaths, clip: DemoClip) -> Run:
    started = time.monotonic()
    outcome = await run_stream(
        config, str(clip.path), stream_id=STREAM, paced=True, asks=[LONG_REQUEST], paths=paths
    )
    (end,) = [e for e in outcome.events if isinstance(e, EndOfStream)]
    return Run(
        "graph",
        outcome.observations,
        outcome.responses,
        time.monotonic() - started,
        (end.media_time, end.stamps["source"]),
    )


async def run_sync(config: VigilConfig, paths: ModelPaths, clip: DemoClip) -> Run:
    """Perception, decision and reaction in one loop; each answer is awaited where it is due."""
    run = Run("sync")
    started = time.monotonic()
    video = build_video_perception(config, paths)
    audio = build_audio_perception(config, paths)
    decision = build_decision_stage(config)
    reaction = build_reaction_stage(config, paths)
    await asyncio.gather(video.start(), audio.start(), reaction.start())
    utterances: list[Utterance] = []

    async def decide(item: Item) -> None:
        for out in await decision.handle(item):
            if isinstance(out, Trigger):
                await answer(out)

    async def answer(trigger: Trigger) -> None:
        async for piece in reaction.respond(
            trigger, observations=run.observations, utterances=utterances, answers=run.responses
        ):
            if isinstance(piece, Response):
                run.responses.append(piece)
                await decide(piece)

    async def hear(heard: Sequence[Utterance]) -> None:
        for utterance in heard:
            utterances.append(utterance)
            await decide(utterance)

    text, at = LONG_REQUEST
    typed = Request(
        stream_id=STREAM, media_time=at, request_id=new_id(), kind="question", text=text
    )
    await decide(typed)
    source = FileSource(clip.path, stream_id=STREAM, paced=True)
    source.lossless = False  # a live camera: what arrives while the loop is busy is dropped
    await source.open()
    try:
        async for item in source:
            match item:
                case VideoFrame() if video.wants(item.media_time):
                    observation = await video.process(item)
                    if observation is not None:
                        run.observations.append(observation)
                        await decide(observation)
                case AudioChunk():
                    await hear(await audio.process(item))
                case EndOfStream():
                    run.ended = (item.media_time, time.time())
                    await hear(await audio.flush())
                    await decide(item)
    finally:
        await source.close()
        await asyncio.gather(video.stop(), audio.stop(), reaction.stop())
    run.seconds = time.monotonic() - started
    return run


def label(response: Response) -> str:
    return "typed" if response.question == LONG_REQUEST[0] else "spoken"


def complete_at(response: Response, clip: DemoClip) -> float:
    """Media time at which the request was complete: typed at its time, spoken at its end."""
    return LONG_REQUEST[1] if label(response) == "typed" else clip.question_end


def measure(run: Run, clip: DemoClip, interval: float) -> dict:
    """Stall, missed slots and latency of one run (see the module docstring)."""
    seen = sorted(run.observations, key=lambda o: o.media_time)
    origin = min(o.stamps["source"] - o.media_time for o in seen)
    answers = [r for r in run.responses if not r.cancelled]
    generating = [(r.stamps["prompt"], r.done_wall) for r in run.responses]
    # The end of the stream closes the last gap: a loop still generating when the clip ends
    # has stalled until it gets back to its source.
    points = [(o.media_time, o.stamps["perception"]) for o in seen] + [run.ended]
    stall = 0.0
    for (m0, t0), (m1, t1) in itertools.pairwise(points):
        if any(t0 < end and start < t1 for start, end in generating):
            stall = max(stall, m1 - m0)
    slots = [k * interval for k in range(int(clip.duration / interval) + 1)]
    times = [o.media_time for o in seen]
    missed = sum(1 for slot in slots if not any(abs(t - slot) < interval / 2 for t in times))
    latencies = {
        label(r): round(r.first_token_wall - (origin + complete_at(r, clip)), 3) for r in answers
    }
    return {
        "stall_intervals": round(stall / interval, 2),
        "stall_seconds": round(stall, 2),
        "frames_missed": missed,
        "sampling_slots": len(slots),
        "observations": len(seen),
        "latency_seconds": latencies,
        "generation_seconds": {
            label(r): round(r.done_wall - r.stamps["prompt"], 2) for r in answers
        },
        "answers": {label(r): f"{r.question} -> {r.text}" for r in answers},
        "unanswered": sorted({"typed", "spoken"} - {label(r) for r in answers}),
        "cancelled": {
            label(r): {
                "seconds_generating": round(r.done_wall - r.stamps["prompt"], 2),
                "first_token": r.first_token_wall < r.done_wall,
            }
            for r in run.responses
            if r.cancelled
        },
        "wall_seconds": round(run.seconds, 1),
    }


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    return round(a / b, 2) if b else None


def compare(graph: dict, sync: dict) -> dict:
    labels = sorted(set(graph["latency_seconds"]) & set(sync["latency_seconds"]))
    return {
        "stall": ratio(sync["stall_intervals"], graph["stall_intervals"]),
        "frames_missed": ratio(sync["frames_missed"], max(graph["frames_missed"], 1)),
        "latency": {
            key: ratio(sync["latency_seconds"][key], graph["latency_seconds"][key])
            for key in labels
        },
    }


def show(graph: dict, sync: dict, ratios: dict) -> None:
    rows = [
        ("perception stall during generation (intervals)", "stall_intervals", "stall"),
        ("sampled frames missed", "frames_missed", "frames_missed"),
    ]
    print(f"{'':48} {'graph':>8} {'sync':>8} {'sync/graph':>11}")
    for title, key, ratio_key in rows:
        print(f"{title:48} {graph[key]!s:>8} {sync[key]!s:>8} {ratios[ratio_key]!s:>11}")
    for which, value in ratios["latency"].items():
        g, s = graph["latency_seconds"][which], sync["latency_seconds"][which]
        title = f"end of question to first token, {which} (s)"
        print(f"{title:48} {g!s:>8} {s!s:>8} {value!s:>11}")


async def main(out: Path, max_tokens: int) -> None:
    config = load_config(reaction={"max_tokens": max_tokens})
    paths = resolve_model_paths(config)
    clip = build_demo_clip(cache_dir() / "demo" / "demo.mp4")
    interval = 1.0 / config.perception.sample_rate_hz
    graph = measure(await run_graph(config, paths, clip), clip, interval)
    sync = measure(await run_sync(config, paths, clip), clip, interval)
    ratios = compare(graph, sync)
    show(graph, sync, ratios)
    report = {
        "clip": str(clip.path),
        "requests": [LONG_REQUEST, (clip.question, round(clip.question_end, 2))],
        "sampling_interval_s": interval,
        "max_tokens": max_tokens,
        "graph": graph,
        "sync": sync,
        "sync_over_graph": ratios,
        "note": "2-core machine shared with other jobs: timings are noisy",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("reports/bench-sync-vs-graph.json"))
    parser.add_argument("--max-tokens", type=int, default=160, help="cap of each answer")
    args = parser.parse_args()
    asyncio.run(main(args.out, args.max_tokens))
