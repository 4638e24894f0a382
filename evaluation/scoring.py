"""The official scoring rules of OVO-Bench and StreamingBench, applied to result files.

Kept literal on purpose, quirks included, so that numbers compare with published ones. Checked
against OVO-Bench's ``utils/OVOBenchScore.py`` and StreamingBench's ``src/data/count.py``:

- OVO-Bench multiple choice: the ground-truth letter appears anywhere in the response
  (``gt in response``); REC: the digits of the response, joined, equal the count; SSR and CRR:
  the response is exactly "Y"/"N", or contains "Yes"/"No", matching ``type``. Every probe of a
  forward record is one item. Accuracy per task; a category is the mean of the accuracies of
  the tasks found in its list (``backward``, ``realtime``, ``forward``); the overall score is
  the mean of the category means. All in percent.
- StreamingBench multiple choice: the first character of the response equals the answer
  letter. Proactive Output: the time of the last ``dialog_history`` entry is within 2 s of
  ``ground_truth_time_stamp`` and its content contains ``ground_truth_output`` (case kept, as
  ``count.py`` does). A question without the model's key is not counted. Accuracy per task and
  overall, pooled over questions.

Where the official scripts crash or silently skip (a null, a list where a string belongs, a
missing field, an empty answer) the item counts as wrong and a warning names it, so that a bad
record can neither stop the scoring nor raise the score by being left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from statistics import fmean
from typing import Any

from evaluation.formats.ovo import CATEGORIES
from evaluation.formats.streamingbench import seconds
from evaluation.tally import Tally, text_problem

__all__ = [
    "ovo_choice",
    "ovo_count",
    "ovo_scores",
    "ovo_summary",
    "ovo_tally",
    "ovo_yesno",
    "sb_choice",
    "sb_proactive",
    "sb_scores",
    "sb_summary",
    "sb_tally",
]

_HOME = {task: category for category, tasks in CATEGORIES.items() for task in tasks}
_ORDER = {task: index for index, task in enumerate(_HOME)}


def ovo_choice(response: str | None, letter: str) -> int:
    """``gt in response``: any occurrence of the capital letter counts, as officially."""
    return int(response is not None and letter in response)


def ovo_count(response: str | None, count: int | str) -> int:
    """REC: all digits of the response joined ("1 and 2" reads 12) equal the count."""
    return int(response is not None and "".join(re.findall(r"\d+", response)) == str(count))


def ovo_yesno(response: str | None, kind: int) -> int:
    """SSR and CRR: exactly "Y"/"N", or "Yes"/"No" anywhere (capitalised) for type 1/0."""
    if response is None:
        return 0
    if (response == "N" and kind == 0) or (response == "Y" and kind == 1):
        return 1
    return int(("No" in response and kind == 0) or ("Yes" in response and kind == 1))


def sb_choice(response: str, answer: str) -> int:
    """The first character is the letter ("B. a dog" is B; " B" is not)."""
    return int(response[:1] == answer)


def sb_proactive(answered: float | bool | None, output: str, due: float, expected: str) -> int:
    """Said at most 2 s from ``due`` (either side) and containing ``expected``, case kept."""
    if answered is False or answered is None:
        return 0
    return int(abs(float(answered) - due) <= 2 and expected in output)


def ovo_scores(results: Any, origin: str = "result file") -> dict[str, Any]:
    """Per-task accuracy, category means and the overall score of one OVO-Bench result file."""
    return ovo_summary(ovo_tally(results, origin))


def sb_scores(entries: Any, model: str = "vigil", origin: str = "result file") -> dict[str, Any]:
    """Per-task and overall accuracy (percent) of one StreamingBench result file."""
    return sb_summary(sb_tally(entries, model, origin))


def ovo_tally(results: Any, origin: str, tally: Tally | None = None) -> Tally:
    """Add every item of an OVO-Bench result file to ``tally`` (a new one if none).

    The official scorer concatenates the ``backward``, ``realtime`` and ``forward`` lists of
    all files of a model before scoring, so adding several files to one tally merges them.
    """
    tally = tally if tally is not None else Tally()
    if not isinstance(results, Mapping):
        tally.warn(origin, "not an OVO-Bench result file (an object of three lists); skipped")
        return tally
    for category in CATEGORIES:
        items = results.get(category)
        if not isinstance(items, list):
            tally.warn(origin, f"no {category!r} list; read as empty")
            continue
        for index, item in enumerate(items):
            task = item.get("task") if isinstance(item, Mapping) else None
            where = f"{origin}, {task or '?'}, id {_id(item, index)}"
            if not isinstance(item, Mapping) or not isinstance(task, str):
                tally.warn(where, "a record without a task; skipped")
            elif category == "forward":
                _forward(item, task, where, tally)
            else:
                tally.add(category, task, _choice(item, where, tally))
    return tally


def _id(item: Any, index: int) -> str:
    found = item.get("id") if isinstance(item, Mapping) else None
    return str(found) if found is not None else f"#{index}"


def _choice(item: Mapping[str, Any], where: str, tally: Tally) -> int:
    letter = item.get("ground_truth")
    if problem := text_problem(item, "response"):
        return tally.wrong(where, problem)
    if not isinstance(letter, str) or not letter:
        return tally.wrong(where, "'ground_truth' is not a letter")
    return ovo_choice(item["response"], letter)


def _forward(item: Mapping[str, Any], task: str, where: str, tally: Tally) -> None:
    probes = item.get("test_info")
    if task not in CATEGORIES["forward"] or not isinstance(probes, list):
        tally.warn(where, "not a forward record (REC, SSR or CRR with test_info); skipped")
        return
    for index, probe in enumerate(probes):
        tally.add("forward", task, _probe(task, probe, f"{where}, probe {index}", tally))


def _probe(task: str, probe: Any, where: str, tally: Tally) -> int:
    if not isinstance(probe, Mapping):
        return tally.wrong(where, "the probe is not an object")
    if problem := text_problem(probe, "response"):
        return tally.wrong(where, problem)
    if task == "REC":
        count = probe.get("count")
        if not isinstance(count, int | str):
            return tally.wrong(where, "no 'count'")
        return ovo_count(probe["response"], count)
    kind = probe.get("type")
    if kind not in (0, 1):
        return tally.wrong(where, "'type' is not 0 or 1")
    return ovo_yesno(probe["response"], kind)


def ovo_summary(tally: Tally) -> dict[str, Any]:
    """Tasks in the official order, category means, the overall mean, and the warnings.

    A category is the list a record came in, as in the official scorer; a task found in
    another category's list, or an unknown one, is shown as ``TASK (category)``.
    """
    tasks: dict[str, float] = {}
    counts: dict[str, int] = {}
    categories: dict[str, float] = {}
    for category in CATEGORIES:
        found = sorted(
            ((t, s) for (c, t), s in tally.scores.items() if c == category),
            key=lambda pair: (_ORDER.get(pair[0], len(_ORDER)), pair[0]),
        )
        for task, scores in found:
            name = task if _HOME.get(task) == category else f"{task} ({category})"
            tasks[name], counts[name] = 100 * fmean(scores), len(scores)
        if found:
            categories[category] = fmean(100 * fmean(scores) for _, scores in found)
    warnings = list(tally.warnings)
    if categories and len(categories) < len(CATEGORIES):
        warnings.append(
            f"overall is the mean of {', '.join(categories)} only; the official overall "
            "averages all three categories"
        )
    return {
        "tasks": tasks,
        "counts": counts,
        "categories": categories,
        "overall": fmean(categories.values()) if categories else None,
        "items": sum(counts.values()),
        "warnings": warnings,
    }


def sb_tally(entries: Any, model: str, origin: str, tally: Tally | None = None) -> Tally:
    """Add the questions that carry ``model``'s answer to ``tally`` (a new one if none).

    Videos may be nested one level (``questions_sqa.json``); a question without the model's
    key was not asked and is not counted, as in the official ``count.py``.
    """
    tally = tally if tally is not None else Tally()
    if not isinstance(entries, list):
        tally.warn(origin, "not a StreamingBench result file (a list of videos); skipped")
        return tally
    for v, entry in enumerate(_videos(entries)):
        questions = entry.get("questions") if isinstance(entry, Mapping) else None
        if not isinstance(questions, list):
            tally.warn(f"{origin}, video {v}", "no questions list; skipped")
            continue
        for q, question in enumerate(questions):
            if not isinstance(question, Mapping) or model not in question:
                continue
            task = question.get("task_type")
            where = f"{origin}, {task or '?'}, video {v} question {q}"
            if not isinstance(task, str):
                tally.warn(where, "a question without task_type; skipped")
            elif "ground_truth_time_stamp" in question:
                tally.add("", task, _proactive(question, model, where, tally))
            else:
                tally.add("", task, _letter(question, model, where, tally))
    return tally


def _videos(entries: list[Any]) -> Iterator[Any]:
    for entry in entries:
        if isinstance(entry, list):
            yield from _videos(entry)
        else:
            yield entry


def _letter(question: Mapping[str, Any], model: str, where: str, tally: Tally) -> int:
    answer = question.get("answer")
    if problem := text_problem(question, model, empty=True):
        return tally.wrong(where, problem)
    if not isinstance(answer, str) or not answer:
        return tally.wrong(where, "'answer' is not a letter")
    return sb_choice(question[model], answer)


def _proactive(question: Mapping[str, Any], model: str, where: str, tally: Tally) -> int:
    answer = question[model]
    history = answer.get("dialog_history") if isinstance(answer, Mapping) else None
    last = history[-1] if isinstance(history, list) and history else None
    if not isinstance(last, Mapping):
        return tally.wrong(where, f"{model!r} has no dialog_history")
    time, expected = last.get("time"), question.get("ground_truth_output")
    if time is None and answer.get("answered") is False:
        return 0  # never answered (Vigil writes a null time then): wrong, not malformed
    if problem := text_problem(last, "content"):
        return tally.wrong(where, f"last dialog entry: {problem}")
    if not isinstance(time, int | float) or isinstance(time, bool):
        return tally.wrong(where, "the last dialog time is not a number")
    try:
        due = seconds(question["ground_truth_time_stamp"])
    except (AttributeError, TypeError, ValueError):
        return tally.wrong(where, "bad 'ground_truth_time_stamp'")
    if not isinstance(expected, str):
        return tally.wrong(where, "'ground_truth_output' is not a string")
    return sb_proactive(time, last["content"], due, expected)


def sb_summary(tally: Tally) -> dict[str, Any]:
    """Per-task accuracy in first-seen order, the overall pooled over questions, the warnings."""
    pooled = [s for scores in tally.scores.values() for s in scores]
    return {
        "tasks": {task: 100 * fmean(scores) for (_, task), scores in tally.scores.items()},
        "counts": {task: len(scores) for (_, task), scores in tally.scores.items()},
        "overall": 100 * fmean(pooled) if pooled else None,
        "items": len(pooled),
        "warnings": list(tally.warnings),
    }
