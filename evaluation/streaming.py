"""Streaming mode: each video is played once through the runtime, questions injected live.

Multiple-choice questions are typed in at their media times; forward and proactive tasks are
registered once as standing instructions and answered when the decision stage fires (or, in
the polling variant, asked again at every probe or every second, as the official offline code
does). Every answer keeps the media time it was given at and its wall latency; forward
probes are answered from what the agent pushed before them (see :func:`probe_response`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evaluation.queries import Query
from runtime.config import VigilConfig
from runtime.session import RunOutcome, run_stream
from runtime.stages import ModelPaths

__all__ = ["probe_response", "stream_video"]

SSR_WINDOW = 10.0  # seconds after a "step started" push during which the step counts as going on


async def stream_video(
    config: VigilConfig,
    queries: Sequence[Query],
    *,
    paced: bool = False,
    polling: bool = False,
    paths: ModelPaths | None = None,
    stream_id: str = "eval-0",
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Play the queries' (single) video once; one answer record per query, plus run stats."""
    asks: list[tuple[str, float]] = []
    whens: list[str] = []
    for query in queries:
        standing = query.instruction is not None and not polling
        if standing and query.instruction not in whens:
            whens.append(query.instruction)  # type: ignore[arg-type]
        elif not standing:
            asks.extend((query.prompt, t) for t in (query.polls or (query.at,)))
    outcome = await run_stream(
        config, str(queries[0].video), stream_id=stream_id, paced=paced, asks=asks,
        whens=whens, paths=paths,
    )  # fmt: skip
    answers = _answers(outcome)
    return [_record(q, answers, polling) for q in queries], _stats(outcome)


def _answers(outcome: RunOutcome) -> dict[tuple[str, float | None], list[dict[str, Any]]]:
    """Responses by (request text, media time asked); instructions under time None."""
    requests = {r.request_id: r for r in outcome.requests}
    found: dict[tuple[str, float | None], list[dict[str, Any]]] = {}
    for response in outcome.responses:
        request = requests.get(response.request_id)
        if request is None or response.cancelled:
            continue
        at = None if request.kind == "instruction" else round(request.media_time, 3)
        # A chosen option is recorded as its letter alone: OVO-Bench's rule counts a letter
        # anywhere in the response, and "B. A parked car" would also count as A.
        found.setdefault((request.text, at), []).append(
            {
                "text": response.choice or response.text,
                "media": response.asked_at,
                "latency": response.latency,
            }
        )
    return found


def _record(
    query: Query, answers: dict[tuple[str, float | None], list[dict[str, Any]]], polling: bool
) -> dict[str, Any]:
    record: dict[str, Any] = {"key": query.key, "asked_at": query.at, "error": None}
    if query.instruction is not None and not polling:
        pushes = [p for p in answers.get((query.instruction, None), []) if p["media"] >= query.at]
        record["pushes"] = pushes
        if query.rule == "proactive":
            first = pushes[0] if pushes else None
            record.update(_first(first))
        else:
            record.update(response=probe_response(query, [p["media"] for p in pushes]))
        return record
    replies = [
        reply
        for t in (query.polls or (query.at,))
        for reply in answers.get((query.prompt, round(t, 3)), [])
    ]
    if query.rule == "proactive":  # polling: the first "yes" is the emission
        record.update(_first(next((r for r in replies if "yes" in r["text"].lower()), None)))
        record["polls"] = len(replies)
    else:
        record.update(_first(replies[0] if replies else None))
    if not replies:
        record["error"] = "no answer came back"
    return record


def _first(reply: dict[str, Any] | None) -> dict[str, Any]:
    if reply is None:
        return {"response": None, "emitted_at": None, "latency": None}
    return {"response": reply["text"], "emitted_at": reply["media"], "latency": reply["latency"]}


def probe_response(query: Query, pushes: Sequence[float]) -> str:
    """The answer a forward probe gets from the pushes (media times) before it.

    REC: how many times the agent reported the action; CRR: whether it said the question had
    become answerable; SSR: whether it reported the step starting in the last
    :data:`SSR_WINDOW` seconds.
    """
    before = [t for t in pushes if t <= query.at]
    if query.task == "REC":
        return str(len(before))
    if query.task == "SSR":
        return "Yes" if any(query.at - t <= SSR_WINDOW for t in before) else "No"
    return "Yes" if before else "No"


def _stats(outcome: RunOutcome) -> dict[str, Any]:
    stats = outcome.perception
    video = (stats.hops.get("video", {}) if stats else {}) or {}
    return {
        "media_seconds": stats.media_end if stats else 0.0,
        "play_seconds": stats.play_seconds if stats else 0.0,
        "wall_seconds": outcome.wall_seconds,
        "startup_seconds": outcome.startup_seconds,
        "observations": stats.observations if stats else 0,
        "sampled_dropped": video.get("dropped", 0),
        "understood": [[text, condition] for text, condition in outcome.understood],
    }
