"""The service under load on loopback: N clients each stream a clip live for a while and ask.

Each client opens a session, attaches a live stream, and sends the clip (looped) over the
ingest WebSocket in real time, 2 JPEG frames a second and 16 kHz PCM, while asking a typed
question every ``--ask-every`` seconds. The clip's spoken question is heard in its first pass
only: speech barges in (it cancels the answer being given and drops those waiting, as a person
speaking up would), so a question spoken every loop would cancel the typed ones. Meanwhile
the RSS of this process and every Ray process is sampled (bench.pipeline's PeakMemory). At the
end: answers asked and received per stream, answer latency (p50, p90), per-stage latency from
the service's own Prometheus histograms, streams that ended early, RSS idle and at its peak.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.pipeline import PeakMemory
from evaluation.demo import Overlay, build_clip, clip_info
from evaluation.samples import sample_video
from runtime.config import load_config
from runtime.graph import cpus_needed, ensure_ray, shares_llm
from service.app import create_app
from service.client import clip_media, send_media
from service.server import BackgroundServer
from vigil.cache import cache_dir
from vigil.items import AudioChunk, VideoFrame

TOKEN = "bench"
QUESTIONS = ("Which gate is named on screen?", "How many people are there?", "Is it raining?")


def _looped(media: Sequence[VideoFrame | AudioChunk], seconds: float) -> list[Any]:
    """``media`` repeated back to back until ``seconds`` of it; the repeats are silent, so
    that the clip's spoken question is heard once and does not barge in on every answer."""
    length = max(m.media_time for m in media) + 0.1
    out: list[Any] = []
    offset = 0.0
    while offset < seconds:
        for m in media:
            if m.media_time + offset >= seconds:
                continue
            quiet = {"samples": m.samples * 0} if offset and isinstance(m, AudioChunk) else {}
            out.append(dataclasses.replace(m, media_time=m.media_time + offset, **quiet))
        offset += length
    return out


async def _client(
    url: str, media: list[Any], seconds: float, ask_every: float, drain: float, index: int
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
        session = (await http.post("/v1/sessions")).json()["id"]
        stream = await http.post(f"/v1/sessions/{session}/streams", json={"source": "live"})
        ingest = url.replace("http", "ws") + stream.json()["ingest"] + f"?token={TOKEN}"
        opened, started = time.monotonic(), asyncio.Event()
        sending = asyncio.create_task(send_media(ingest, media, started=started))
        ready = asyncio.create_task(started.wait())
        await asyncio.wait([sending, ready], return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        asked: set[str] = set()
        began = time.monotonic()  # asking starts with the stream, not with the graph's loading
        while not sending.done() and time.monotonic() - began < seconds + 5:
            await asyncio.sleep(ask_every)
            text = QUESTIONS[(len(asked) + index) % len(QUESTIONS)]
            reply = await http.post(f"/v1/sessions/{session}/questions", json={"text": text})
            if reply.status_code == 202:
                asked.add(reply.json()["request_id"])
        await sending
        ended = time.monotonic()
        deadline = ended + drain
        answers: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            answers = (await http.get(f"/v1/sessions/{session}/answers")).json()
            if asked <= {a["request_id"] for a in answers}:
                break
            await asyncio.sleep(1)
        view = (await http.get(f"/v1/sessions/{session}")).json()
        await http.delete(f"/v1/sessions/{session}")
    typed = [a for a in answers if a["request_id"] in asked and not a["cancelled"]]
    return {
        "drained_after_s": round(time.monotonic() - ended, 1),
        "asked": len(asked),
        "answered": len(typed),
        "cancelled": sum(a["cancelled"] for a in answers),
        "spoken_answered": len(answers) - len(typed),
        "latencies": [a["latency_s"] for a in typed],
        "ready_after_s": began - opened,
        "stream": view["streams"][0],
    }


def _stage_quantiles(metrics: str) -> dict[str, dict[str, float]]:
    """Median and p90 (upper bucket bounds) of each per-stage latency histogram."""
    out: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(metrics):
        if family.name not in ("vigil_stage_latency_seconds", "vigil_answer_latency_seconds"):
            continue
        buckets: dict[str, list[tuple[float, float]]] = {}
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                key = sample.labels.get("stage", "answer")
                buckets.setdefault(key, []).append((float(sample.labels["le"]), sample.value))
        for key, rows in buckets.items():
            total = rows[-1][1]
            if not total:
                continue
            out[key] = {
                "count": total,
                **{
                    name: next(le for le, n in sorted(rows) if n >= q * total)
                    for name, q in (("p50_le_s", 0.5), ("p90_le_s", 0.9))
                },
            }
    return out


async def _run(args: argparse.Namespace, url: str, media: list[Any]) -> dict[str, Any]:
    with PeakMemory() as idle:  # the service with no stream yet
        await asyncio.sleep(1.0)
    with PeakMemory() as busy:
        results = await asyncio.gather(
            *(
                _client(url, media, args.seconds, args.ask_every, args.drain, i)
                for i in range(args.clients)
            )
        )
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        metrics = (await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).text
    latencies = [x for r in results for x in r["latencies"]]
    return {
        "clients": args.clients,
        "seconds": args.seconds,
        "llm": args.llm,
        "shared_llm": not args.own_models,
        "perception_nice": args.perception_nice,
        "asked": sum(r["asked"] for r in results),
        "answered": sum(r["answered"] for r in results),
        "spoken_answered": sum(r["spoken_answered"] for r in results),
        "cancelled_by_speech": sum(r["cancelled"] for r in results),
        "streams_failed": sum(r["stream"]["state"] == "failed" for r in results),
        "stream_errors": [r["stream"]["error"] for r in results if r["stream"]["error"]],
        "stream_ready_after_s_max": round(max(r["ready_after_s"] for r in results), 1),
        "drained_after_s_max": max(r["drained_after_s"] for r in results),
        "answer_latency_p50_s": statistics.median(latencies) if latencies else None,
        "answer_latency_p90_s": (
            statistics.quantiles(latencies, n=10)[-1] if len(latencies) >= 2 else None
        ),
        "stages": _stage_quantiles(metrics),
        "rss_mb_idle": round(idle.peak_total / 2**20),
        "rss_mb_peak": round(busy.peak_total / 2**20),
        "rss_mb_peak_graphs": round(busy.peak_graph / 2**20),
        "load_average": os.getloadavg(),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--ask-every", type=float, default=15.0)
    parser.add_argument(
        "--drain",
        type=float,
        default=120.0,
        help="seconds each client waits for its answers after its stream ended",
    )
    parser.add_argument("--llm", default="qwen2.5-0.5b-instruct", help="models.llm")
    parser.add_argument(
        "--own-models",
        action="store_true",
        help="a language model per stream (reaction.shared off) instead of one for all",
    )
    parser.add_argument("--out", type=Path, default=Path("reports/bench-service-load.json"))
    parser.add_argument(
        "--perception-nice", type=int, default=0, help="runtime.perception_nice (0-19)"
    )
    args = parser.parse_args(argv)
    clip = build_clip(
        sample_video("vtest.avi"),
        cache_dir() / "bench" / "service-load.mp4",
        start=30.0,
        duration=15.0,
        speech=[("What does the sign say?", 4.0)],
        overlays=[Overlay(text="GATE 7 CLOSED", t0=0.0, t1=15.0, position="top")],
    )
    media = _looped(asyncio.run(clip_media(str(clip_info(Path(clip)).path))), args.seconds)
    config = load_config(
        service={"tokens": {TOKEN: "bench"}, "max_streams": args.clients},
        runtime={"perception_nice": args.perception_nice},
        models={"llm": args.llm},
        reaction={"max_tokens": 32, "shared": not args.own_models},
    )
    shared = shares_llm(config)
    ensure_ray(
        None, cpus=cpus_needed(config, args.clients, shared_encoder=False, shared_llm=shared)
    )
    server = BackgroundServer(
        create_app(config),
        ping_interval=config.service.ping_interval_s,
        ping_timeout=config.service.ping_timeout_s,
    )
    with server as url:
        report = asyncio.run(_run(args, url, media))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
