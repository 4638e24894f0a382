"""Word error rate and speed of each packaged Whisper on recorded speech with known words.

The clips are the speech samples of :mod:`evaluation.samples`: people recorded in Debian's
``alsa-utils`` and ``pocketsphinx-testdata`` (audiobook lines, card names, short commands),
and pytest-audioeval's samples, whose origin is not stated and which are scored apart. Each
clip goes the way audio goes in a run: to mono 16 kHz through the stage's resampler, then
through :class:`perception.asr.Transcriber` with the configured threads. Word error rate is
jiwer's, over words normalised the usual way for Whisper (case, punctuation, digits spelled
out, "Mr" as "mister"), summed over each group. The clip of plain noise is scored by the
words heard in it. The realtime factor is transcription time over audio time, after one
warm-up clip.

    python -m bench.asr [--models whisper-tiny whisper-base] [--out reports/bench-asr.json]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path
from typing import Any

import jiwer
from num2words import num2words

from evaluation.samples import SpeechSample, speech_samples
from perception.asr import Transcriber
from perception.resample import to_mono, to_mono_16k
from runtime.config import load_config
from runtime.models import registry_for

TITLES = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint"}


def normalise(text: str) -> str:
    """Lower case, no punctuation, numbers in words: what a listener would write down."""
    text = re.sub(r"\d+", lambda m: " " + num2words(int(m.group())) + " ", text.lower())
    words = re.sub(r"[^a-z' ]+", " ", text.replace("-", " ")).replace("'", "").split()
    return " ".join(TITLES.get(word, word) for word in words)


def transcribe_all(model: str, samples: list[SpeechSample], threads: int) -> dict[str, Any]:
    """Every clip through one model: texts, times, and the load time."""
    path = registry_for(load_config()).path(model)
    transcriber = Transcriber(path, cpu_threads=threads)
    started = time.perf_counter()
    transcriber.load()
    load_seconds = time.perf_counter() - started
    clips = []
    for sample in samples:
        raw, rate = sample.audio()
        clips.append(to_mono_16k(to_mono(raw), rate))
    transcriber.transcribe(clips[0])  # warm-up: first-call allocations are not speed
    rows = []
    for sample, audio in zip(samples, clips, strict=True):
        text, _ = transcriber.transcribe(audio)
        rows.append(
            {
                "clip": sample.name,
                "recorded": sample.recorded,
                "reference": sample.transcript,
                "heard": text,
                "audio_s": round(audio.size / 16_000, 3),
                "asr_s": round(transcriber.last_seconds, 4),
            }
        )
    return {"model": model, "path": str(path), "load_s": round(load_seconds, 3), "clips": rows}


def score(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Word error rate per group, words heard in noise, and the realtime factor."""
    speech = [r for r in rows if r["reference"]]
    noise = [r for r in rows if not r["reference"]]
    groups: dict[str, Any] = {}
    for group, recorded in (("recorded", True), ("origin_not_stated", False)):
        chosen = [r for r in speech if r["recorded"] is recorded]
        references = [normalise(r["reference"]) for r in chosen]
        heard = [normalise(r["heard"]) for r in chosen]
        measures = jiwer.process_words(references, heard)
        groups[group] = {
            "clips": len(chosen),
            "words": sum(len(r.split()) for r in references),
            "wer": round(measures.wer, 4),
            "substitutions": measures.substitutions,
            "deletions": measures.deletions,
            "insertions": measures.insertions,
            "misheard": [
                {"clip": r["clip"], "reference": ref, "heard": hyp}
                for r, ref, hyp in zip(chosen, references, heard, strict=True)
                if ref != hyp
            ],
        }
    audio = sum(r["audio_s"] for r in rows)
    return {
        **groups,
        "words_heard_in_noise": sum(len(normalise(r["heard"]).split()) for r in noise),
        "realtime_factor": round(sum(r["asr_s"] for r in rows) / audio, 4),
        "audio_s": round(audio, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["whisper-tiny", "whisper-base"])
    parser.add_argument("--threads", type=int, default=load_config().perception.asr_threads)
    parser.add_argument("--out", type=Path, default=Path("reports/bench-asr.json"))
    args = parser.parse_args()
    samples = speech_samples()
    results = []
    for model in args.models:
        result = transcribe_all(model, samples, args.threads)
        result["score"] = scored = score(result["clips"])
        results.append(result)
        recorded, other = scored["recorded"], scored["origin_not_stated"]
        print(
            f"{model}: WER {recorded['wer']:.3f} on {recorded['words']} recorded words "
            f"({recorded['clips']} clips), {other['wer']:.3f} on {other['words']} other words; "
            f"{scored['words_heard_in_noise']} words heard in noise; "
            f"realtime factor {scored['realtime_factor']:.3f} ({args.threads} thread(s)); "
            f"load {result['load_s']:.2f} s"
        )
        for miss in recorded["misheard"] + other["misheard"]:
            print(f"  {miss['clip']}: {miss['reference']!r} -> {miss['heard']!r}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"threads": args.threads, "models": results}, indent=2))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
