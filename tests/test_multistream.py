"""Several streams at once: one vision encoder actor serves every stream's perception, and its
batches hold frames of different streams (real Ray actors, a tiny CLIP built offline)."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from pathlib import Path

import numpy as np
import pytest
import ray

from evaluation.demo import build_clip
from evaluation.samples import sample_video
from perception.encoders.batching import FrameBatcher
from perception.encoders.vision import TorchFrameEncoder
from runtime.actors.perception import PerceptionActor
from runtime.config import load_config
from runtime.graph import SharedEncoder, cpus_needed, shared_video_perception
from runtime.stages import ModelPaths, build_audio_perception
from vigil.items import Item, Observation


class Collector:
    """Stands in for decision, memory and the hub: keeps the observations perception sends."""

    def __init__(self) -> None:
        self.seen: list[Observation] = []

    async def submit(self, items: list[Item]) -> None:
        self.seen.extend(item for item in items if isinstance(item, Observation))

    async def add_many(self, items: list[Item]) -> None:
        pass

    put = add_many

    async def observations(self) -> list[Observation]:
        return self.seen


def test_resources_come_from_configuration() -> None:
    config = load_config(
        runtime={"perception_cpus": 0.5, "reaction_cpus": 1.0, "encoder_cpus": 2.0}
    )
    assert cpus_needed(config, 3, shared_encoder=True) == 3 * 1.5 + 2.0
    assert cpus_needed(config, 2, shared_encoder=False) == 3.0


async def test_the_batcher_counts_frames_per_stream_and_mixed_batches(
    tiny_clip: Path,
) -> None:
    encoder = TorchFrameEncoder(tiny_clip, device="cpu", detectors=None)
    batcher = FrameBatcher(encoder, max_batch=3, max_wait=0.5)
    image = np.zeros((48, 64, 3), np.uint8)
    await asyncio.gather(*(batcher.encode(image, s) for s in ("a", "b", "a")))  # one batch
    await batcher.encode(image, "b")  # alone, after the wait
    await batcher.close()
    assert (batcher.stats.batches, batcher.stats.frames, batcher.stats.mixed) == (2, 4, 1)
    assert batcher.stats.by_stream == {"a": 2, "b": 2}


@pytest.mark.slow
@pytest.mark.usefixtures("ray_cluster")
async def test_two_streams_share_one_encoder_actor(
    tiny_clip: Path,
    model_paths: ModelPaths,
    tmp_path: Path,
) -> None:
    clips = [
        build_clip(sample_video("vtest.avi"), tmp_path / f"{i}.mp4", start=8.0 * i, duration=3.0)
        for i in range(2)
    ]
    config = load_config(
        models={"encoder": str(tiny_clip)},
        perception={
            "sample_rate_hz": 2.0,
            "ocr": False,
            "speakers": False,
            "encoder_batch": 2,  # a batch goes as soon as both streams sent a frame...
            "encoder_max_wait": 1.0,  # ...and waits for the other stream's frame until then
        },
        runtime={"encoder_cpus": 0.5},
    )
    paths = dataclasses.replace(model_paths, encoder=tiny_clip, voice=None)
    encoder = await SharedEncoder.start(config, paths)
    collector = ray.remote(Collector).options(num_cpus=0).remote()
    actors = [
        ray.remote(PerceptionActor)
        .options(num_cpus=0.5)
        .remote(
            stream_id=f"s{i}",
            source=str(clip),
            paced=False,
            video=functools.partial(
                shared_video_perception, config, paths, encoder, stream_id=f"s{i}", paced=False
            ),
            audio=functools.partial(build_audio_perception, config, paths),
            decision=collector,
            memory=collector,
            hub=collector,
        )
        for i, clip in enumerate(clips)
    ]
    try:
        await asyncio.gather(*(actor.ready.remote() for actor in actors))
        results = await asyncio.gather(*(actor.run.remote() for actor in actors))  # at once
        observations = await collector.observations.remote()
        batches = await encoder.stats()
    finally:
        for handle in [*actors, collector]:
            ray.kill(handle)
        encoder.stop()

    assert encoder.info.embedding_dim == 16 and encoder.info.device == "cpu"
    per_stream = {s: [o for o in observations if o.stream_id == s] for s in ("s0", "s1")}
    for stream_id, seen in per_stream.items():
        assert len(seen) >= 5, f"{stream_id} analysed {len(seen)} frames"
        for observation in seen:  # the tiny CLIP's 16-d vectors, not the CPU encoder's 244-d
            assert observation.embedding.shape == (16,)
            assert abs(float(np.linalg.norm(observation.embedding)) - 1) < 1e-5
            assert observation.people >= 1, "counts still come from the stream's detectors"
    assert dict(batches.by_stream) == {s: len(seen) for s, seen in per_stream.items()}
    assert batches.frames == len(observations) == sum(r.observations for r in results)
    assert batches.mixed >= 1, "no batch held frames of both streams"
    assert batches.batches < batches.frames, "frames were never batched together"
