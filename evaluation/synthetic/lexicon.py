"""What is written and said in each split: words, names, spoken sentence forms and seeds.

The two splits share nothing a system could be tuned to: sign labels, card and status words,
scene labels, names, fact nouns, number ranges, spoken sentence forms and random seeds are all
disjoint (tests check it). The words the issue quotes from its failures (GATE, EXIT B, COMET,
CLOSED, Carlos, umbrella) are in ``dev``: they are known to whoever fixes the model, so they
cannot measure generalisation. ``heldout`` also avoids the words of the instruction compiler's
own dev set (``evaluation/instruction_set/dev.jsonl``). Only colours and voices are shared:
there are few basic colour terms and few synthesizers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["LEXICONS", "SEED_BASES", "SPLITS", "Lexicon", "Split", "clip_seed"]

Split = Literal["dev", "heldout"]
SPLITS: tuple[Split, ...] = ("dev", "heldout")

SEED_BASES: dict[Split, int] = {"dev": 100_000, "heldout": 900_000}
_MAX_CLIPS = 100_000  # seeds of clip i are base + i: the two ranges cannot meet


def clip_seed(split: Split, index: int) -> int:
    """The random seed of clip ``index`` of ``split`` (disjoint ranges per split)."""
    if not 0 <= index < _MAX_CLIPS:
        raise ValueError(f"clip index {index} out of range")
    return SEED_BASES[split] + index


@dataclass(frozen=True, slots=True, kw_only=True)
class Lexicon:
    """The vocabulary of one split.

    ``sign_labels`` name what a corner sign points to ("GATE" gives "GATE 14"); ``scene_labels``
    are the distractor plates that sit in the scene (a shop sign, an exit); ``card_words`` are
    held up on coloured cards; ``status_words`` are written on large panels. Speech: names
    with a voice gender ("F"/"M"), and the sentence forms of introductions, facts and fillers
    (``{name}``, ``{other}``, ``{topic}``, ``{room}``, ``{item}``, ``{place}``, ``{vehicle}``,
    ``{hour}``). Rooms and hours are numbers; their ranges differ between splits.
    """

    sign_labels: tuple[str, ...]
    sign_numbers: tuple[int, ...]
    scene_labels: tuple[str, ...]
    card_words: tuple[str, ...]
    status_words: tuple[str, ...]
    names: tuple[tuple[str, str], ...]
    topics: tuple[str, ...]
    items: tuple[str, ...]
    places: tuple[str, ...]
    vehicles: tuple[str, ...]
    rooms: tuple[int, ...]
    hours: tuple[int, ...]
    intros: tuple[str, ...]
    room_facts: tuple[str, ...]
    item_facts: tuple[str, ...]
    time_facts: tuple[str, ...]
    fillers: tuple[str, ...]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _names(text: str) -> tuple[tuple[str, str], ...]:
    """``"Carlos:M Maria:F"`` as ((name, gender), ...)."""
    return tuple((name, gender) for name, _, gender in (w.partition(":") for w in text.split()))


LEXICONS: dict[Split, Lexicon] = {
    "dev": Lexicon(
        sign_labels=("GATE", "ROOM", "PLATFORM", "DOCK"),
        sign_numbers=tuple(range(1, 20)),
        scene_labels=("EXIT B", "CAFE", "TAXI", "PHARMACY", "NO PARKING", "TOILETS"),
        card_words=_words(
            "COMET HARBOR MAPLE CASTLE RIVER TIGER PLANET GARDEN SILVER ORBIT LANTERN PEPPER"
        ),
        status_words=("CLOSED", "DELAYED", "BOARDING", "CANCELLED", "WELCOME", "PAUSED"),
        names=_names("Carlos:M Maria:F Kevin:M Laura:F Daniel:M Emma:F Omar:M Nina:F"),
        topics=("meeting", "workshop", "interview", "lecture"),
        items=("umbrella", "laptop", "wallet", "backpack", "passport"),
        places=("car", "kitchen", "lobby", "office"),
        vehicles=("train", "bus"),
        rooms=tuple(range(2, 20)),
        hours=(1, 2, 3, 4, 5, 6),
        intros=("Hi, I'm {name}.", "Hello, my name is {name}.", "Hey everyone, {name} here."),
        room_facts=(
            "The {topic} moved to room {room}.",
            "Heads up, the {topic} is now in room {room}.",
        ),
        item_facts=("I left my {item} in the {place}.", "My {item} is still in the {place}."),
        time_facts=("My {vehicle} leaves at {hour}.", "I have to catch the {vehicle} at {hour}."),
        fillers=("Okay, sounds good.", "Thanks, {other}.", "Got it."),
    ),
    "heldout": Lexicon(
        sign_labels=("TERMINAL", "BAY", "LEVEL", "HALL"),
        sign_numbers=tuple(range(20, 60)),
        scene_labels=("BAKERY", "HOTEL", "PARKING", "TICKETS", "ELEVATOR", "INFORMATION"),
        card_words=_words(
            "FALCON VELVET ANCHOR MEADOW CANYON JASMINE PIONEER ORCHID GLACIER TIMBER"
            " HARVEST BEACON"
        ),
        status_words=("RESERVED", "EXPIRED", "APPROVED", "FINISHED", "ARRIVED", "SUSPENDED"),
        names=_names("Peter:M Susan:F Frank:M Linda:F Victor:M Grace:F Hassan:M Julia:F"),
        topics=("seminar", "briefing", "conference", "presentation"),
        items=("jacket", "notebook", "charger", "camera", "bicycle"),
        places=("garage", "library", "cafeteria", "hallway"),
        vehicles=("flight", "ferry"),
        rooms=tuple(range(21, 50)),
        hours=(7, 8, 9, 10, 11, 12),
        intros=(
            "Good morning, this is {name}.",
            "{name} speaking, hello all.",
            "Hi there, I am {name}.",
        ),
        room_facts=(
            "We switched the {topic} to room {room}.",
            "Just so you know, the {topic} will be in room {room}.",
        ),
        item_facts=(
            "I forgot my {item} in the {place}.",
            "Has anyone seen my {item}? It was in the {place}.",
        ),
        time_facts=(
            "My {vehicle} departs at {hour}.",
            "The {vehicle} I'm taking leaves at {hour}.",
        ),
        fillers=("Right, noted.", "Cheers, {other}.", "Makes sense."),
    ),
}
