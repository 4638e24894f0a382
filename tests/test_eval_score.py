"""``vigil eval score``: official result files scored, merged, and malformed records survived.

The published LongVU files in ../shared/benchmarks must give LongVU's published figures (the
test skips when that folder is absent); the malformed and StreamingBench files are small
fixtures written here in the formats the official harnesses write.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from evaluation.cli import eval_app
from evaluation.score_files import score_files
from vigil.errors import ConfigError

LONGVU = Path(__file__).resolve().parents[2] / "shared/benchmarks/ovo-bench/results/LongVU"


def _score(*args: str) -> Result:
    return CliRunner().invoke(eval_app, ["score", *args])


def _write(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data))
    return str(path)


@pytest.mark.skipif(not LONGVU.exists(), reason="../shared/benchmarks is absent")
def test_the_published_longvu_files_give_the_published_figures() -> None:
    files = sorted(str(p) for p in LONGVU.glob("*.json"))
    assert len(files) == 8  # split per task, as OVO-Bench publishes them
    result = _score("--benchmark", "ovo-bench", "--json", *files)
    assert result.exit_code == 0, result.output
    score = json.loads(result.stdout)
    assert score["items"] == 3035 and score["warnings"] == []
    assert {k: round(v, 2) for k, v in score["categories"].items()} == {
        "backward": 35.01,
        "realtime": 57.61,
        "forward": 47.50,
    }
    assert round(score["overall"], 2) == 46.71
    assert sum(score["counts"][t] for t in ("REC", "SSR", "CRR")) == 1567  # one item per probe
    text = _score("--benchmark", "ovo-bench", *files).stdout
    assert "Backward Tracing" in text and "  HLD " in text and "46.71" in text


def _mc(id_: int, task: str, response: Any, truth: Any = "B") -> dict[str, Any]:
    return {"id": id_, "task": task, "response": response, "ground_truth": truth}


def _probe(response: Any, **truth: int) -> dict[str, Any]:
    return {"realtime": 10, "response": response, **truth}


def test_malformed_ovo_records_count_wrong_with_a_warning(tmp_path: Path) -> None:
    backward = _write(tmp_path / "m_EPM.json", {"backward": [
        _mc(1, "EPM", "B"),  # right
        _mc(2, "EPM", ["B"]),  # one model's batch output: a list, counted wrong
        _mc(3, "EPM", None),
        {"id": 4, "task": "EPM", "ground_truth": "B"},  # no response
        _mc(5, "EPM", "B", truth=None),
        {"id": 6, "response": "B"},  # no task: cannot be placed, skipped
        "not a record",
    ], "realtime": [_mc(7, "OCR", "(B) a sign"), _mc(8, "OCR", "C")], "forward": []})  # fmt: skip
    forward = _write(tmp_path / "m_REC_CRR.json", {"backward": [], "realtime": [], "forward": [
        {"id": 9, "task": "REC", "test_info": [
            _probe("I saw it 1 time", count=1), _probe(["1"], count=1), {"realtime": 5, "count": 1},
        ]},
        {"id": 10, "task": "CRR", "test_info": [_probe("No", type=0), _probe("Y", type=2)]},
        {"id": 11, "task": "SSR"},  # no test_info: no probes to count
    ]})  # fmt: skip
    result = _score("-b", "ovo-bench", "--json", backward, forward)
    assert result.exit_code == 0, result.output
    score = json.loads(result.stdout)
    assert score["counts"] == {"EPM": 5, "OCR": 2, "REC": 3, "CRR": 2}
    assert score["tasks"]["EPM"] == pytest.approx(20.0)  # 1 of 5
    assert score["tasks"]["OCR"] == pytest.approx(50.0)  # "B" appears in "(B) a sign"
    assert score["tasks"]["REC"] == pytest.approx(100 / 3)
    assert score["tasks"]["CRR"] == pytest.approx(50.0)
    assert score["categories"]["forward"] == pytest.approx((100 / 3 + 50) / 2)
    assert score["overall"] == pytest.approx((20 + 50 + (100 / 3 + 50) / 2) / 3)
    warnings = score["warnings"]
    assert f"{backward}, EPM, id 2: 'response' is a list, not a string; counted wrong" in warnings
    assert f"{backward}, EPM, id 3: 'response' is null; counted wrong" in warnings
    assert f"{backward}, EPM, id 4: no 'response'; counted wrong" in warnings
    assert any(w.startswith(f"{backward}, EPM, id 5: 'ground_truth'") for w in warnings)
    assert any(w.startswith(f"{backward}, ?, id 6:") for w in warnings)
    assert f"{forward}, REC, id 9, probe 1: 'response' is a list, not a string; counted wrong" in (
        warnings
    )
    assert f"{forward}, REC, id 9, probe 2: no 'response'; counted wrong" in warnings
    assert f"{forward}, CRR, id 10, probe 1: 'type' is not 0 or 1; counted wrong" in warnings
    assert any(w.startswith(f"{forward}, SSR, id 11:") for w in warnings)
    assert len(warnings) == 10
    assert "warning: " + warnings[0] in result.stderr


def test_unreadable_files_are_warnings_and_an_empty_score_fails(tmp_path: Path) -> None:
    good = _write(tmp_path / "ok.json", {"backward": [], "realtime": [_mc(1, "OCR", "B")]})
    broken = tmp_path / "cut.json"
    broken.write_text('{"backward": [')
    score = score_files("ovo-bench", [Path(good), broken, tmp_path / "absent.json"])
    assert score["items"] == 1 and score["overall"] == pytest.approx(100.0)
    assert sum("cannot be read as JSON" in w for w in score["warnings"]) == 2
    assert any("no 'forward' list" in w for w in score["warnings"])
    assert any("mean of realtime only" in w for w in score["warnings"])
    annotations = _write(tmp_path / "ovo_bench_new.json", [{"id": 1, "task": "OCR"}])
    result = _score("-b", "ovo-bench", annotations)
    assert isinstance(result.exception, ConfigError)  # `vigil` prints it as one error line
    assert "not an OVO-Bench result file" in result.stderr
    with pytest.raises(ConfigError, match="unknown benchmark"):
        score_files("ovo", [Path(good)])


def _video(*questions: dict[str, Any]) -> dict[str, Any]:
    return {"time": "[0:00:00 - 0:01:00]", "video_path": "./videos/sample_1_real.mp4",
            "video_categories": "sports", "questions": list(questions)}  # fmt: skip


def _choice(task: str, answer: str, **model: Any) -> dict[str, Any]:
    options = ["A. a", "B. b", "C. c", "D. d"]
    return {"task_type": task, "question": "Q?", "time_stamp": "00:00:10", "answer": answer,
            "options": options, "required_ability": "x", **model}  # fmt: skip


def _proactive(at: float | bool, content: str, last: float | None = None) -> dict[str, Any]:
    """The official harness's record: polls, then the answer at ``at`` (or none: False)."""
    history = [{"role": "assistant", "content": "no", "time": 30}]
    if at is not False:
        history.append({"role": "assistant", "content": content, "time": at})
    else:
        history[-1]["time"] = last
    return {"task_type": "Proactive Output", "question": 'When it scores, output "Goal".',
            "time_stamp": "00:00:20", "ground_truth_time_stamp": "00:00:29",
            "ground_truth_output": "Goal", "required_ability": "x",
            "Flash-VStream": {"answered": at, "dialog_history": history}}  # fmt: skip


def test_streamingbench_files_of_the_official_harness(tmp_path: Path) -> None:
    name = "Flash-VStream"
    real = _write(tmp_path / "real_output.json", [
        _video(_choice("Counting", "A", **{name: "A"}), _choice("Counting", "B", **{name: "B."})),
        _video(_choice("Counting", "C", **{name: "The answer is C"}),  # first character "T"
               _choice("Counting", "C"),  # never asked: not counted
               _choice("Object Recognition", "D", **{name: "D", "results": ["D"]})),
    ])  # fmt: skip
    sqa = _write(tmp_path / "sqa_output.json", [[
        _video(_choice("Sequential Question Answering", "A", **{name: "A"})),
        _video(_choice("Sequential Question Answering", "B", **{name: ["B"]}),
               _choice("Sequential Question Answering", "C", **{name: ""}),
               _choice("Sequential Question Answering", "D", **{name: None})),
    ]])  # fmt: skip
    proactive = _write(tmp_path / "proactive_output.json", [_video(
        _proactive(31, "Goal!"),  # 2 s after 00:00:29, with the output: right
        _proactive(32, "Goal!"),  # 3 s late
        _proactive(29, "goal"),  # on time, but the official check keeps case
        _proactive(False, "", last=33),  # never said yes: polled up to ground truth + 4
        {**_proactive(29, "Goal"), name: {"answered": 29, "dialog_history": []}},
    )])  # fmt: skip
    result = _score("--benchmark", "streamingbench", "--json", real, sqa, proactive)
    assert result.exit_code == 0, result.output
    score = json.loads(result.stdout)
    assert score["models"] == [name]  # found: the one key beside the annotation's
    assert score["counts"] == {
        "Counting": 3, "Object Recognition": 1, "Sequential Question Answering": 4,
        "Proactive Output": 5,
    }  # fmt: skip
    assert score["tasks"]["Counting"] == pytest.approx(200 / 3)
    assert score["tasks"]["Sequential Question Answering"] == pytest.approx(25.0)
    assert score["tasks"]["Proactive Output"] == pytest.approx(20.0)
    assert score["overall"] == pytest.approx(100 * 5 / 13)  # pooled over questions
    warnings = score["warnings"]
    assert len(warnings) == 4
    assert any(f"{sqa}, Sequential Question Answering, video 1 question 0: '{name}' is a list"
               in w for w in warnings)  # fmt: skip
    assert any("question 1: 'Flash-VStream' is empty" in w for w in warnings)
    assert any("question 2: 'Flash-VStream' is null" in w for w in warnings)
    assert any(f"{proactive}, Proactive Output, video 0 question 4" in w for w in warnings)
    text = _score("-b", "streamingbench", real).stdout
    assert "Counting" in text and "66.67" in text and "Overall" in text


def test_the_answer_key_is_found_or_named(tmp_path: Path) -> None:
    two = _write(tmp_path / "two.json", [_video(_choice("Counting", "A", VILA="A", LongVA="B"))])
    with pytest.raises(ConfigError, match="several models: LongVA, VILA"):
        score_files("streamingbench", [Path(two)])
    assert score_files("streamingbench", [Path(two)], model="LongVA")["overall"] == 0.0
    assert score_files("streamingbench", [Path(two)], model="VILA")["overall"] == 100.0
    none = _write(tmp_path / "questions_real.json", [_video(_choice("Counting", "A"))])
    result = _score("-b", "streamingbench", none)
    assert result.exit_code != 0 and "no model answers found" in result.stderr


def test_vigils_own_unanswered_items_count_wrong(tmp_path: Path) -> None:
    """Vigil writes "" for an unanswered question and a null time for a silent proactive one."""
    silent = {"answered": False, "dialog_history": [{"role": "assistant", "content": "",
                                                     "time": None}]}  # fmt: skip
    timely = {"answered": 30.5, "dialog_history": [{"role": "assistant", "content": "Goal",
                                                    "time": 30.5}]}  # fmt: skip
    first, second = _proactive(31, "Goal"), _proactive(31, "Goal")
    first["vigil"], second["vigil"] = silent, timely
    del first["Flash-VStream"], second["Flash-VStream"]
    path = _write(
        tmp_path / "ours.json", [_video(_choice("Counting", "A", vigil=""), first, second)]
    )
    score = score_files("streamingbench", [Path(path)])
    assert score["models"] == ["vigil"] and score["items"] == 3
    assert score["tasks"] == {"Counting": 0.0, "Proactive Output": 50.0}
    assert score["warnings"] == [
        f"{path}, Counting, video 0 question 0: 'vigil' is empty; counted wrong"
    ]
