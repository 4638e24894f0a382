"""The official scoring rules on the official annotation files, with hand-made responses.

Every expected number below is worked out by hand from the rules in
../shared/benchmarks/README.md; the tests skip when that folder is absent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaluation.scoring import (
    ovo_choice,
    ovo_count,
    ovo_scores,
    ovo_yesno,
    sb_choice,
    sb_proactive,
    sb_scores,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
pytestmark = pytest.mark.skipif(not SHARED.exists(), reason="../shared/benchmarks is absent")


def _ovo() -> dict[int, dict[str, Any]]:
    records = json.loads((SHARED / "ovo-bench" / "ovo_bench_new.json").read_text())
    return {r["id"]: r for r in records}


def _answered(record: dict[str, Any], response: str) -> dict[str, Any]:
    return {**record, "response": response, "ground_truth": "ABCD"[record["gt"]]}


def test_rules_keep_the_official_quirks() -> None:
    assert ovo_choice("C", "C") == 1
    assert ovo_choice("B. A man", "A") == 1  # "gt in response": any capital A counts
    assert ovo_choice(None, "A") == 0
    assert ovo_count("I counted 1 and then 2", 12) == 1  # digits joined: "12"
    assert ovo_count("three", 3) == 0
    assert ovo_yesno("N", 0) == 1 and ovo_yesno("Y", 1) == 1
    assert ovo_yesno("no", 0) == 0  # only "No" with a capital counts
    assert ovo_yesno("Yes, it is", 1) == 1 and ovo_yesno("Yes", 0) == 0
    assert sb_choice("B. a dog", "B") == 1 and sb_choice(" B", "B") == 0 and sb_choice("", "B") == 0
    assert sb_proactive(27, "Goal by white team", 29, "Goal by white team") == 1
    assert sb_proactive(27, "goal by white team", 29, "Goal by white team") == 0  # case kept
    assert sb_proactive(False, "Goal by white team", 29, "Goal by white team") == 0


def test_ovo_scores_on_the_official_file() -> None:
    records = _ovo()
    epm = [r for r in records.values() if r["task"] == "EPM"][:2]
    ocr = [r for r in records.values() if r["task"] == "OCR"][:2]
    rec, crr = json.loads(json.dumps(records[1558])), json.loads(json.dumps(records[1468]))
    assert [i["count"] for i in rec["test_info"]] == [1, 1, 1]
    assert [i["type"] for i in crr["test_info"]] == [0, 0, 1, 1, 1]
    wrong = "ABCD"[(epm[1]["gt"] + 1) % 4]
    for info, response in zip(rec["test_info"], ["1", "I saw it 1 time", "2"], strict=True):
        info["response"] = response  # digits "1", "1", "2": right, right, wrong
    for info, response in zip(crr["test_info"], ["No", "N", "Yes", "no", "Y"], strict=True):
        info["response"] = response  # right, right, right, wrong (lower-case), right
    results = {
        "backward": [_answered(epm[0], "ABCD"[epm[0]["gt"]]), _answered(epm[1], wrong)],
        "realtime": [_answered(r, "ABCD"[r["gt"]]) for r in ocr],
        "forward": [rec, crr],
    }
    scores = ovo_scores(results)
    assert scores["tasks"]["EPM"] == pytest.approx(50.0)  # 1 of 2
    assert scores["tasks"]["OCR"] == pytest.approx(100.0)  # 2 of 2
    assert scores["tasks"]["REC"] == pytest.approx(200 / 3)  # 2 of 3 probes
    assert scores["tasks"]["CRR"] == pytest.approx(80.0)  # 4 of 5 probes
    assert scores["categories"] == pytest.approx(
        {"backward": 50.0, "realtime": 100.0, "forward": (200 / 3 + 80) / 2}
    )
    # overall = mean of the category means = (50 + 100 + 73.33) / 3
    assert scores["overall"] == pytest.approx((50 + 100 + (200 / 3 + 80) / 2) / 3)


def test_streamingbench_scores_on_the_official_files() -> None:
    real = json.loads((SHARED / "streamingbench" / "questions_real.json").read_text())[:2]
    right, wrong = real[0]["questions"][0], real[1]["questions"][0]
    right["vigil"] = right["answer"]  # first character is the letter: right
    wrong["vigil"] = f"The answer is {wrong['answer']}"  # first character "T": wrong
    # the rest stay unanswered and are not counted, as in the official count.py
    proactive = json.loads((SHARED / "streamingbench" / "questions_proactive.json").read_text())
    first = proactive[0]["questions"][0]
    assert (first["ground_truth_time_stamp"], first["ground_truth_output"]) == ("00:00:29", "3")
    first["vigil"] = {"answered": 31, "dialog_history": [{"content": "3", "time": 31}]}
    second = json.loads(json.dumps(proactive[0]))
    second["questions"][0]["vigil"] = {
        "answered": 32,
        "dialog_history": [{"content": "3", "time": 32}],
    }
    scores = sb_scores([*real, proactive[0], second])
    assert scores["warnings"] == []
    if right["task_type"] == wrong["task_type"]:
        assert scores["tasks"][right["task_type"]] == pytest.approx(50.0)
    else:
        assert scores["tasks"][right["task_type"]] == pytest.approx(100.0)
        assert scores["tasks"][wrong["task_type"]] == pytest.approx(0.0)
    assert scores["tasks"]["Proactive Output"] == pytest.approx(50.0)  # 31 s: in; 32 s: 3 s late
    assert scores["counts"]["Proactive Output"] == 2
    assert scores["overall"] == pytest.approx(50.0)  # 2 right of 4 counted
