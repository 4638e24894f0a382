"""The synthetic set: both formats load, splits share nothing, answers follow from the timeline,
and the project's own OCR and colour namer read what was drawn."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from evaluation.formats.streamingbench import seconds
from evaluation.suite import load_suite
from evaluation.synthetic import SyntheticSet, build_synthetic
from evaluation.synthetic.lexicon import LEXICONS, SEED_BASES, clip_seed
from evaluation.synthetic.phrasings import INSTRUCTIONS, QUESTIONS
from evaluation.synthetic.questions import GENERATORS
from evaluation.synthetic.speech import VOICES


@pytest.fixture(scope="module", params=["dev", "heldout"])
def synth(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SyntheticSet:
    return build_synthetic(tmp_path_factory.mktemp(request.param), clips=1, split=request.param)


def truth(synth: SyntheticSet) -> dict[str, Any]:
    clip: dict[str, Any] = json.loads(synth.truth.read_text())["clips"][0]
    return clip


def test_both_formats_load_through_the_suite(synth: SyntheticSet) -> None:
    suite = load_suite([synth.ovo, *synth.streamingbench], synth.root)
    assert suite.problems == []
    assert len(suite.queries) == synth.questions >= 10
    keys = {q.key for q in suite.queries}
    assert keys == {item["key"] for item in truth(synth)["items"]}
    assert {f.benchmark for f in suite.files} == {"ovo-bench", "streamingbench"}
    proactive = [q for q in suite.queries if q.rule == "proactive"]
    assert proactive and all(q.instruction and q.expected_time for q in proactive)
    assert all(q.video.name == f"synth_{synth.split}_0.mp4" for q in suite.queries)


def test_every_option_list_holds_the_answer_once(synth: SyntheticSet) -> None:
    for record in json.loads(synth.ovo.read_text()):
        options = record["options"]
        assert len(options) == len(set(options)) == 4
        assert options.count(record["answer"]) == 1 and options[record["gt"]] == record["answer"]
    for path in synth.streamingbench:
        for entry in json.loads(path.read_text()):
            for question in entry["questions"]:
                if "options" not in question:
                    continue
                texts = [o[3:] for o in question["options"]]
                assert [o[:3] for o in question["options"]] == ["A. ", "B. ", "C. ", "D. "]
                assert len(set(texts)) == 4 and question["answer"] in "ABCD"


def test_proactive_moments_are_in_the_clip_and_happen_then(synth: SyntheticSet) -> None:
    clip = truth(synth)
    instructions = [i for i in clip["items"] if i["due"] is not None]
    assert instructions
    for item in instructions:
        assert 1 <= item["at"] < item["due"] and item["due"] + 4 <= clip["duration"]
        output = item["output"]
        if item["kind"] == "listen_word":
            lines = [s for s in clip["said"] if re.search(rf"\b{output}\b", s["text"])]
            assert len(lines) == 1 and math.floor(lines[0]["subject_at"]) == item["due"]
            assert lines[0]["start"] <= lines[0]["subject_at"] < lines[0]["end"]
        else:
            field = "colour" if item["kind"] == "watch_colour" else "text"
            hits = [s["t0"] for s in clip["shown"] if s[field] == output]
            assert min(hits) == item["due"]  # first shown then, never before
    for path in synth.streamingbench:
        for entry in json.loads(path.read_text()):
            for question in entry["questions"]:
                if "ground_truth_time_stamp" in question:
                    assert seconds(question["ground_truth_time_stamp"]) + 4 <= clip["duration"]


def test_answers_follow_from_what_is_shown_and_said_by_then(synth: SyntheticSet) -> None:
    clip = truth(synth)
    shown, said = clip["shown"], clip["said"]
    for item in clip["items"]:
        at, kind = item["at"], item["kind"]
        if item["answer"] is None:
            continue
        right = item["options"][item["answer"]]
        visible = [s for s in shown if s["t0"] + 1 <= at < s["t1"]]
        if kind in ("sign_text", "card_text"):
            assert right in [s["text"] for s in visible if not s["partner"]]
            assert any(o in [s["text"] for s in visible] for o in item["options"] if o != right)
        elif kind in ("screen_colour", "card_colour"):
            assert right in [s["colour"] for s in visible]
        elif kind == "count_cards":
            assert int(right) == sum(s["kind"] == "card" and s["t0"] <= at - 2 for s in shown)
        elif kind.startswith("said_"):
            fact_kind = {"said_room": "room", "said_place": "item", "said_time": "time"}[kind]
            value = right.removeprefix("Room ").removeprefix("the ").removesuffix(" o'clock")
            line = next(
                s
                for s in said
                if s["fact"] and s["fact"]["kind"] == fact_kind and s["fact"]["value"] == value
            )
            assert line["speaker"] in item["text"] and line["end"] < at
        elif kind == "who_said":
            line = next(s for s in said if s["fact"] and s["fact"]["subject"] in item["text"])
            assert line["speaker"] == right and line["end"] < at


def test_splits_share_no_seed_phrasing_word_or_name() -> None:
    assert clip_seed("dev", 99_999) < SEED_BASES["heldout"] == clip_seed("heldout", 0)
    for pools in (QUESTIONS, INSTRUCTIONS):
        for kind, by_split in pools.items():
            assert len(by_split["dev"]) >= 3 and len(by_split["heldout"]) >= 3, kind
            assert not set(by_split["dev"]) & set(by_split["heldout"]), kind
    assert set(GENERATORS) <= set(QUESTIONS)
    dev, heldout = LEXICONS["dev"], LEXICONS["heldout"]
    for field in (
        "sign_labels",
        "scene_labels",
        "card_words",
        "status_words",
        "names",
        "topics",
        "items",
        "places",
        "vehicles",
        "rooms",
        "hours",
        "sign_numbers",
        "intros",
        "room_facts",
        "item_facts",
        "time_facts",
        "fillers",
    ):
        mine, theirs = getattr(dev, field), getattr(heldout, field)
        assert not set(mine) & set(theirs), field
    words = {w for lex in (dev, heldout) for w in (*lex.card_words, *lex.status_words)}
    assert len(words) == len(
        dev.card_words + dev.status_words + heldout.card_words + heldout.status_words
    )


def test_a_clip_mixes_engines_and_named_speakers(synth: SyntheticSet) -> None:
    clip = truth(synth)
    intros = [s for s in clip["said"] if s["intro"]]
    assert 2 <= len(intros) <= 4
    assert len({s["voice"].split(":")[0] for s in intros}) >= 2
    assert all(s["speaker"] in s["text"] for s in intros)
    assert {s["voice"] for s in clip["said"]} <= {v for v, _ in VOICES}
    names = {n for n, _ in LEXICONS[synth.split].names}  # type: ignore[index]
    assert {s["speaker"] for s in intros} <= names
    assert 20 <= clip["duration"] <= 45


def _normal(text: str) -> str:
    """Upper case, letters and digits only, the letter O for a zero (Hershey fonts draw them
    alike, and so OCR reads "ROOM" as "RO0M" now and then)."""
    return re.sub(r"[^A-Z0-9]", "", text.upper()).replace("0", "O")


def test_the_projects_ocr_reads_the_text_and_names_the_colours(synth: SyntheticSet) -> None:
    from perception.encoders.cpu import colour_names
    from perception.ocr import TextReader

    clip = truth(synth)
    wanted = {round((s["t0"] + 1.5) * 10): s for s in clip["shown"] if s["kind"] != "label"}
    frames: dict[int, np.ndarray] = {}
    with av.open(str(synth.root / "videos" / f"{clip['name']}.mp4")) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                frames[index] = frame.to_ndarray(format="bgr24")
    reader = TextReader()
    for index, element in wanted.items():
        image = frames[index]
        read = [_normal(line.text) for line in reader.read(image)]
        print(element["kind"], element["text"], read)
        if element["text"]:
            assert _normal(element["text"]) in read
        small = cv2.cvtColor(
            cv2.resize(image, (64, 48), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2HSV
        )
        if element["kind"] == "panel":
            assert colour_names(small)[0] == element["colour"]
        elif element["kind"] == "card":
            assert element["colour"] in colour_names(small)


def test_a_clip_on_disk_is_not_rendered_again(synth: SyntheticSet) -> None:
    video = synth.root / "videos" / f"synth_{synth.split}_0.mp4"
    before = video.stat().st_mtime_ns
    again = build_synthetic(synth.root, clips=1, split=synth.split)
    assert video.stat().st_mtime_ns == before
    assert Path(again.ovo).read_text() == synth.ovo.read_text()
