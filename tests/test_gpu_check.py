"""The GPU check script: on a CPU machine it runs the encoder actor on the CPU, says that it
skipped the GPU parts and exits 0; a part that fails makes it exit 1 with the reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # 25-45 s each on 2 cores: a Ray cluster and a model build


def test_runs_the_encoder_on_the_cpu_and_skips_the_gpu_parts(tmp_path: Path) -> None:
    out = tmp_path / "gpu-check.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench.gpu_check", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    parts = json.loads(out.read_text())["parts"]
    assert parts["encoder_cpu"]["status"] == "ran"
    assert parts["encoder_cpu"]["device"] == "cpu"
    assert parts["encoder_cpu"]["frames_per_s"] > 0
    assert "encoder_cpu: ok" in result.stdout and "gpu-check: ok" in result.stdout
    if torch.cuda.is_available():  # on a GPU machine the CUDA encoder must have run
        assert parts["encoder_cuda"]["status"] == "ran"
        return
    for name in ("encoder_cuda", "vllm"):
        assert parts[name] == {"status": "skipped", "reason": parts[name]["reason"]}
        assert f"{name}: SKIPPED (no CUDA GPU: skipping" in result.stdout


def test_a_failing_part_exits_non_zero_with_its_reason(tmp_path: Path) -> None:
    """Through the shell wrapper, with a vision model folder that does not exist."""
    out = tmp_path / "gpu-check.json"
    missing = tmp_path / "no-model"
    result = subprocess.run(
        ["bash", str(ROOT / "scripts/gpu-check.sh"), "--encoder", str(missing), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "PYTHON": sys.executable},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "encoder_cpu: FAILED (ModelError: cannot load the vision encoder" in result.stdout
    assert "gpu-check: FAILED: encoder_cpu" in result.stdout
    summary = json.loads(out.read_text())
    assert summary["ok"] is False and summary["parts"]["encoder_cpu"]["status"] == "failed"
