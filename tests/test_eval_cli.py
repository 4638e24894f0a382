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
    first = runner.invoke(app, ["eval", "synthetic", "--out", str(tmp_path)])  # 21 questions
    assert first.exit_code == 0, first.output
    assert "official scores" in first.output and "OVERALL" in first.output
    lines = (tmp_path / "answers-streaming.jsonl").read_text().splitlines()
    assert len(lines) == 21
    report = json.loads((tmp_path / "report.json").read_text())
    assert set(report["scores"]) == {
        "ovo_synthetic.json", "questions_real_synthetic.json",
        "questions_proactive_synthetic.json",
    }  # fmt: skip
    assert report["speed"]["media_seconds"] > 45
    assert (tmp_path / "accuracy.png").stat().st_size > 0
    assert "accuracy.png" in (tmp_path / "index.html").read_text()
    official = json.loads((tmp_path / "results" / "ovo_synthetic.json").read_text())
    assert len(official["realtime"]) + len(official["backward"]) == 15
    again = runner.invoke(app, ["eval", "synthetic", "--out", str(tmp_path)])
    assert again.exit_code == 0, again.output
    assert "(21 already done)" in again.output
    assert len((tmp_path / "answers-streaming.jsonl").read_text().splitlines()) == 21
