"""Adapters, result writers and bad inputs, on a one-clip synthetic set in both formats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evaluation.formats.ovo import load_ovo, ovo_results
from evaluation.formats.streamingbench import load_streamingbench, streamingbench_results
from evaluation.resultlog import ResultLog
from evaluation.scoring import ovo_scores, sb_scores
from evaluation.streaming import probe_response
from evaluation.suite import load_suite
from evaluation.synthetic import SyntheticSet, build_synthetic
from vigil.errors import ConfigError


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> SyntheticSet:
    return build_synthetic(tmp_path_factory.mktemp("synth"), clips=1)


def sb_file(synth: SyntheticSet, name: str) -> Path:
    return next(p for p in synth.streamingbench if p.name.startswith(f"questions_{name}_"))


def test_synthetic_set_reads_back_in_both_formats(synth: SyntheticSet) -> None:
    queries, problems, records = load_ovo(synth.ovo, synth.root)
    assert problems == [] and len(queries) == len(records) >= 3
    assert {q.category for q in queries} <= {"realtime", "backward"}
    choice = queries[0]
    assert "A. " in choice.prompt and "D. " in choice.prompt and choice.prompt.endswith("only.")
    real, problems, _ = load_streamingbench(sb_file(synth, "real"), synth.root)
    proactive, _, _ = load_streamingbench(sb_file(synth, "proactive"), synth.root)
    assert problems == [] and real[0].rule == "choice" and "A. " in real[0].prompt
    due = proactive[0]
    assert due.rule == "proactive" and due.instruction and due.expected_time is not None
    assert due.polls[0] == due.at + 1 and due.polls[-1] == due.expected_time + 4
    counted = len(records) + sum(
        len(e["questions"]) for p in synth.streamingbench for e in json.loads(p.read_text())
    )
    assert synth.questions == counted


def test_gold_answers_score_full_marks_through_the_official_files(synth: SyntheticSet) -> None:
    queries, _, records = load_ovo(synth.ovo, synth.root)
    result = ovo_results(records, queries, {q.key: q.expected for q in queries})
    assert all(item["ground_truth"] == item["response"] for item in result["realtime"])
    assert ovo_scores(result)["overall"] == pytest.approx(100.0)
    sb, _, entries = load_streamingbench(sb_file(synth, "proactive"), synth.root)
    answers = {q.key: {"response": q.expected, "emitted_at": q.expected_time + 1} for q in sb}
    assert sb_scores(streamingbench_results(entries, sb, answers))["overall"] == 100.0


def test_bad_inputs_are_reported_per_item(synth: SyntheticSet, tmp_path: Path) -> None:
    records = json.loads(synth.ovo.read_text())
    records[0]["video"] = "videos/absent.mp4"
    records[1]["realtime"] = 500
    del records[2]["options"]
    bad = tmp_path / "ovo.json"
    bad.write_text(json.dumps(records))
    queries, problems, _ = load_ovo(bad, synth.root)
    assert len(queries) == len(records) - 3
    messages = [p.message for p in problems]
    assert "missing" in messages[0] and "beyond the end" in messages[1]
    assert "malformed" in messages[2]
    shape = tmp_path / "shape.json"
    shape.write_text(json.dumps({"questions": []}))
    with pytest.raises(ConfigError, match=r"not an OVO-Bench|not a StreamingBench"):
        load_suite([shape], synth.root)


def test_flat_video_folders_are_found(synth: SyntheticSet, tmp_path: Path) -> None:
    for video in (synth.root / "videos").glob("*.mp4"):
        shutil.copy(video, tmp_path / video.name)
    queries, problems, _ = load_streamingbench(sb_file(synth, "real"), tmp_path)
    assert problems == [] and queries[0].video.parent == tmp_path


def test_forward_probes_are_answered_from_pushes(synth: SyntheticSet) -> None:
    from dataclasses import replace

    query = load_ovo(synth.ovo, synth.root)[0][0]
    rec = replace(query, task="REC", at=10.0)
    assert probe_response(rec, [1.0, 4.0, 12.0]) == "2"
    assert probe_response(replace(rec, task="CRR"), [12.0]) == "No"
    assert probe_response(replace(rec, task="SSR"), [1.0]) == "Yes"
    assert probe_response(replace(rec, task="SSR", at=20.0), [1.0]) == "No"


def test_the_resume_log_skips_done_items_and_retries_errors(tmp_path: Path) -> None:
    log = ResultLog(tmp_path / "answers.jsonl")
    log.append([{"key": "a", "response": "A", "error": None}, {"key": "b", "error": "boom"}])
    with (tmp_path / "answers.jsonl").open("a") as handle:
        handle.write('{"key": "c", "resp')  # cut short by the interruption
    again = ResultLog(tmp_path / "answers.jsonl")
    assert again.done("a") and not again.done("b") and not again.done("c")
