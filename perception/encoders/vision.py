"""A Hugging Face vision encoder (CLIP, SigLIP, ...) as the frame embedding, on a GPU if any.

The semantic embedding is what the CPU encoder lacks: similar scenes land close together, so
scene cuts, clip features and memory search mean something. Counting is not what such an
encoder does, so people, faces and colours still come from the CPU detectors
(:class:`~perception.encoders.cpu.CpuFrameEncoder`) unless ``detectors=None``.

The model comes from a local folder or a hub id (offline by default: a hub id must already be
in the local cache). It runs on ``cuda`` when torch sees a GPU (Ray sets
``CUDA_VISIBLE_DEVICES`` for an actor given ``num_gpus``), else on the CPU. ``encode_batch``
embeds several frames in one forward pass; :class:`~perception.encoders.batching.FrameBatcher`
uses it to batch frames from several streams.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from perception.encoders.base import FrameFeatures
from perception.encoders.cpu import CpuEncoderOptions, CpuFrameEncoder
from vigil.errors import ModelError

__all__ = ["TorchFrameEncoder", "with_embedding"]


def with_embedding(
    detected: FrameFeatures | None, embedding: np.ndarray, seconds: float
) -> FrameFeatures:
    """The detectors' features with a vision model's embedding in place of theirs (or the
    embedding alone, with no counts, when no detectors ran). Shared by the in-process encoder
    and the runtime's facade over the shared encoder actor, so both give the same features."""
    if detected is None:
        return FrameFeatures(people=0, faces=0, colours=(), embedding=embedding, seconds=seconds)
    timings = {**detected.timings, "embedding": seconds}
    return replace(detected, embedding=embedding, timings=timings)


class TorchFrameEncoder:
    """Image embeddings from a transformers vision model, plus the CPU detectors' counts."""

    name = "torch"

    def __init__(
        self,
        model: str | Path,
        *,
        device: str | None = None,
        detectors: CpuEncoderOptions | None = CpuEncoderOptions(),  # noqa: B008 (frozen)
        dtype: str = "float32",
    ) -> None:
        self.model_ref = str(model)
        self._device = device
        self._dtype = dtype
        self._detectors = CpuFrameEncoder(detectors) if detectors is not None else None
        self._model: Any = None
        self._processor: Any = None
        self._lock = threading.Lock()
        self.embedding_dim = 0

    @property
    def device(self) -> str:
        return self._device or "cpu"

    def load(self) -> None:
        """Load the model and its image processor (once)."""
        if self._model is not None:
            return
        import torch
        from transformers import AutoImageProcessor, AutoModel

        if self._device is None:
            self._device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            self._processor = AutoImageProcessor.from_pretrained(self.model_ref)
            model = AutoModel.from_pretrained(self.model_ref, dtype=getattr(torch, self._dtype))
        except (OSError, ValueError) as error:
            raise ModelError(
                f"cannot load the vision encoder {self.model_ref!r}: {error}",
                hint="point models.encoder at a folder saved with save_pretrained "
                "(config.json, the weights and the image processor's preprocessor_config.json)",
            ) from error
        self._model = model.to(self._device).eval()
        probe = self._embed([np.zeros((64, 64, 3), np.uint8)])
        self.embedding_dim = int(probe.shape[1])

    def encode(self, image: np.ndarray) -> FrameFeatures:
        """Analyse one BGR uint8 frame."""
        return self.encode_batch([image])[0]

    def encode_batch(self, images: list[np.ndarray]) -> list[FrameFeatures]:
        """Analyse several BGR frames, with one forward pass of the vision model."""
        self.load()
        started = time.perf_counter()
        embeddings = self._embed(images)
        seconds = (time.perf_counter() - started) / len(images)
        detectors = self._detectors
        return [
            with_embedding(
                detectors.encode(image) if detectors is not None else None, embedding, seconds
            )
            for image, embedding in zip(images, embeddings, strict=True)
        ]

    def _embed(self, images: list[np.ndarray]) -> np.ndarray:
        import torch

        rgb = [np.ascontiguousarray(image[:, :, ::-1]) for image in images]
        with self._lock, torch.inference_mode():
            inputs = self._processor(images=rgb, return_tensors="pt").to(self._device)
            pixels = inputs["pixel_values"].to(self._model.dtype)
            if hasattr(self._model, "get_image_features"):
                vectors = self._model.get_image_features(pixel_values=pixels)
            else:
                out = self._model(pixel_values=pixels)
                vectors = getattr(out, "image_embeds", None)
                if vectors is None:
                    vectors = out.pooler_output
            if not isinstance(vectors, torch.Tensor):  # some models wrap the features
                vectors = vectors.pooler_output
            vectors = torch.nn.functional.normalize(vectors.float(), dim=-1)
        return vectors.cpu().numpy().astype(np.float32)
