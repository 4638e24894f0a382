"""One stream for an hour (or N minutes): does anything leak, stall or fall behind?

A 30 s clip (people walking; a sign "GATE 7 CLOSED" shown from 8 to 22 s; a spoken question
at 4 s) is looped with FFmpeg's concat demuxer into one continuous stream and played in real
time through the whole graph, with a standing instruction that fires when the sign appears
(every loop), the spoken question heard every loop, and a typed question every
``--ask-every`` seconds. Every minute the RSS of each process (the driver, each stage actor,
Ray's own services), the realtime factor (media seconds perceived per wall second over the
minute), the answers waiting and the frames dropped are sampled. The report
(``OUT/soak.json``, ``OUT/soak.png``) gives them per minute and checks the run against what
a week-long service needs: RSS growth under 5% after the first ten minutes, no growing
backlog, every question answered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

from evaluation.demo import Overlay, build_clip
from evaluation.samples import sample_video
from runtime.config import load_config
from runtime.graph import StreamGraph, cpus_needed, ensure_ray
from runtime.session import play
from runtime.stages import resolve_model_paths
from vigil.cache import cache_dir
from vigil.items import Item, Observation, Response, StreamError

LOOP = 30.0
SPOKEN = "What does the sign say?"
TYPED = ("How many people can you see?", "What is written on the sign?", "Is anyone running?")
INSTRUCTION = "Tell me when the word CLOSED appears on screen."


def looped_clip(folder: Path, minutes: float) -> Path:
    """The clip, and an ``.ffconcat`` list that plays it back to back for ``minutes``."""
    clip = build_clip(
        sample_video("vtest.avi"),
        folder / "soak.mp4",
        start=10.0,
        duration=LOOP,
        speech=[(SPOKEN, 4.0)],
        overlays=[Overlay(text="GATE 7 CLOSED", t0=8.0, t1=22.0, position="top")],
    )
    loops = math.ceil(minutes * 60 / LOOP)
    playlist = folder / f"soak-{loops}.ffconcat"
    playlist.write_text("ffconcat version 1.0\n" + f"file '{Path(clip).name}'\n" * loops)
    return playlist


def rss_by_process() -> dict[str, float]:
    """MB of resident memory: this driver, each Ray actor by class, Ray's own services."""
    out: dict[str, float] = defaultdict(float)
    me = psutil.Process()
    out["driver"] = me.memory_info().rss / 2**20
    for process in psutil.process_iter(["pid", "cmdline", "memory_info"]):
        if process.info["pid"] == me.pid or not process.info["memory_info"]:
            continue
        cmdline = " ".join(process.info["cmdline"] or [])
        rss = process.info["memory_info"].rss / 2**20
        if cmdline.startswith("ray::"):
            out[cmdline[5:].split()[0].split(".")[0]] += rss  # ray::ReactionActor.submit
        elif "raylet" in cmdline or "gcs_server" in cmdline or "ray/_private" in cmdline:
            out["ray services"] += rss
    return {name: round(mb, 1) for name, mb in out.items()}


class Sampler:
    """What the stream did, minute by minute."""

    def __init__(self, graph: StreamGraph, every: float) -> None:
        self.graph = graph
        self.every = every
        self.rows: list[dict[str, Any]] = []
        self.media = 0.0
        self.latencies: list[float] = []
        self.waits: list[float] = []  # of each answer, the part spent waiting for its turn
        self.fired = 0
        self.errors: list[str] = []

    def on_event(self, item: Item) -> None:
        match item:
            case Observation():
                self.media = max(self.media, item.media_time)
            case Response(cancelled=False):
                self.latencies.append(item.latency)
                self.waits.append(item.queue_wait)
                self.fired += item.question == INSTRUCTION
            case StreamError():
                self.errors.append(item.message)

    async def run(self) -> None:
        began = last_wall = time.monotonic()
        last_media, last_answers = self.media, 0
        while True:
            await asyncio.sleep(self.every)
            now = time.monotonic()
            latencies = self.latencies[last_answers:]
            waits = self.waits[last_answers:]
            own = [latency - wait for latency, wait in zip(latencies, waits, strict=True)]
            self.rows.append(
                {
                    "minute": round((now - began) / 60, 2),
                    "rss_mb": rss_by_process(),
                    "realtime_factor": round((self.media - last_media) / (now - last_wall), 3),
                    "media_behind_s": round(now - began - self.media, 1),
                    "answers_waiting": await self.graph.reaction.waiting.remote(),
                    "dropped": await self.graph.perception.dropped.remote(),
                    "answers": len(latencies),
                    "answer_latency_p50_s": statistics.median(latencies) if latencies else None,
                    # the same less the wait for a turn: another answer was being generated
                    "first_token_after_turn_p50_s": statistics.median(own) if own else None,
                    "turn_wait_p50_s": statistics.median(waits) if waits else None,
                    "load_average": os.getloadavg(),
                }
            )
            print(json.dumps(self.rows[-1]), flush=True)
            last_wall, last_media, last_answers = now, self.media, len(self.latencies)


def verdict(rows: list[dict[str, Any]], asked: int, answered: int) -> dict[str, Any]:
    """The run against the targets: RSS growth after minute 10, backlog, questions answered."""
    totals = [sum(r["rss_mb"].values()) for r in rows]
    settled = [t for r, t in zip(rows, totals, strict=True) if r["minute"] >= 10] or totals
    waiting = [r["answers_waiting"] for r in rows]
    growth = 100 * (settled[-1] - settled[0]) / settled[0] if settled else 0.0
    half = len(waiting) // 2
    return {
        "rss_mb_first": round(totals[0]) if totals else None,
        "rss_mb_after_10_min": round(settled[0]) if settled else None,
        "rss_mb_last": round(totals[-1]) if totals else None,
        "rss_growth_after_10_min_pct": round(growth, 2),
        "rss_growth_ok": growth < 5.0,
        "answers_waiting_max": max(waiting, default=0),
        "backlog_grows": bool(waiting[half:]) and min(waiting[half:]) > max(waiting[:half] or [0]),
        "typed_asked": asked,
        "typed_answered": answered,
        "every_question_answered": answered == asked,
        "realtime_factor_min": min((r["realtime_factor"] for r in rows[1:]), default=None),
    }


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [r["minute"] for r in rows]
    figure, axes = plt.subplots(2, 2, figsize=(11, 7))
    for name in sorted({n for r in rows for n in r["rss_mb"]}):
        axes[0][0].plot(minutes, [r["rss_mb"].get(name, 0) for r in rows], label=name)
    axes[0][0].set(title="RSS by process (MB)", xlabel="minute")
    axes[0][0].legend(fontsize=7)
    axes[0][1].plot(minutes, [r["realtime_factor"] for r in rows])
    axes[0][1].set(title="realtime factor (media s per wall s)", xlabel="minute", ylim=(0, 1.5))
    axes[1][0].plot(minutes, [r["answers_waiting"] for r in rows])
    axes[1][0].set(title="answers waiting", xlabel="minute")
    axes[1][1].plot(minutes, [r["answer_latency_p50_s"] or 0 for r in rows], label="in all")
    after_turn = [r.get("first_token_after_turn_p50_s") or 0 for r in rows]
    axes[1][1].plot(minutes, after_turn, label="after its turn came")
    axes[1][1].set(title="end of question to first token p50 (s)", xlabel="minute")
    axes[1][1].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    folder = cache_dir() / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    source = looped_clip(folder, args.minutes)
    config = load_config(reaction={"max_tokens": 32})
    paths = resolve_model_paths(config)
    ensure_ray(None, cpus=cpus_needed(config, 1, shared_encoder=False))
    # Mid-loop, away from the spoken question (at 4 s of each loop), which barges in.
    times = range(int(args.ask_every) - 15, int(args.minutes * 60), int(args.ask_every))
    asks = [(TYPED[i % len(TYPED)], float(at)) for i, at in enumerate(times)]
    graph = await StreamGraph.start(config, paths, stream_id="soak", source=str(source), paced=True)
    sampler = Sampler(graph, args.sample_every)
    sampling = asyncio.create_task(sampler.run())
    started = time.monotonic()
    try:
        outcome = await play(
            config, graph, asks=asks, whens=[INSTRUCTION], on_event=sampler.on_event
        )
    finally:
        sampling.cancel()
        graph.stop()
    typed = {text for text, _ in asks}
    answered = [r for r in outcome.responses if r.question in typed and not r.cancelled]
    spoken = [
        r
        for r in outcome.responses
        if r.question not in typed and r.question != INSTRUCTION and not r.cancelled
    ]
    return {
        "minutes": args.minutes,
        "wall_minutes": round((time.monotonic() - started) / 60, 2),
        "verdict": verdict(sampler.rows, len(asks), len(answered)),
        "spoken_questions_answered": len(spoken),
        "loops": math.ceil(args.minutes * 60 / LOOP),
        "instruction_fired": sampler.fired,
        "errors": sampler.errors[:20],
        "restarts": outcome.restarts,
        "per_minute": sampler.rows,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="how long to play")
    parser.add_argument(
        "--ask-every", type=float, default=60.0, help="seconds between typed questions"
    )
    parser.add_argument("--sample-every", type=float, default=60.0, help="seconds between samples")
    parser.add_argument(
        "--out", type=Path, default=Path("reports/soak"), help="folder for soak.json, soak.png"
    )
    args = parser.parse_args(argv)
    report = asyncio.run(soak(args))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "soak.json").write_text(json.dumps(report, indent=1))
    plot(report["per_minute"], args.out / "soak.png")
    print(json.dumps({k: v for k, v in report.items() if k != "per_minute"}, indent=1))


if __name__ == "__main__":
    main()
