"""Stage actors killed mid-stream, one at a time, while a paced clip plays through the graph.

Each is restarted by Ray and set up again by the supervisor; the stream goes on from its live
edge to the end; a question asked after the kill is answered; an answer in flight when the
reaction stage died is asked again and answered; long-term memory written before the kill is
on disk afterwards, in the same session.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import ray

from evaluation.demo import BuiltClip, Overlay, build_clip, clip_info
from evaluation.samples import sample_video
from memory.lancedb_store import LanceStore
from memory.scope import Scope
from runtime.config import load_config
from runtime.graph import StreamGraph
from runtime.session import RunOutcome, play
from runtime.stages import ModelPaths
from vigil.items import Item, Observation, ResponseDelta, Trigger

pytestmark = pytest.mark.slow

DURATION = 20.0
KILL_AT = 6.0
AFTER = "What does the sign say?"
AFTER_AT = 12.0
LONG = "Spell out the numbers from one to thirty in words, separated by commas."


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> BuiltClip:
    path = build_clip(
        sample_video("vtest.avi"),
        tmp_path_factory.mktemp("faults") / "sign.mp4",
        start=30.0,
        duration=DURATION,
        overlays=[Overlay(text="GATE 7 CLOSED", t0=0.0, t1=DURATION, position="top")],
    )
    return clip_info(Path(path))


def run_and_kill(
    stage: str, clip: BuiltClip, paths: ModelPaths, store: Path, *, kills: int = 1
) -> tuple[RunOutcome, float]:
    """Play the clip; kill ``stage``'s process once perception has passed ``KILL_AT`` (the
    reaction stage: at the first piece of each try at the long answer, up to ``kills`` tries).
    Returns the outcome and the first kill's time."""
    config = load_config(
        memory={"persistent": True, "path": str(store), "tenant": "faults"},
        runtime={"supervise_interval_s": 0.5},
        reaction={"max_tokens": 120},
    )
    killed: list[float] = []
    long_ids: set[str] = set()  # the reaction stage's kills: the long answer's request
    tries_killed: set[str] = set()  # and the response ids of its tries killed

    async def main() -> RunOutcome:
        graph = await StreamGraph.start(
            config, paths, stream_id=f"kill-{stage}", source=str(clip.path), paced=True
        )

        def on_event(item: Item) -> None:
            if isinstance(item, Trigger) and item.request.text == LONG:
                long_ids.add(item.request.request_id)
            if stage == "reaction":
                # A try's pieces still queued when it was killed must not kill its retry early.
                due = (
                    isinstance(item, ResponseDelta)
                    and item.request_id in long_ids
                    and item.response_id not in tries_killed
                )
                if due:
                    tries_killed.add(item.response_id)
            else:
                due = isinstance(item, Observation) and item.media_time >= KILL_AT
            if due and len(killed) < kills:
                ray.kill(getattr(graph, stage), no_restart=False)  # as the OOM killer would
                killed.append(item.media_time)

        try:
            asks = [(LONG, 2.0), (AFTER, AFTER_AT)] if stage == "reaction" else [(AFTER, AFTER_AT)]
            return await play(config, graph, asks=asks, on_event=on_event)
        finally:
            graph.stop()

    started = time.monotonic()
    outcome = asyncio.run(main())
    print(f"{stage} killed at {killed[0]:.1f} s: run took {time.monotonic() - started:.1f} s")
    return outcome, killed[0]


@pytest.mark.parametrize("stage", ["perception", "decision", "reaction", "memory"])
def test_a_killed_stage_is_restarted_and_the_stream_goes_on(
    ray_cluster: None, model_paths: ModelPaths, clip: BuiltClip, tmp_path: Path, stage: str
) -> None:
    outcome, killed_at = run_and_kill(stage, clip, model_paths, tmp_path / "memory")
    assert outcome.restarts == {stage: 1}, [e.message for e in outcome.errors]
    assert not any(e.fatal for e in outcome.errors)
    seen = [o.media_time for o in outcome.observations]
    assert max(seen) >= DURATION - 2.0, "the stream did not go on to its end"
    assert sum(t > killed_at + 2.0 for t in seen) >= 5
    answers = {r.question: r for r in outcome.responses if not r.cancelled}
    assert answers[AFTER].text.strip(), "the question after the restart was not answered"
    if stage == "reaction":  # in flight when it died: asked again, and answered
        assert answers[LONG].text.strip()
    if stage == "perception":  # resumed at the live edge, not replayed from the start
        before = [t for t in seen if t <= killed_at]
        assert len(before) == len(set(before))
    rows = LanceStore(tmp_path / "memory").rows(Scope(tenant="faults"))
    assert {r.session for r in rows if r.kind != "summary"} == {rows[0].session}
    assert any(r.media_t1 < killed_at for r in rows), "memory from before the kill is gone"
    assert any(r.media_t1 > killed_at + 2.0 for r in rows)


def test_an_answer_whose_stage_dies_twice_is_reported_failed(
    ray_cluster: None, model_paths: ModelPaths, clip: BuiltClip, tmp_path: Path
) -> None:
    outcome, _ = run_and_kill("reaction", clip, model_paths, tmp_path / "memory", kills=2)
    assert outcome.restarts == {"reaction": 2}, [e.message for e in outcome.errors]
    assert not any(e.fatal for e in outcome.errors)
    failed = {e.message for e in outcome.errors if e.stage == "reaction" and e.request_id}
    # The later question may have been waiting behind it through both restarts, and go too.
    assert f"answer to {LONG!r} failed: the reaction stage died twice while answering it" in failed
    answered = {r.question for r in outcome.responses if not r.cancelled}
    assert LONG not in answered, "the answer lost twice was kept waiting or made up"
    assert max(o.media_time for o in outcome.observations) >= DURATION - 2.0
