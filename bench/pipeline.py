"""Per-stage latency, realtime factor, answer latency and peak memory of the whole graph.

Plays the demo clip through the default stack, paced (as a live camera would deliver it) and
unpaced (as fast as the machine allows), and prints one table per run plus a JSON file.

    python bench/pipeline.py [--out reports/bench-pipeline.json] [--clip PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import threading
from pathlib import Path

import psutil

from evaluation.demo import build_demo_clip
from runtime.config import load_config
from runtime.session import RunOutcome, run_stream
from runtime.stages import resolve_model_paths
from vigil.cache import cache_dir


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "n": 0}
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 4),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 4),
        "n": len(ordered),
    }


class PeakMemory:
    """Samples the RSS of this process plus every Ray process on the machine."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.peak_graph = 0
        self.peak_total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            graph = me.memory_info().rss
            total = graph
            for process in psutil.process_iter(["cmdline", "memory_info"]):
                if process.pid == me.pid or not process.info["memory_info"]:
                    continue
                cmdline = " ".join(process.info["cmdline"] or [])
                rss = process.info["memory_info"].rss
                if cmdline.startswith("ray::"):
                    graph += rss  # the actors of the graph
                    total += rss
                elif "ray" in cmdline and (
                    "raylet" in cmdline or "gcs_server" in cmdline or "ray/_private" in cmdline
                ):
                    total += rss  # Ray's own services
            self.peak_graph = max(self.peak_graph, graph)
            self.peak_total = max(self.peak_total, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def summarise(outcome: RunOutcome, *, paced: bool, memory: PeakMemory) -> dict[str, object]:
    stats = outcome.perception
    assert stats is not None
    play_seconds = outcome.wall_seconds - outcome.startup_seconds
    answered = [r for r in outcome.responses if not r.cancelled]
    decision = [
        e.stamps["decision"] - e.stamps["perception"]
        for e in outcome.observations
        if "decision" in e.stamps and "perception" in e.stamps
    ]
    return {
        "paced": paced,
        "media_seconds": round(stats.media_end, 2),
        "play_wall_seconds": round(play_seconds, 2),
        "startup_seconds": round(outcome.startup_seconds, 2),
        "realtime_factor": round(stats.media_end / play_seconds, 3) if play_seconds else None,
        "frames": stats.frames,
        "observations": stats.observations,
        "video_frames_dropped": stats.hops.get("video", {}).get("dropped"),
        "audio_wait_seconds": stats.hops.get("audio", {}).get("waited"),
        "stage_latency_seconds": {
            "video_analysis": percentiles(stats.video_step),
            "audio_step": percentiles(stats.audio_step),
            "frame_to_observation": percentiles(stats.lag),
            "observation_to_decision": percentiles(decision),
            "decision_to_first_token": percentiles(
                [r.first_token_wall - r.asked_wall for r in answered]
            ),
        },
        "end_of_question_to_first_token": percentiles([r.latency for r in answered]),
        "answers": [
            {
                "question": r.question,
                "answer": r.text,
                "asked_at": r.asked_at,
                "latency": round(r.latency, 3),
                "seconds_to_done": round(r.done_wall - r.asked_wall, 3),
            }
            for r in answered
        ],
        "transcripts": [u.text for u in outcome.utterances],
        "peak_rss_mb": {
            "graph": round(memory.peak_graph / 2**20),
            "with_ray_services": round(memory.peak_total / 2**20),
        },
    }


def print_run(summary: dict[str, object]) -> None:
    print(f"\n== {'paced' if summary['paced'] else 'unpaced'} run ==")
    for key, value in summary.items():
        if key == "stage_latency_seconds":
            print("stage latency (s):")
            for stage, p in value.items():  # type: ignore[union-attr]
                print(f"  {stage:26s} p50={p['p50']} p95={p['p95']} (n={p['n']})")
        elif key != "paced":
            print(f"{key}: {value}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/bench-pipeline.json"))
    parser.add_argument("--clip", type=Path, default=None)
    parser.add_argument("--skip-unpaced", action="store_true")
    args = parser.parse_args()
    config = load_config()
    paths = resolve_model_paths(config)
    clip = args.clip or build_demo_clip(cache_dir() / "demo" / "demo.mp4").path
    results = []
    for paced in (True,) if args.skip_unpaced else (True, False):
        with PeakMemory() as memory:
            outcome = await run_stream(config, str(clip), paced=paced, paths=paths)
        summary = summarise(outcome, paced=paced, memory=memory)
        print_run(summary)
        results.append(summary)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"clip": str(clip), "runs": results}, indent=2))
    print(f"\nwritten {args.out}")


if __name__ == "__main__":
    asyncio.run(main())
