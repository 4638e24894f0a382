"""The working memory keeps what each stream saw and heard, bounded, in media-time order."""

from __future__ import annotations

import numpy as np

from memory import MemoryStore, Retention
from vigil.items import Observation, Request, Utterance, VideoFrame, new_id


def obs(stream: str, t: float, people: int = 0) -> Observation:
    return Observation(stream_id=stream, media_time=t, frame_index=0, people=people)


def test_snapshot_is_per_stream_and_ordered() -> None:
    store = MemoryStore()
    for t in (1.0, 2.0, 3.0):
        store.add(obs("a", t, people=int(t)))
    store.add(obs("b", 1.5))
    snap = store.snapshot("a")
    assert [o.people for o in snap.observations] == [1, 2, 3]
    assert len(store.snapshot("b").observations) == 1
    assert store.snapshot("missing").observations == ()


def test_snapshot_until_media_time() -> None:
    store = MemoryStore()
    for t in (1.0, 2.0, 3.0):
        store.add(obs("a", t, people=int(t)))
    assert [o.media_time for o in store.snapshot("a", until=2.0).observations] == [1.0, 2.0]


def test_retention_forgets_the_oldest() -> None:
    store = MemoryStore(Retention(observations=2))
    for t in range(5):
        store.add(obs("a", float(t), people=t))
    assert [o.media_time for o in store.snapshot("a").observations] == [3.0, 4.0]


def test_a_run_of_the_same_observation_keeps_its_first_and_latest() -> None:
    """Retention counts changes, so a quiet scene keeps its history for hours."""
    store = MemoryStore(Retention(observations=4))
    for t in range(3600):
        store.add(obs("a", float(t), people=1 if t < 5 or t >= 3590 else 2))
    kept = [(o.media_time, o.people) for o in store.snapshot("a").observations]
    assert kept == [(5.0, 2), (3589.0, 2), (3590.0, 1), (3599.0, 1)]


def test_kinds_kept_and_ignored() -> None:
    store = MemoryStore()
    final = Utterance(stream_id="a", media_time=2, utterance_id="u", t0=1, t1=2, text="hi")
    partial = Utterance(
        stream_id="a", media_time=2, utterance_id="p", t0=1, t1=2, text="h", final=False
    )
    frame = VideoFrame(stream_id="a", media_time=0, image=np.zeros((2, 2, 3), np.uint8))
    request = Request(stream_id="a", media_time=0, request_id=new_id(), kind="question", text="?")
    assert store.add(final) and store.add(request)
    assert not store.add(partial) and not store.add(frame)
    assert store.counts() == {
        "a": {"observations": 0, "utterances": 1, "requests": 1, "answers": 0}
    }
    store.forget("a")
    assert store.counts() == {}
