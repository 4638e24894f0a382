"""``vigil eval synthetic`` end to end: generate, stream through the real graph, report, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runtime.cli import app


@pytest.mark.slow
def test_vigil_eval_synthetic_runs_reports_and_resumes(tmp_path: Path) -> None:
    runner = CliRunner()
    command = ["eval", "synthetic", "--out", str(tmp_path), "--clips", "2", "--split", "heldout"]
    first = runner.invoke(app, command)
    assert first.exit_code == 0, first.output
    assert "official scores" in first.output and "OVERALL" in first.output
    assert "by kind of question" in first.output and "sign_text" in first.output
    assert "% on time" in first.output, "proactive instructions are scored on their timing"
    data = tmp_path / "data"
    truth = json.loads((data / "truth_synthetic_heldout.json").read_text())
    count = sum(len(clip["items"]) for clip in truth["clips"])
    lines = (tmp_path / "answers-streaming.jsonl").read_text().splitlines()
    assert len(lines) == count
    report = json.loads((tmp_path / "report.json").read_text())
    files = {p.name for p in data.glob("*_synthetic_heldout.json") if "truth" not in p.name}
    assert set(report["scores"]) == files and "ovo_synthetic_heldout.json" in files
    assert report["speed"]["media_seconds"] > 55  # two clips of 30 s or more
    assert (tmp_path / "accuracy.png").stat().st_size > 0
    assert "accuracy.png" in (tmp_path / "index.html").read_text()
    official = json.loads((tmp_path / "results" / "ovo_synthetic_heldout.json").read_text())
    records = json.loads((data / "ovo_synthetic_heldout.json").read_text())
    assert len(official["realtime"]) + len(official["backward"]) == len(records)
    again = runner.invoke(app, command)
    assert again.exit_code == 0, again.output
    assert f"({count} already done)" in again.output
    assert len((tmp_path / "answers-streaming.jsonl").read_text().splitlines()) == count
