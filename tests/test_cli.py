"""The command line: help on every command, and one clear line plus an exit code per failure."""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from vigil.errors import ConfigError, DeviceNotFound, MediaError, ModelError

VIGIL = [sys.executable, "-c", "from runtime.cli import main; main()"]


def vigil(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VIGIL, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize(
    "command", [[], ["run"], ["demo"], ["models"], ["models", "list"], ["models", "prepare"]]
)
def test_help(command: list[str]) -> None:
    result = vigil(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_missing_file(tmp_path: Path) -> None:
    result = vigil("run", str(tmp_path / "nowhere.mp4"))
    assert result.returncode == MediaError.exit_code
    (line,) = error_lines(result)
    assert "nowhere.mp4" in line
    assert "Traceback" not in result.stderr


def test_corrupt_file(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(os.urandom(4096))
    result = vigil("run", str(garbage))
    assert result.returncode == MediaError.exit_code
    (line,) = error_lines(result)
    assert "garbage.mp4" in line


def test_missing_camera() -> None:
    result = vigil("run", "webcam:9")
    assert result.returncode == DeviceNotFound.exit_code
    (line,) = error_lines(result)
    assert "camera" in line.lower()


def test_missing_microphone() -> None:
    result = vigil("run", "mic:99")
    assert result.returncode == DeviceNotFound.exit_code
    (line,) = error_lines(result)
    assert "microphone" in line.lower() or "audio" in line.lower()


def test_unknown_model_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model.gguf"
    result = vigil("run", "webcam:0", env={"VIGIL_MODELS__LLM": str(missing)})
    assert result.returncode == ModelError.exit_code
    (line,) = error_lines(result)
    assert "no-such-model.gguf" in line


@pytest.mark.slow
def test_a_model_that_fails_inside_an_actor_is_one_clear_line(tmp_path: Path) -> None:
    """The folder exists, so the check before Ray passes; loading fails in the perception
    actor, and the user still gets Vigil's message and exit code, not remote tracebacks."""
    from evaluation.demo import build_clip
    from evaluation.samples import sample_video

    clip = build_clip(sample_video("vtest.avi"), tmp_path / "clip.mp4", start=0.0, duration=2.0)
    not_a_model = tmp_path / "empty-folder"
    not_a_model.mkdir()
    result = vigil("run", str(clip), "--unpaced", env={"VIGIL_MODELS__ENCODER": str(not_a_model)})
    assert result.returncode == ModelError.exit_code
    (line,) = error_lines(result)
    assert "cannot load the vision encoder" in line and "models.encoder" in line
    assert "Traceback" not in result.stderr


class OverloadedServer(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible server that reads prompts ahead (one-token requests) but turns
    every answer away with HTTP 400, as a server with a too-small context does."""

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if request.get("max_tokens") == 1:
            body, status = b"data: [DONE]\n\n", 200
        else:
            body, status = b'{"error": "the prompt does not fit the context"}', 400
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.slow
def test_answers_that_failed_are_counted_and_set_the_exit_code(tmp_path: Path) -> None:
    """Two questions the server turns away: the stream plays on, each failure is printed,
    and the run says how many failed and exits with the backend's code (7)."""
    from evaluation.demo import build_clip
    from evaluation.samples import sample_video

    clip = build_clip(sample_video("vtest.avi"), tmp_path / "clip.mp4", start=0.0, duration=3.0)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OverloadedServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    asks = ["--ask", "Describe the scene in detail.@1", "--ask", "And what else is there?@1"]
    try:
        result = vigil(
            "run", str(clip), "--unpaced", *asks,
            env={
                "VIGIL_REACTION__BACKEND": "openai",
                "VIGIL_REACTION__BASE_URL": f"http://127.0.0.1:{server.server_port}/v1",
                "VIGIL_REACTION__MODEL": "served",
            },
        )  # fmt: skip
    finally:
        server.shutdown()
    assert result.returncode == 7, result.stderr[-2000:]
    printed = result.stdout + result.stderr
    assert printed.count("the prompt does not fit the context") == 2, printed
    assert "2 answer(s) failed" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_setting() -> None:
    result = vigil("run", "webcam:0", env={"VIGIL_REACTION__MAX_TOKENS": "-1"})
    assert result.returncode == ConfigError.exit_code
    (line,) = error_lines(result)
    assert "reaction.max_tokens" in line


def test_run_help_says_several_sources_play_at_once() -> None:
    result = vigil("run", "--help")
    assert result.returncode == 0, result.stderr
    assert "Give several to watch them at once" in result.stdout
    assert "SOURCE" in result.stdout


@pytest.mark.slow
def test_two_sources_play_at_once_with_labelled_events(
    tmp_path: Path,
    tiny_clip: Path,
) -> None:
    """Both streams' events appear, each line labelled with its stream id; their frames are
    embedded by the one shared encoder actor (the tiny CLIP as models.encoder)."""
    from evaluation.demo import build_clip
    from evaluation.samples import sample_video

    clips = [
        build_clip(sample_video("vtest.avi"), tmp_path / f"{i}.mp4", start=8.0 * i, duration=2.0)
        for i in range(2)
    ]
    settings = {
        "VIGIL_MODELS__ENCODER": str(tiny_clip),
        "VIGIL_PERCEPTION__OCR": "false",
        "VIGIL_PERCEPTION__SPEAKERS": "false",
    }
    result = vigil("run", *map(str, clips), "--unpaced", env=settings)
    assert result.returncode == 0, result.stderr
    assert f"stream-0 = {clips[0]}" in result.stderr and f"stream-1 = {clips[1]}" in result.stderr
    lines = result.stdout.splitlines()
    for stream_id in ("stream-0", "stream-1"):
        mine = [line for line in lines if line.startswith(f"{stream_id} ")]
        assert any("sees" in line for line in mine), result.stdout
        assert any("end of stream" in line for line in mine), result.stdout
        summary = re.search(rf"{stream_id}: 0 answer\(s\); (\d+) observations", result.stderr)
        assert summary is not None and int(summary.group(1)) >= 2, result.stderr
