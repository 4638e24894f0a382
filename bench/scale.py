"""Streams on simulated worker nodes, and the shared model's fairness.

**Nodes.** For each node count, a Ray cluster of a head and that many worker nodes on this
machine (``ray.cluster_utils.Cluster``, two logical CPUs each) plays one paced stream per
worker node, each stream's perception placed on a worker (``runtime.resources``), the other
stages and the shared language model on the head, one question per stream. Per count it
prints the realtime factor, frames analysed per second, sampled frames dropped, frame to
observation lag and answer latency. Simulated nodes share this machine's cores: the table
shows what spreading costs and where the cores run out, not compute that real nodes add.

**Fairness.** One shared language model; a quiet stream asks alone, then again while a noisy
stream has ``--flood`` questions waiting at once. It prints the quiet stream's first-token
latency in both cases, a noisy answer's mean generation time (first piece to last), and what
first come, first served would have made the quiet stream wait (every flood answer ahead of
it: computed from that mean, not measured).

    python -m bench.scale [--nodes 1 2 3] [--seconds 20] [--flood 6] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import ray
from ray.cluster_utils import Cluster

from bench.streams import clip_640, percentiles
from reaction.backends import ChatMessage
from runtime.config import VigilConfig, load_config
from runtime.graph import SharedLanguageModel, ensure_ray
from runtime.session import run_streams
from runtime.stages import resolve_model_paths

QUESTION = "What is happening in the video?"
FLOOD_PROMPT = [ChatMessage("user", "Count from 1 to 30, separated by commas.")]
QUIET_PROMPT = [ChatMessage("user", "Say hello in five words.")]


def _config() -> VigilConfig:
    head = {"head_node": 0.01}
    return load_config(
        models={"llm": "qwen2.5-0.5b-instruct"},
        runtime={
            "resources": {
                "perception": {"perception_node": 1},
                **{stage: head for stage in ("decision", "reaction", "memory", "hub", "llm")},
            }
        },
    )


async def _streams_on(nodes: int, clip: Path, seconds: float) -> dict[str, Any]:
    config = _config()
    outcomes = await run_streams(config, [str(clip)] * nodes, asks=[(QUESTION, seconds / 2)])
    stats = [o.perception for o in outcomes if o.perception is not None]
    answers = [r for o in outcomes for r in o.responses if r.question == QUESTION]
    return {
        "worker_nodes": nodes,
        "streams": nodes,
        "realtime_factor_min": round(min(s.media_end / s.play_seconds for s in stats), 3),
        "frames_analysed_per_s_per_stream": round(
            statistics.mean(s.observations / s.play_seconds for s in stats), 2
        ),
        "sampled_frames_dropped": sum(s.hops.get("video", {}).get("dropped", 0) for s in stats),
        "frame_to_observation_s": percentiles([x for s in stats for x in s.lag]),
        "answered": f"{len(answers)}/{nodes}",
        "answer_first_token_s": percentiles([r.latency for r in answers]),
    }


def nodes_table(counts: list[int], seconds: float) -> list[dict[str, Any]]:
    clip = clip_640(seconds)
    rows = []
    for count in counts:
        cluster = Cluster(
            initialize_head=True,
            head_node_args={
                "num_cpus": 2,
                "resources": {"head_node": 1},
                "include_dashboard": False,
            },
        )
        for _ in range(count):
            cluster.add_node(num_cpus=2, resources={"perception_node": 1})
        ray.init(address=cluster.address, log_to_driver=False)
        try:
            row = asyncio.run(_streams_on(count, clip, seconds))
        finally:
            ray.shutdown()
            cluster.shutdown()
        print(json.dumps(row))
        rows.append(row)
    return rows


async def _first_token(backend: Any, prompt: list[ChatMessage]) -> tuple[float, float]:
    """Seconds to the first piece and to the last."""
    asked = time.monotonic()
    first = None
    async with contextlib.aclosing(backend.stream(prompt, max_tokens=60)) as pieces:
        async for _ in pieces:
            first = first or time.monotonic() - asked
    return first or float("nan"), time.monotonic() - asked


async def fairness(flood: int) -> dict[str, Any]:
    config = load_config(models={"llm": "qwen2.5-0.5b-instruct"}, reaction={"timeout": 300.0})
    model = await SharedLanguageModel.start(config, resolve_model_paths(config))
    try:
        quiet, noisy = model.backend("quiet"), model.backend("noisy")
        await _first_token(quiet(), QUIET_PROMPT)  # warm
        alone = [(await _first_token(quiet(), QUIET_PROMPT))[0] for _ in range(3)]
        # Each flood question through a backend of its own, as a stream's answer workers.
        flooding = [asyncio.create_task(_first_token(noisy(), FLOOD_PROMPT)) for _ in range(flood)]
        await asyncio.sleep(0.5)
        during, _ = await _first_token(quiet(), QUIET_PROMPT)
        floods = await asyncio.gather(*flooding)
    finally:
        model.stop()
    generation_s = statistics.mean(last - first for first, last in floods) if flood else 0.0
    return {
        "flood": flood,
        "quiet_first_token_alone_s": round(statistics.median(alone), 2),
        "quiet_first_token_during_flood_s": round(during, 2),
        "flood_generation_s_mean": round(generation_s, 2),
        # Computed, not measured: first come, first served puts every flood answer ahead.
        "first_come_first_served_wait_s": round(generation_s * flood, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--flood", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path("reports/bench-scale.json"))
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # private clusters, as ensure_ray's
    os.environ.setdefault("RAY_worker_niceness", "0")
    load = os.getloadavg()[0]
    rows = nodes_table(args.nodes, args.seconds)
    owns = ensure_ray(None)
    try:
        fair = asyncio.run(fairness(args.flood))
    finally:
        if owns:
            ray.shutdown()
    print(json.dumps(fair))
    report = {"load_average_at_start": load, "nodes": rows, "fairness": fair}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
