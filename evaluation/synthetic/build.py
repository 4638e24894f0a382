"""Building the set: clips planned, spoken, rendered, asked about, written in both formats.

Each question kind is written as an OVO-Bench record, a StreamingBench question, or (where both
benchmarks have a task it fits) alternately one and the other from clip to clip. Next to the
annotation files, ``truth_synthetic_<split>.json`` holds every clip's timeline (what was drawn
where and when, who said what when, on which voice) and, per question, its kind, phrasing
index and the key the evaluation gives it (``ovo:<id>``, ``sb:<file>:<video>:<question>``), so
that scores can be broken down by kind.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evaluation.synthetic.drawing import PALETTE
from evaluation.synthetic.lexicon import LEXICONS, Split, clip_seed
from evaluation.synthetic.proactive import INSTRUCTION_GENERATORS
from evaluation.synthetic.questions import GENERATORS, Item, Picker
from evaluation.synthetic.render import render_clip
from evaluation.synthetic.speech import plan_speech, synthesise
from evaluation.synthetic.timeline import FOOTAGE, Clip, plan_footage, plan_visuals

__all__ = ["DEFAULT_CLIPS", "TASKS", "SyntheticSet", "build_synthetic", "stamp"]

DEFAULT_CLIPS = 5

# kind: (OVO-Bench task, StreamingBench task, StreamingBench required_ability); None: no fit.
TASKS: dict[str, tuple[str | None, str | None, str]] = {
    "sign_text": ("OCR", "Text-Rich Understanding", "working memory"),
    "card_text": ("OCR", "Text-Rich Understanding", "working memory"),
    "screen_colour": ("ATR", "Attribute Recognition", "working memory"),
    "card_colour": ("ATR", "Attribute Recognition", "working memory"),
    "shown_earlier": ("EPM", "Text-Rich Understanding", "episodic memory"),
    "said_room": ("EPM", "Source Discrimination", "episodic memory"),
    "said_place": ("EPM", "Source Discrimination", "episodic memory"),
    "said_time": ("EPM", "Source Discrimination", "episodic memory"),
    "who_said": ("EPM", "Source Discrimination", "episodic memory"),
    "count_cards": (None, "Counting", "episodic memory"),
    "count_speakers": (None, "Counting", "episodic memory"),
    "order_first": ("ASI", "Event Understanding", "episodic memory"),
    "order_next": ("ASI", "Event Understanding", "episodic memory"),
    **{kind: (None, "Proactive Output", "working memory") for kind in INSTRUCTION_GENERATORS},
}
# StreamingBench files by task: its omni-source file holds Source Discrimination.
_SB_FILES = {"Source Discrimination": "omni", "Proactive Output": "proactive"}
_FILES = ("real", "omni", "proactive")


@dataclass(frozen=True, slots=True)
class SyntheticSet:
    """Where the set was written: the video folder, one OVO-Bench file, the StreamingBench
    files that have questions (real, omni, proactive, in that order), the ground truth."""

    root: Path
    split: Split
    ovo: Path
    streamingbench: tuple[Path, ...]
    truth: Path
    questions: int
    clips: int


def stamp(t: float) -> str:
    t = int(t)
    return f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}"


def build_synthetic(out: Path, clips: int = DEFAULT_CLIPS, split: Split = "dev") -> SyntheticSet:
    """Write ``clips`` videos of ``split`` under ``out/videos`` and their questions."""
    if split not in LEXICONS:
        raise ValueError(f"unknown split {split!r}: use dev or heldout")
    (out / "videos").mkdir(parents=True, exist_ok=True)
    ovo: list[dict[str, Any]] = []
    sb: dict[str, list[dict[str, Any]]] = {name: [] for name in _FILES}
    truth = []
    for index in range(clips):
        clip, items = _make_clip(out, split, index)
        keyed = _write_items(clip, index, items, ovo, sb)
        truth.append({**asdict(clip), "items": keyed})
    suffix = f"synthetic_{split}"
    ovo_path = out / f"ovo_{suffix}.json"
    ovo_path.write_text(json.dumps(ovo, indent=1))
    sb_paths = []
    for name in _FILES:
        if sb[name]:
            path = out / f"questions_{name}_{suffix}.json"
            path.write_text(json.dumps(sb[name], indent=1))
            sb_paths.append(path)
    truth_path = out / f"truth_{suffix}.json"
    truth_path.write_text(json.dumps({"split": split, "clips": truth}, indent=1))
    count = sum(len(c["items"]) for c in truth)
    return SyntheticSet(out, split, ovo_path, tuple(sb_paths), truth_path, count, clips)


def _make_clip(out: Path, split: Split, index: int) -> tuple[Clip, list[Item]]:
    """Plan, speak and render clip ``index`` (rendering skipped when the same clip is on
    disk), then ask about it: instructions first, as their windows are the narrowest."""
    seed = clip_seed(split, index)
    rng = random.Random(seed)
    lexicon = LEXICONS[split]
    said, speech = synthesise(rng, plan_speech(rng, lexicon))
    duration = min(45, max(math.ceil(said[-1].end) + rng.randint(4, 8), rng.randint(30, 40)))
    footage = plan_footage(rng, duration)
    palette = [c for c in PALETTE if c not in FOOTAGE[footage.sample][2]]
    shown = plan_visuals(rng, lexicon, duration, palette)
    clip = Clip(
        name=f"synth_{split}_{index}",
        split=split,
        seed=seed,
        duration=duration,
        footage=footage,
        shown=shown,
        said=said,
        palette=tuple(palette),
    )
    video = out / "videos" / f"{clip.name}.mp4"
    plan = out / "videos" / f"{clip.name}.json"
    described = json.dumps(asdict(clip), sort_keys=True)
    if not (video.exists() and plan.exists() and plan.read_text() == described):
        render_clip(clip, speech, str(video), rng)
        plan.write_text(described)
    picker = Picker(clip, random.Random(f"questions-{seed}"))  # not another clip's seed
    items = []
    for make in [*INSTRUCTION_GENERATORS.values(), *GENERATORS.values()]:
        item = make(picker)
        if item is not None:
            items.append(item)
    return clip, sorted(items, key=lambda item: item.at)


def _write_items(
    clip: Clip,
    index: int,
    items: list[Item],
    ovo: list[dict[str, Any]],
    sb: dict[str, list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Append ``items`` to the OVO-Bench records and StreamingBench files; their truth rows."""
    video = f"videos/{clip.name}.mp4"
    entries = {name: _sb_entry(clip, video) for name in _FILES}
    rows = []
    kinds = list(TASKS)
    for item in items:
        ovo_task, sb_task, ability = TASKS[item.kind]
        use_ovo = ovo_task is not None and (
            sb_task is None or (index + kinds.index(item.kind)) % 2 == 0
        )
        row: dict[str, Any] = {"kind": item.kind, **asdict(item)}
        if use_ovo:
            assert item.answer is not None
            record_id = clip.seed * 100 + len([r for r in ovo if r["video"] == video])
            ovo.append(
                {
                    "id": record_id,
                    "task": ovo_task,
                    "video": video,
                    "realtime": item.at,
                    "question": item.text,
                    "answer": item.options[item.answer],
                    "options": list(item.options),
                    "gt": item.answer,
                }
            )
            row.update(benchmark="ovo-bench", task=ovo_task, key=f"ovo:{record_id}")
        else:
            assert sb_task is not None
            file = _SB_FILES.get(sb_task, "real")
            entry = entries[file]
            entry["questions"].append(_sb_question(item, sb_task, ability))
            row.update(
                benchmark="streamingbench",
                task=sb_task,
                file=file,
                position=len(entry["questions"]) - 1,
            )
        rows.append(row)
    for name, entry in entries.items():
        if entry["questions"]:
            sb[name].append(entry)
            stem = f"questions_{name}_synthetic_{clip.split}"
            for row in rows:
                if row.get("file") == name:  # the key evaluation.formats gives the question
                    row["key"] = f"sb:{stem}:{len(sb[name]) - 1}:{row.pop('position')}"
    return rows


def _sb_entry(clip: Clip, video: str) -> dict[str, Any]:
    return {
        "time": f"[0:00:00 - 0:00:{clip.duration:02d}]",
        "questions": [],
        "video_categories": f"synthetic_{clip.split}",
        "video_path": f"./{video}",
    }


def _sb_question(item: Item, task: str, ability: str) -> dict[str, Any]:
    if item.due is not None:
        return {
            "task_type": task,
            "question": item.text,
            "time_stamp": stamp(item.at),
            "ground_truth_time_stamp": stamp(item.due),
            "ground_truth_output": item.output,
            "required_ability": ability,
        }
    assert item.answer is not None
    return {
        "task_type": task,
        "question": item.text,
        "time_stamp": stamp(item.at),
        "answer": "ABCD"[item.answer],
        "options": [f"{'ABCD'[i]}. {o}" for i, o in enumerate(item.options)],
        "required_ability": ability,
    }
