#!/usr/bin/env bash
# Checks the encoder actor and the vLLM backend on this machine's GPU, offline, on tiny models
# built on the spot; on a CPU machine it runs the encoder on the CPU and says what it skipped.
# Arguments go to `python -m bench.gpu_check` (--out FILE.json, --model DIR, --encoder DIR).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
exec "$PYTHON" -m bench.gpu_check "$@"
