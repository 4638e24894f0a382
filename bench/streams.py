"""Perception throughput and latency for 1 to 4 concurrent streams, and word error rate.

Each stream is one perception actor (video and audio lanes, as in a real run) playing a
640x480 clip with speech, paced in real time; its outputs go to a counting sink actor, so
only perception is measured. For each stream count it prints frames analysed per second, the
realtime factor, video-step and audio-step latency p50/p95, frame-to-observation lag, sampled
frames dropped, and Whisper's share of real time; then the word error rate of Whisper tiny on
synthetic sentences from three voices.

With ``--encoder FOLDER`` (a transformers vision model) each stream count runs twice more:
``per-stream``, every perception actor loading the model itself (on its CPU), and ``shared``,
one encoder actor for all streams batching their frames (on a GPU when Ray has one), with its
mean batch size and how many batches mixed streams.

    python -m bench.streams [--streams 1 2 4] [--seconds 20] [--encoder FOLDER]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import statistics
from pathlib import Path

import cv2
import numpy as np
import ray

from evaluation.demo import build_clip
from evaluation.media import speak
from evaluation.samples import sample_video
from perception.asr import Transcriber
from perception.encoders.batching import BatchStats
from runtime.actors.perception import PerceptionActor, PerceptionStats
from runtime.config import load_config
from runtime.graph import SharedEncoder, ensure_ray, shared_video_perception
from runtime.stages import build_audio_perception, build_video_perception, resolve_model_paths
from vigil.cache import cache_dir

SENTENCES = [
    "How many people are walking near the door?",
    "Please tell me when somebody enters the room.",
    "The red car has been parked outside since noon.",
    "What did the sign on the wall say a minute ago?",
    "I think the delivery arrived at half past three.",
    "Can you remind me who spoke first this morning?",
]
VOICES = ["en-us", "en-us+f3", "en-gb+m3"]


class Sink:
    """Stands in for decision, memory and the event hub: counts what perception sends."""

    def __init__(self) -> None:
        self.items = 0

    async def submit(self, items: list) -> None:
        self.items += len(items)

    add_many = put = submit


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None}
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 4),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 4),
    }


def clip_640(seconds: float) -> Path:
    """vtest.avi scaled to 640x480, with a sentence spoken every few seconds."""
    out = cache_dir() / "bench" / f"perception-{seconds:g}s.mp4"
    full = build_clip(
        sample_video("vtest.avi"),
        cache_dir() / "bench" / f"perception-{seconds:g}s-full.mp4",
        start=10.0,
        duration=seconds,
        speech=[(s, 1.0 + 4.0 * i) for i, s in enumerate(SENTENCES) if 1.0 + 4.0 * i < seconds - 3],
    )
    if not out.exists():
        import av

        from evaluation.media import write_clip

        with av.open(str(full)) as container:
            frames = [
                cv2.resize(f.to_ndarray(format="bgr24"), (640, 480))
                for f in container.decode(video=0)
            ]
        with av.open(str(full)) as container:
            audio = np.concatenate(
                [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
            ).astype(np.float32)
        write_clip(out, frames, 10.0, audio, 16000)
    return out


async def run_streams(
    count: int, clip: Path, encoder: Path | None = None, *, shared: bool = False
) -> tuple[list[PerceptionStats], BatchStats | None]:
    """``count`` streams of ``clip``; with ``encoder``, its embeddings come from a model loaded
    in every perception actor, or (``shared``) from one encoder actor for all streams."""
    config = load_config(models={"encoder": str(encoder) if encoder else None})
    paths = resolve_model_paths(config)
    sink = ray.remote(Sink).options(num_cpus=0).remote()
    one = await SharedEncoder.start(config, paths) if shared else None

    def video(stream_id: str) -> functools.partial:
        if one is None:
            return functools.partial(build_video_perception, config, paths)
        return functools.partial(
            shared_video_perception, config, paths, one, stream_id=stream_id, paced=True
        )

    actors = [
        ray.remote(PerceptionActor)
        .options(num_cpus=0.5)
        .remote(
            stream_id=f"s{i}",
            source=str(clip),
            paced=True,
            video=video(f"s{i}"),
            audio=functools.partial(build_audio_perception, config, paths),
            decision=sink,
            memory=sink,
            hub=sink,
        )
        for i in range(count)
    ]
    await asyncio.gather(*(a.ready.remote() for a in actors))
    stats = await asyncio.gather(*(a.run.remote() for a in actors))
    batches = await one.stats() if one is not None else None
    for actor in [*actors, sink]:
        ray.kill(actor)
    if one is not None:
        one.stop()
    return list(stats), batches


def summarise(
    count: int, stats: list[PerceptionStats], encoder: str, batches: BatchStats | None
) -> dict:
    return {
        "streams": count,
        "encoder": encoder,
        "mean_batch": round(batches.mean_batch, 2) if batches else None,
        "mixed_batches": batches.mixed if batches else None,
        "frames_analysed_per_s": round(
            sum(s.observations for s in stats) / max(s.play_seconds for s in stats), 2
        ),
        "realtime_factor_min": round(min(s.media_end / s.play_seconds for s in stats), 3),
        "video_step_s": percentiles([x for s in stats for x in s.video_step]),
        "audio_step_s": percentiles([x for s in stats for x in s.audio_step]),
        "frame_to_observation_s": percentiles([x for s in stats for x in s.lag]),
        "sampled_frames_dropped": sum(s.hops.get("video", {}).get("dropped", 0) for s in stats),
        "asr_share_of_real_time": round(
            max(s.asr_seconds / s.speech_seconds for s in stats if s.speech_seconds), 3
        )
        if any(s.speech_seconds for s in stats)
        else None,
        "utterances": sum(s.utterances for s in stats),
    }


def word_error_rate() -> dict:
    """Whisper tiny on each sentence in each voice, at 16 kHz."""
    config = load_config()
    transcriber = Transcriber(resolve_model_paths(config).asr)
    transcriber.load()
    errors = words = 0
    worst: list[tuple[str, str]] = []
    for voice in VOICES:
        for sentence in SENTENCES:
            audio, _ = speak(sentence, voice, sample_rate=16000)
            text, _ = transcriber.transcribe(audio)
            reference, hypothesis = _words(sentence), _words(text)
            distance = _edit_distance(reference, hypothesis)
            errors += distance
            words += len(reference)
            if distance:
                worst.append((sentence, text))
    return {"wer": round(errors / words, 4), "words": words, "misheard": worst[:5]}


def _words(text: str) -> list[str]:
    return "".join(c for c in text.lower() if c.isalnum() or c in " '").split()


def _edit_distance(a: list[str], b: list[str]) -> int:
    row = list(range(len(b) + 1))
    for i, word in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, other in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (word != other))
    return row[-1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--encoder", type=Path, help="a transformers vision model folder")
    parser.add_argument("--out", type=Path, default=Path("reports/bench-perception.json"))
    args = parser.parse_args()
    clip = clip_640(args.seconds)
    ensure_ray(None)
    modes = [("cpu", None, False)]
    if args.encoder is not None:
        modes += [("per-stream", args.encoder, False), ("shared", args.encoder, True)]
    rows = []
    for count in args.streams:
        for name, encoder, shared in modes:
            stats, batches = await run_streams(count, clip, encoder, shared=shared)
            row = summarise(count, stats, name, batches)
            rows.append(row)
            print(json.dumps(row))
    wer = word_error_rate()
    print(f"word error rate (Whisper tiny, {wer['words']} words, 3 voices): {wer['wer']:.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"clip": str(clip), "streams": rows, "asr": wer}, indent=2))
    print(f"written {args.out}")


if __name__ == "__main__":
    asyncio.run(main())
