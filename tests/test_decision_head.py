"""The respond/silent head: features, weights on disk, training, calibration, and the stage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from decision import DecisionStage, HeadPolicy, RespondHead
from decision.features import FEATURES, Target, features
from evaluation.head_training import Episode, calibrate, fit_head, replay, timing
from runtime.config import load_config
from runtime.stages import build_decision_stage
from vigil.errors import ConfigError
from vigil.items import Observation, Request, Trigger, new_id

WORD = 'When the text "SILVER" appears on screen, output "SILVER".'
COLOUR = 'When a blue card appears on screen, output "BLUE".'


def seen(t: float, text: tuple[str, ...] = (), colours: tuple[str, ...] = ("grey",)) -> Observation:
    return Observation(
        stream_id="s", media_time=t, frame_index=int(t), people=3, text=text, colours=colours
    )


def clip(cards: dict[int, tuple[str, str]], seconds: int = 20) -> tuple[Observation, ...]:
    """One observation a second; ``cards`` maps a start second to (word, colour) shown 3 s.

    The text is read one observation after the card appears, as OCR does live."""
    shown: dict[int, tuple[str, str]] = {}
    for start, card in cards.items():
        shown.update({start + k: card for k in range(3)})
    out = []
    for t in range(seconds):
        card = shown.get(t)
        read = shown.get(t - 1) if card else None
        text = (read[0],) if read and read == card else ()
        colours = (card[1], "grey") if card else ("grey",)
        out.append(seen(float(t), text, colours))
    return tuple(out)


def test_target_reads_the_awaited_text_and_colour() -> None:
    word, colour = Target.parse(WORD), Target.parse(COLOUR)
    assert word.text == "silver" and word.colours == ()
    assert colour.text is None and colour.colours == ("blue",)
    # the output named after the event is not what is awaited
    assert Target.parse('When a red card shows, say "BLUE".').colours == ("red",)


def test_features_match_text_with_ocr_slips_and_see_the_change() -> None:
    target = Target.parse(WORD)
    before = seen(1.0)
    now = seen(2.0, text=("SILVFR",))
    x = dict(zip(FEATURES, features(target, now, before), strict=True))
    assert 0.8 < x["text_match"] < 1.0 and x["text_match_before"] == 0.0
    assert x["wants_text"] == 1.0 and x["any_text"] == 1.0
    exact = dict(zip(FEATURES, features(target, seen(3.0, ("SILVER AND GOLD",)), now), strict=True))
    assert exact["text_match"] == 1.0 and exact["rule"] == 1.0


def test_weights_round_trip_and_stale_files_are_refused(tmp_path: Path) -> None:
    head = RespondHead(np.arange(len(FEATURES), dtype=np.float32), -2.0, 0.4, {"note": "x"})
    path = tmp_path / "head.json"
    head.save(path)
    again = RespondHead.load(path)
    assert np.array_equal(again.weights, head.weights) and again.bias == -2.0
    assert again.threshold == 0.4 and again.meta == {"note": "x"}
    assert RespondHead.load(path, threshold=0.9).threshold == 0.9
    data = json.loads(path.read_text())
    data["features"] = {"old_feature": 1.0}
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="other features"):
        RespondHead.load(path)
    with pytest.raises(ConfigError, match="cannot read"):
        RespondHead.load(tmp_path / "missing.json")


def training_episodes() -> list[Episode]:
    """Distractor card first, then the awaited ones, at varied times."""
    episodes = []
    for shift in range(4):
        observations = clip(
            {2 + shift: ("MAPLE", "red"), 8 + shift: ("SILVER", "yellow"), 14: ("TIGER", "blue")}
        )
        episodes.append(Episode(WORD, 8.0 + shift, observations))
        episodes.append(Episode(COLOUR, 14.0, observations))
    return episodes


def test_a_head_trained_and_calibrated_here_fires_once_on_time() -> None:
    episodes = training_episodes()
    weights, bias = fit_head(episodes)
    threshold, figures = calibrate(weights, bias, episodes)
    assert figures == {"on_time": 1.0, "missed": 0.0, "spurious": 0.0}
    head = RespondHead(weights, bias, threshold)
    held_out = clip({3: ("SILVER", "purple"), 9: ("RIVER", "blue")})
    assert replay(head, Episode(WORD, 3.0, held_out)) in ([3.0], [4.0])
    assert replay(head, Episode(COLOUR, 9.0, held_out)) == [9.0]
    # a head that never responds misses everything and says nothing spurious
    silent = timing(RespondHead(weights, -1e6, 0.5), episodes)
    assert silent == {"on_time": 0.0, "missed": 1.0, "spurious": 0.0}


async def test_the_packaged_head_drives_the_stage_and_ignores_the_distractor() -> None:
    stage = DecisionStage(policy=HeadPolicy(RespondHead.load()))
    for text in (WORD, COLOUR):
        await stage.handle(
            Request(
                stream_id="s", media_time=0.0, request_id=new_id(), kind="instruction", text=text
            )
        )
    fired: list[tuple[float, str]] = []
    for observation in clip({2: ("MAPLE", "red"), 8: ("SILVER", "yellow"), 14: ("TIGER", "blue")}):
        for item in await stage.handle(observation):
            if isinstance(item, Trigger):
                fired.append((item.media_time, item.request.text))
    assert [t for t, text in fired if text == WORD] in ([8.0], [9.0])
    assert [t for t, text in fired if text == COLOUR] == [14.0]
    calibrated = f"head>={RespondHead.load().threshold:.2f}"
    assert [u.condition for u in stage.understood] == [calibrated, calibrated]


def test_configuration_picks_the_policy(tmp_path: Path) -> None:
    stage = build_decision_stage(load_config(decision={"policy": "head", "head_threshold": 0.3}))
    assert isinstance(stage.policy, HeadPolicy) and stage.policy.head.threshold == 0.3
    with pytest.raises(ConfigError):
        build_decision_stage(
            load_config(decision={"policy": "head", "head": tmp_path / "absent.json"})
        )
