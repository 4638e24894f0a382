"""The report folder: official result files, scores, timing, tables, PNG plots, an HTML page."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
from rich.table import Table

from evaluation.resultlog import ResultLog
from evaluation.suite import Suite
from evaluation.timing import timing_summary

__all__ = ["build_report", "save_figure", "score_table"]


def build_report(
    suite: Suite, log: ResultLog, out: Path, runs: list[dict[str, Any]], config: dict[str, Any]
) -> dict[str, Any]:
    """Write everything under ``out`` and return the summary that ``report.json`` holds."""
    (out / "results").mkdir(parents=True, exist_ok=True)
    scores = {}
    for bench in suite.files:
        result = bench.write(log.answers)
        (out / "results" / f"{bench.path.stem}.json").write_text(json.dumps(result, indent=1))
        scores[bench.path.name] = {"benchmark": bench.benchmark, **bench.score(result)}
    timing = timing_summary(suite.queries, log.answers)
    summary = {
        "config": config,
        "scores": scores,
        "timing": {k: v for k, v in timing.items() if k != "raw"},
        "runs": runs,
        "speed": _speed(runs, config.get("sample_rate_hz", 1.0)),
        "problems": [{"key": p.key, "message": p.message} for p in suite.problems],
        "errors": [a for a in log.answers.values() if a.get("error")],
    }
    (out / "report.json").write_text(json.dumps(summary, indent=1))
    (out / "tables.md").write_text(_markdown(scores))
    plots = _plots(scores, timing["raw"], out)
    (out / "index.html").write_text(_html(summary, plots))
    return summary


def _speed(runs: list[dict[str, Any]], rate: float) -> dict[str, Any]:
    media = sum(r["media_seconds"] for r in runs)
    play = sum(r["play_seconds"] for r in runs)
    wall = sum(r["wall_seconds"] for r in runs)
    expected = sum(int(r["media_seconds"] * rate) + 1 for r in runs)
    seen = sum(r["observations"] for r in runs)
    return {
        "media_seconds": round(media, 2),
        "play_seconds": round(play, 2),
        "wall_seconds": round(wall, 2),
        "realtime_factor_play": round(media / play, 2) if play else None,
        "realtime_factor_wall": round(media / wall, 2) if wall else None,
        "sampled_frames": expected,
        "analysed_frames": seen,
        "sampled_frames_not_analysed": max(0, expected - seen),
    }


def _rows(scores: dict[str, Any]) -> list[tuple[str, str, str, int, str]]:
    rows = []
    for name, score in scores.items():
        for task, value in sorted(score["tasks"].items()):
            rows.append((name, task, f"{value:.1f}", score["counts"][task], ""))
        for category, value in score.get("categories", {}).items():
            rows.append((name, category, f"{value:.1f}", 0, "category mean"))
        if score["overall"] is not None:
            rows.append((name, "OVERALL", f"{score['overall']:.2f}", 0, "official overall"))
    return rows


def score_table(summary: dict[str, Any]) -> Table:
    """The accuracy table printed at the end of ``vigil eval``."""
    table = Table("file", "task", "accuracy %", "n", "note", title="official scores")
    for name, task, value, n, note in _rows(summary["scores"]):
        table.add_row(name, task, value, str(n or ""), note)
    return table


def _markdown(scores: dict[str, Any]) -> str:
    lines = ["| file | task | accuracy % | n | note |", "|---|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d or ''} | {e} |" for a, b, c, d, e in _rows(scores)]
    return "\n".join(lines) + "\n"


def _plots(scores: dict[str, Any], raw: dict[str, list[float]], out: Path) -> list[str]:
    names = []
    tasks = [(f"{s['benchmark']}:{t}", v) for s in scores.values() for t, v in s["tasks"].items()]
    if tasks:
        fig, ax = plt.subplots(figsize=(8, 0.4 * len(tasks) + 1.5))
        ax.barh([t for t, _ in tasks], [v for _, v in tasks], color="#4a7bd0")
        ax.set_xlim(0, 100)
        ax.set_xlabel("accuracy (%)")
        ax.set_title("Accuracy per task (official rules)")
        names.append(save_figure(fig, out / "accuracy.png"))
    for key, title, label in (
        ("latency", "Answer latency (end of question to first token)", "seconds"),
        ("timing_error", "Proactive timing error (pushed minus due)", "seconds"),
    ):
        if raw[key]:
            fig, ax = plt.subplots(figsize=(6, 3.5))
            ax.hist(raw[key], bins=min(20, max(5, len(raw[key]))), color="#d07a4a")
            ax.set_xlabel(label)
            ax.set_ylabel("answers")
            ax.set_title(title)
            names.append(save_figure(fig, out / f"{key}.png"))
    return names


def save_figure(fig: Any, path: Path) -> str:
    """Write ``fig`` as a PNG under ``path`` and close it; the file name, for the HTML page."""
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


def _html(summary: dict[str, Any], plots: list[str]) -> str:
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
        for row in _rows(summary["scores"])
    )
    images = "".join(f'<p><img src="{name}" alt="{name}"></p>' for name in plots)
    problems = "".join(
        f"<li>{html.escape(p['key'])}: {html.escape(p['message'])}</li>"
        for p in summary["problems"] + summary["errors"]
        if "message" in p or p.get("error")
        for p in [{"key": p["key"], "message": p.get("message") or p.get("error")}]
    )
    pre = html.escape(json.dumps({k: summary[k] for k in ("timing", "speed", "config")}, indent=1))
    return (
        "<!doctype html><meta charset=utf-8><title>Vigil evaluation</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;border:1px solid #ccc}"
        "table{border-collapse:collapse}</style><h1>Vigil evaluation</h1>"
        "<table><tr><th>file</th><th>task</th><th>accuracy %</th><th>n</th><th>note</th></tr>"
        f"{rows}</table>{images}<h2>Timing and speed</h2><pre>{pre}</pre>"
        f"<h2>Items not evaluated</h2><ul>{problems or '<li>none</li>'}</ul>"
    )
