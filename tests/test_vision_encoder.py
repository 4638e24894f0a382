"""The transformers vision encoder, with a tiny randomly initialised CLIP built offline, and
frames from several streams batched into one forward pass."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from perception.encoders.batching import FrameBatcher
from perception.encoders.vision import TorchFrameEncoder
from tests.perception_models import VTEST, read_frames
from vigil.errors import ModelError


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    images = read_frames(VTEST, {0, 10, 400})
    return [images[0], images[10], images[400]]


def test_embeddings_are_normalised_and_the_same_batched_or_not(
    tiny_clip: Path, frames: list[np.ndarray]
) -> None:
    encoder = TorchFrameEncoder(tiny_clip, device="cpu")
    single = [encoder.encode(image) for image in frames]
    batched = encoder.encode_batch(frames)
    assert encoder.embedding_dim == 16
    for one, many in zip(single, batched, strict=True):
        assert one.embedding.shape == (16,)
        assert abs(float(np.linalg.norm(one.embedding)) - 1) < 1e-5
        np.testing.assert_allclose(one.embedding, many.embedding, atol=1e-5)
    assert single[0].people >= 2, "counts still come from the CPU detectors"
    assert not np.allclose(single[0].embedding, single[2].embedding), "other picture, other vector"


def test_without_detectors_only_the_embedding_is_computed(
    tiny_clip: Path, frames: list[np.ndarray]
) -> None:
    features = TorchFrameEncoder(tiny_clip, device="cpu", detectors=None).encode(frames[0])
    assert features.people == 0 and features.colours == () and features.embedding.shape == (16,)


def test_a_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot load the vision encoder") as caught:
        TorchFrameEncoder(tmp_path / "nothing-here").load()
    assert "save_pretrained" in caught.value.hint


async def test_frames_from_several_streams_share_a_batch(
    tiny_clip: Path, frames: list[np.ndarray]
) -> None:
    encoder = TorchFrameEncoder(tiny_clip, device="cpu", detectors=None)
    encoder.load()
    batcher = FrameBatcher(encoder, max_batch=4, max_wait=0.2)

    async def stream(image: np.ndarray) -> np.ndarray:
        return (await batcher.encode(image)).embedding

    results = await asyncio.gather(*(stream(image) for image in frames))
    await batcher.close()
    assert batcher.stats.batches == 1 and batcher.stats.frames == 3
    for image, embedding in zip(frames, results, strict=True):
        np.testing.assert_allclose(embedding, encoder.encode(image).embedding, atol=1e-5)
