"""One stream on a Ray cluster of three nodes on this machine (``ray.cluster_utils.Cluster``),
its stages placed by ``runtime.resources``, and the worker node that runs its perception
removed mid-stream.

Run in a process of its own (``python -m tests.multinode_run OUT.json``): it starts a cluster
of its own, which a test session's shared Ray cannot be at the same time. It writes what it
saw as JSON for ``tests/test_multinode.py`` to check: where each stage ran, when the node went,
when perception was back, what was answered and what memory holds.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import ray
from ray.cluster_utils import Cluster

from evaluation.demo import Overlay, build_clip
from evaluation.samples import sample_video
from memory.lancedb_store import LanceStore
from memory.scope import Scope
from runtime.config import VigilConfig, load_config
from runtime.graph import StreamGraph
from runtime.session import play
from runtime.stages import resolve_model_paths
from vigil.items import Item, Observation, StreamError

DURATION = 24.0
REMOVE_AT = 8.0
QUESTION = "What does the sign say?"
ASK_AT = 18.0
ON_HEAD = {"head_node": 0.01}


def main(out: Path) -> None:
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # as a private cluster (ensure_ray)
    os.environ.setdefault("RAY_worker_niceness", "0")
    with tempfile.TemporaryDirectory(prefix="vigil-multinode-") as work:
        _run(out, Path(work))


def _run(out: Path, work: Path) -> None:
    clip = build_clip(
        sample_video("vtest.avi"),
        work / "sign.mp4",
        start=30.0,
        duration=DURATION,
        overlays=[Overlay(text="GATE 7 CLOSED", t0=0.0, t1=DURATION, position="top")],
    )
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 2, "resources": {"head_node": 1}, "include_dashboard": False},
    )
    workers = [cluster.add_node(num_cpus=2, resources={"perception_node": 1}) for _ in range(2)]
    ray.init(address=cluster.address, log_to_driver=False)
    config = load_config(
        memory={"persistent": True, "path": str(work / "memory"), "tenant": "multinode"},
        runtime={
            "supervise_interval_s": 0.5,
            "resources": {
                "perception": {"perception_node": 1},
                **{stage: ON_HEAD for stage in ("decision", "reaction", "memory", "hub")},
            },
        },
        reaction={"max_tokens": 40},
    )
    try:
        report = asyncio.run(_play(config, str(clip), cluster, workers))
        rows = LanceStore(work / "memory").rows(Scope(tenant="multinode"))
        report["memory"] = [[r.kind, r.session, r.media_t0, r.media_t1] for r in rows]
        report["nodes"] = {
            "head": cluster.head_node.node_id,
            "workers": [w.node_id for w in workers],
        }
        out.write_text(json.dumps(report, indent=1))
    finally:
        ray.shutdown()
        cluster.shutdown()


async def _play(
    config: VigilConfig, clip: str, cluster: Cluster, workers: list[Any]
) -> dict[str, Any]:
    paths = resolve_model_paths(config)
    graph = await StreamGraph.start(config, paths, stream_id="multinode", source=clip, paced=True)
    placed = {
        name: await getattr(graph, name).node.remote()
        for name in ("perception", "decision", "reaction")
    }
    removed: dict[str, float] = {}
    resumed: list[float] = []  # when the supervisor had perception playing again
    back: list[float] = []  # when its first observation after that arrived
    loop = asyncio.get_running_loop()

    def on_event(item: Item) -> None:
        if isinstance(item, StreamError) and "perception restarted" in item.message:
            resumed.append(time.monotonic())
        if not isinstance(item, Observation):
            return
        if resumed and not back:
            back.append(time.monotonic())
        if item.media_time >= REMOVE_AT and not removed:
            node = next(w for w in workers if w.node_id == placed["perception"])
            removed["media"] = item.media_time
            removed["wall"] = time.monotonic()
            loop.run_in_executor(None, cluster.remove_node, node)  # as a machine lost

    try:
        outcome = await play(config, graph, asks=[(QUESTION, ASK_AT)], on_event=on_event)
        after = await graph.perception.node.remote()
    finally:
        graph.stop()
    return {
        "placed": placed,
        "perception_after": after,
        "removed_at_media": removed["media"],
        "resumed_s": resumed[0] - removed["wall"] if resumed else None,
        "recovered_s": back[0] - removed["wall"] if back else None,
        "restarts": outcome.restarts,
        "fatal": [e.message for e in outcome.errors if e.fatal],
        "seen": [o.media_time for o in outcome.observations],
        "answers": {r.question: r.text for r in outcome.responses if not r.cancelled},
    }


if __name__ == "__main__":
    main(Path(sys.argv[1]))
