"""Who showed what: on-screen text that appears while a named speaker talks is theirs."""

from __future__ import annotations

import numpy as np

from memory.schema import EMBEDDING_DIM, MemoryRecord
from memory.shown import shown_by


def record(kind: str, text: str, t0: float, t1: float, speaker: str = "") -> MemoryRecord:
    return MemoryRecord(
        tenant="a", stream="cam", session="s1", kind=kind, text=text,  # type: ignore[arg-type]
        vector=np.zeros(EMBEDDING_DIM, np.float32), speaker=speaker, media_t0=t0, media_t1=t1,
    )  # fmt: skip


def test_text_appearing_while_bob_speaks_is_recorded_as_shown_by_bob() -> None:
    items = [
        record("observation", "3 people; on-screen text: 'EXIT'; mostly grey", 0.0, 0.0),
        record("utterance", "speaker-2: Look at this card.", 4.0, 5.5, speaker="speaker-2"),
        record("observation", "3 people; on-screen text: 'EXIT', 'PENGUIN'; mostly blue", 7.0, 7.0),
        record("observation", "3 people; on-screen text: 'VIOLIN'; mostly red", 20.0, 20.0),
    ]
    [shown] = shown_by(items, {"speaker-2": "Bob"})
    assert shown.speaker == "speaker-2" and shown.t == 7.0  # read 1.5 s after he stopped
    assert shown.text == "Bob showed on-screen text 'PENGUIN' while saying: Look at this card."
    # EXIT was there before anyone spoke, and nobody was talking when VIOLIN appeared
