"""Per-stage latency, realtime factor, answer latency and peak memory of the whole graph.

Plays the demo clip through the default stack, paced (as a live camera would deliver it:
``--repeat`` runs, so that the answer latency has more than one sample) and unpaced (as fast
as the machine allows), and prints one table per run plus a JSON file.

    python -m bench.pipeline [--out reports/bench-pipeline.json] [--clip PATH] [--repeat 3]

Definitions:

- realtime factor: media seconds played / wall seconds from the first read to the last item
  delivered (1.0 = keeps pace; a paced run cannot exceed 1.0);
- backlog: how far behind the source perception's output is (frame read to observation out);
  it must not grow from the first third of the run to the last;
- answer path: end of the spoken question (wall clock of its last audio) to transcript,
  decision, reaction queue, prompt built and first token;
- peak memory: RSS of this driver plus every Ray worker of the graph, sampled every 0.25 s,
  with and without Ray's own services (GCS, raylet).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import threading
from collections.abc import Sequence
from pathlib import Path

import psutil

from evaluation.demo import build_demo_clip
from runtime.config import load_config
from runtime.session import RunOutcome, run_stream
from runtime.stages import resolve_model_paths
from vigil.cache import cache_dir

# Consecutive stamps on the way from a spoken question to the first token of its answer
# ("asked" is the wall clock of the question's last audio; "decision" includes transcription).
ANSWER_PATH = ("asked", "decision", "queued", "prompt", "first_token")


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
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


def summarise(outcomes: Sequence[RunOutcome], *, paced: bool, memory: PeakMemory) -> dict:
    """One table for the runs of one mode (their samples pooled)."""
    stats = [o.perception for o in outcomes if o.perception is not None]
    answered = [r for o in outcomes for r in o.responses if not r.cancelled]
    path = {
        f"{a}->{b}": percentiles([r.stamps[b] - r.stamps[a] for r in answered if b in r.stamps])
        for a, b in itertools.pairwise(ANSWER_PATH)
    }
    thirds = [(s.lag[: len(s.lag) // 3], s.lag[-(len(s.lag) // 3) :]) for s in stats]
    return {
        "paced": paced,
        "runs": len(outcomes),
        "media_seconds": round(statistics.mean(s.media_end for s in stats), 2),
        "play_seconds": round(statistics.mean(s.play_seconds for s in stats), 2),
        "startup_seconds": round(statistics.mean(o.startup_seconds for o in outcomes), 2),
        "realtime_factor": round(
            statistics.mean(s.media_end / s.play_seconds for s in stats if s.play_seconds), 3
        ),
        "backlog_first_third_s": percentiles([x for first, _ in thirds for x in first]),
        "backlog_last_third_s": percentiles([x for _, last in thirds for x in last]),
        "frames_read": sum(s.frames for s in stats),
        "observations": sum(s.observations for s in stats),
        "video_frames_dropped": sum(s.hops.get("video", {}).get("dropped", 0) for s in stats),
        "audio_wait_seconds": sum(s.hops.get("audio", {}).get("waited", 0.0) for s in stats),
        "stage_latency_seconds": {
            "video_analysis": percentiles([x for s in stats for x in s.video_step]),
            "audio_step": percentiles([x for s in stats for x in s.audio_step]),
            "frame_to_observation": percentiles([x for s in stats for x in s.lag]),
            "end_of_speech_to_transcript": percentiles(
                [
                    u.stamps["perception"] - u.stamps["heard"]
                    for o in outcomes
                    for u in o.utterances
                    if "heard" in u.stamps
                ]
            ),
            **path,
        },
        "end_of_question_to_first_token": percentiles([r.latency for r in answered]),
        "answers": [
            {
                "question": r.question,
                "answer": r.text,
                "asked_at": round(r.asked_at, 2),
                "latency": round(r.latency, 3),
                "seconds_to_done": round(r.done_wall - r.asked_wall, 3),
            }
            for r in answered
        ],
        "peak_rss_mb": {
            "graph": round(memory.peak_graph / 2**20),
            "with_ray_services": round(memory.peak_total / 2**20),
        },
    }


def print_run(summary: dict) -> None:
    print(f"\n== {'paced' if summary['paced'] else 'unpaced'} ({summary['runs']} run(s)) ==")
    for key, value in summary.items():
        if key == "stage_latency_seconds":
            print("stage latency (s):")
            for stage, p in value.items():
                print(f"  {stage:26s} p50={p['p50']} p95={p['p95']} (n={p['n']})")
        elif key == "answers":
            for answer in value:
                print(
                    f"answer at {answer['asked_at']}s: {answer['answer']!r} "
                    f"(first token {answer['latency']} s)"
                )
        elif key not in ("paced", "runs"):
            print(f"{key}: {value}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/bench-pipeline.json"))
    parser.add_argument("--clip", type=Path, default=None, help="default: the demo clip")
    parser.add_argument("--repeat", type=int, default=3, help="paced runs (default 3)")
    parser.add_argument("--skip-unpaced", action="store_true")
    args = parser.parse_args()
    config = load_config()
    paths = resolve_model_paths(config)
    clip = args.clip or build_demo_clip(cache_dir() / "demo" / "demo.mp4").path
    modes = [(True, args.repeat)] + ([] if args.skip_unpaced else [(False, 1)])
    results = []
    for paced, runs in modes:
        with PeakMemory() as memory:
            outcomes = [
                await run_stream(config, str(clip), paced=paced, paths=paths) for _ in range(runs)
            ]
        summary = summarise(outcomes, paced=paced, memory=memory)
        print_run(summary)
        results.append(summary)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"clip": str(clip), "modes": results}, indent=2))
    print(f"\nwritten {args.out}")


if __name__ == "__main__":
    asyncio.run(main())
