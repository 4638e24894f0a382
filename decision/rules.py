"""The fast path for standing instructions: English patterns turned into a :class:`WatchSpec`.

It reads an instruction in three steps, each a general pattern of how people phrase such
requests rather than a list of known sentences:

1. the **output** asked for ("output 'PLATFORM'", "say GO", "reply with the word yes"), taken
   out first so that its quoted word is not mistaken for what to watch;
2. the **clauses**: speech (someone says or mentions a word, a named person talks, anyone asks
   a question), on-screen text (a word that appears, shows up, is written; a sign or card that
   reads it), colours, people counts (digits or words; "more than", "at least", "or more";
   nobody left), faces, cuts and motion;
3. how clauses **combine**: "or"/"either" gives any, otherwise all.

When nothing matches, it returns None and the instruction goes to the language-model compiler
(``reaction.instructions``); the decision stage never drops it. A reading that leaves part of
the instruction unexplained (a quoted or capitalised word in no clause and not the output, an
"or" with one alternative, an output asked for and not found) goes to the model too
(:func:`accounts_for`): patterns that read half an instruction must not be trusted with it.
"""

from __future__ import annotations

import re

from vigil.instructions import COLOURS, Clause, WatchSpec, normal_value

__all__ = [
    "accounts_for",
    "offers_alternatives",
    "parse_instruction",
    "requested_output",
    "without_output",
]

_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
    "twenty": 20, "a couple of": 2, "a pair of": 2, "several": 3, "a few": 3, "a dozen": 12,
    "half a dozen": 6, "dozen": 12,
}  # fmt: skip
_NUMBER = r"(\d+|" + "|".join(sorted(_NUMBERS, key=len, reverse=True)) + r")"
_Q_OPEN, _Q_CLOSE = "\"'“‘«", "\"'”’»"
_QUOTED = re.compile(r"[\"“‘«]([^\"”’»]{1,60})[\"”’»]|(?<![\w])'([^']{1,60})'(?![\w])")
_STOP = (
    r"(?=$|[,.;:!?]|\s+(?:and|or|while|then|so|on|in|at|appears?|shows?|is|are|comes?|out loud|"
    r"aloud|loudly)\b)"
)
_PHRASE = r"([\w'-]+(?:\s+[\w'-]+){0,2}?)"

_NOT_OUTPUT = (
    r"(?:me|us|him|her|them|so|it|that|this|what|whether|which|who|how|why|something|anything|"
    r"a|an|the|my|his|their|its|your|our|when|whenever|once|if|with|by|out|back|up|down|to|"
    r"about|loud|aloud|[\w-]+ly)\b"
)
"""Words that begin no output ("say so", "say what happened", "respond immediately")."""
_OUTPUT = re.compile(
    r"(?:(?:,\s*|\bthen\s+|^|\band\s+|;\s*|[.?!]\s*|\bjust\s+|(?<!someone)(?<!somebody)"
    r"(?<!anyone)(?<!anybody)(?<!they)(?<!people)(?<!them)(?<!he)(?<!she)(?<!hear)(?<!to)"
    r"(?<!will)(?<!would)(?<!might)(?<!\bi)\s)(?:please\s+)?(?:just\s+)?"
    r"(?:say|write|type|display|return|shout|yell|holler|announce|send|give me|post|reply|"
    r"respond|answer|log|jot down|write down|note down|type out)|"
    r"(?:,\s*|\bthen\s+|^|\band\s+|;\s*|[.?!]\s*|\s)(?:please\s+)?(?:just\s+)?"
    r"(?:output|print|emit|(?:respond|reply|answer|chime in|come back) with|"
    r"(?:respond|reply|answer) by saying))\s+"
    r"(?:the\s+(?:word|text|string|phrase|message)\s+|just\s+|only\s+|simply\s+)?"
    r"(?:[\"“‘«](?P<quoted>[^\"”’»]{1,60})[\"”’»]|'(?P<single>[^']{1,60})'|"
    r"(?P<bare>(?-i:[A-Z][A-Z0-9-]{1,30}(?:\s+[A-Z][A-Z0-9-]{1,30})*))\b|"
    rf"(?!{_NOT_OUTPUT})(?<!tell )(?P<words>[\w'-]{{1,30}}(?:\s+[\w'-]{{1,30}}){{0,3}}?)\s*[.!]?\s*"
    r"(?=$|,|;|\s+(?:when|whenever|once|if|as soon as|every time|each time|the moment)\b))",
    re.IGNORECASE,
)
"""An output asked for: a verb of saying or writing, then a quoted text, words in capitals,
or up to four plain words that end the sentence or come before its condition ("respond with
mic check", "announce gate open when ...")."""
_SPEAKER = (
    r"(?:someone|somebody|anyone|anybody|a person|one of them|people|a speaker|they|he|she|"
    r"(?:the|a|any|our|my)\s+(?!(?:sign|screen|card|board|banner|poster|caption|label|display|"
    r"ticker|scoreboard|note|text|title|headline|message|plate|placard|slide|monitor|tv|subtitle|"
    r"menu|whiteboard|chalkboard|word|shirt|page|letter|readout|counter|clock)s?\b)[a-z]+)"
)
"""Who may say something: anyone, or a person named by role ("the host", "a customer"), but
not a thing that "says" a text by showing it ("the sign says OPEN")."""
_SAY = (
    r"(?:says?|said|saying|mentions?|mentioned|mentioning|talks? about|talking about|"
    r"speaks? (?:about|of)|brings? up|utters?|uttered|pronounces?|uses? the word|asks? about|"
    r"refers? to|calls? out|yells?|yelled|shouts?|shouted|screams?|screamed|whispers?|"
    r"exclaims?|cries|cried)"
)
_SPEECH = re.compile(
    rf"\b(?:{_SPEAKER}|(?P<name>[A-Z][a-z]+))\s+(?:ever\s+|first\s+)?{_SAY}\s+"
    rf"(?:the (?:word|name|phrase|term)\s+|something about\s+|(?:an?|the|any)\s+)?"
    rf"(?:[\"“‘«](?P<quoted>[^\"”’»]+)[\"”’»]|'(?P<single>[^']+)'|{_PHRASE}{_STOP})",
)
_HEARD = re.compile(
    rf"\b(?:hear|hears|heard)\s+(?:someone\s+say\s+|anyone\s+say\s+)?"
    rf"(?:the (?:word|name|phrase)\s+|an?\s+|the\s+)?"
    rf"(?:[\"“‘«](?P<quoted>[^\"”’»]+)[\"”’»]|'(?P<single>[^']+)'|{_PHRASE}{_STOP})"
    rf"|\b(?:the (?:word|name|phrase|term)\s+)?(?:[\"“‘«](?P<quoted2>[^\"”’»]+)[\"”’»]|"
    rf"'(?P<single2>[^']+)'|(?P<bare2>[\w'-]+))\s+(?:is|gets|was)\s+(?:said|spoken|mentioned|"
    rf"uttered|brought up|pronounced)\b"
    rf"|\bthe (?:word|name|phrase|term|topic(?: of)?)\s+(?:[\"“‘«](?P<quoted4>[^\"”’»]+)[\"”’»]|"
    rf"'(?P<single4>[^']+)'|(?P<bare4>[\w'-]+))\s+(?:comes|came) up\b(?!\s+on\b)"
    rf"|\bmention(?:s|ed)? of\s+(?:the\s+|an?\s+)?(?:[\"“‘«](?P<quoted3>[^\"”’»]+)[\"”’»]|"
    rf"'(?P<single3>[^']+)'|{_PHRASE}{_STOP})",
    re.IGNORECASE,
)
_TALKS = re.compile(
    r"\b(?P<name>[A-Z][a-z]+)\s+(?:speaks|talks|is speaking|is talking|starts (?:speaking|talking)|"
    r"begins (?:speaking|talking)|says something|opens (?:his|her|their) mouth|chimes in|"
    r"takes the floor|has something to say)\b"
    r"|\b(?:hear|hears)\s+(?:from\s+)?(?P<name2>[A-Z][a-z]+)\b(?!\s+say)"
    r"|\b(?P<name3>[A-Z][a-z]+)(?:'s| is) (?:voice|turn to speak)\b"
    r"|\b(?P<name4>[A-Z][a-z]+)\s+(?:asks|is asking|poses|raises|puts)\s+(?:a |any |another |"
    r"(?:his|her|their) )?(?:question|something|anything)\b"
)
_QUESTION = re.compile(
    r"\bquestions?\b(?!\s+marks?)|\basks?\s+(?:me\s+|us\s+|you\s+)?(?:something|anything)\b",
    re.IGNORECASE,
)
_TEXT_NOUN = (
    r"(?:word|words|text|sign|signs|caption|captions|label|banner|title|card|poster|note|"
    r"board|whiteboard|chalkboard|scoreboard|billboard|noticeboard|screen|display|ticker|"
    r"message|headline|plate|placard|writing|lettering|subtitle)"
)
_SHOWS = (
    r"(?:appears?|appearing|shows? up|showing up|is shown|gets shown|is displayed|is written|"
    r"is visible|comes? up|pops? up|flashes|is printed|is on screen|on screen|on the screen|"
    r"turns up|becomes visible|can be seen|is seen)"
)
_TEXT_TARGET = re.compile(
    rf"\b{_TEXT_NOUN}(?:\s+(?:on|of)\s+(?:the|a|that|this)\s+\w+)?\s+(?:that\s+|which\s+)?(?:says|reads|reading|saying|with|showing|shows|"
    rf"displays|displaying|containing|contains|bearing|carrying|of|spelling|spells|"
    rf"(?:is|are) written)?\s*(?:on it\s+)?(?:the (?:word|text|name)\s+)?"
    rf"(?:[\"“‘«](?P<quoted>[^\"”’»]+)[\"”’»]|'(?P<single>[^']+)'|(?P<caps>[A-Z][A-Z0-9-]+(?:\s+[A-Z0-9][A-Z0-9-]*)*)\b)"
    rf"|\b(?:{_TEXT_NOUN}|{_SHOWS}|shows|reads|says|displays)\s+the (?:word|text|name)\s+"
    rf"(?P<named>[A-Z][\w-]*)\b"
    rf"|(?:[\"“‘«](?P<quoted2>[^\"”’»]+)[\"”’»]|'(?P<single2>[^']+)'|"
    rf"(?P<caps2>[A-Z][A-Z0-9-]+(?:\s+[A-Z0-9][A-Z0-9-]*)*)\b)\s+(?:\w+\s+)?{_SHOWS}"
    rf"|\b(?:read|see|spot|notice)\s+(?:the (?:word|text)\s+)?(?:[\"“‘«](?P<quoted3>[^\"”’»]+)"
    rf"[\"”’»]|'(?P<single3>[^']+)'|(?P<caps3>[A-Z][A-Z0-9-]+)\b)"
    rf"|\b{_TEXT_NOUN}\s+(?:says|reads|shows|displays|spells(?: out)?)\s+"
    rf"(?P<title>[A-Z][\w-]*(?:\s+[A-Z][\w-]*){{0,3}})\b",
)
_WORD_WRITTEN = re.compile(
    r"\bthe (?:word|text|letters)\s+[\"'“‘]?(?P<word>[\w-]+)[\"'”’]?(?=.*?\b(?:written|printed|"
    r"displayed|shown|appears?|on (?:the |a )?(?:screen|sign|card|board|note|poster|banner|"
    r"label|slide|wall|shirt)|on it)\b)"
    r"|\b(?:written|printed|displayed)\s+(?:on\s+[\w ]{1,30}?\s+)?the (?:word|text)\s+"
    r"[\"'“‘]?(?P<word2>[\w-]+)",
    re.IGNORECASE,
)
"""A lower-case word the instruction says is written ("the word yellow written on the note"):
on-screen text, even when it names a colour."""
_TEXT_CUE = re.compile(rf"\b{_TEXT_NOUN}\b|\b{_SHOWS}|\bwritten\b|\breads\b", re.IGNORECASE)
_COLOUR = re.compile(
    r"\b(" + "|".join((*COLOURS, "gray", "violet", "magenta", "teal")) + r")\b", re.IGNORECASE
)
_PERSON = (
    r"(?:people|persons?|pedestrians?|individuals?|humans?|men|women|visitors?|guests?|folks|ppl|"
    r"kids|children|customers|students|shoppers|passengers|players|workers|attendees|guys)"
)
_CROWD = r"(?:crowd|group|gathering|audience|attendance|headcount|turnout|number of people)"
_MORE = r"more than|over|above|greater than|in excess of|exceeds?|tops?"
_LEAST = r"(?:at least|no fewer than|no less than|reaches|hits|gets to|grows to)"
_AT_LEAST = re.compile(
    rf"\b(?:(?P<more>{_MORE})|{_LEAST}|a crowd of|a group of)?\s*(?P<n>{_NUMBER[1:-1]})\s+"
    rf"(?P<ormore>or more\s+)?(?:\w+\s+)?{_PERSON}(?!\s+faces?)(?P<ormore2>\s+or more)?"
    rf"|\b{_CROWD}\b[^,.;!?]*?\b(?:of\s+)?(?:(?P<more2>{_MORE})|{_LEAST})?\s*(?P<n2>{_NUMBER[1:-1]})\b"
    rf"(?P<ormore3>\s+or more)?",
    re.IGNORECASE,
)
_FEWER = r"(?P<op>fewer than|less than|under|below|at most|no more than|only)"
_AT_MOST = re.compile(
    rf"\b{_FEWER}\s+(?P<n>{_NUMBER[1:-1]})\s+(?:\w+\s+)?{_PERSON}"
    rf"|\b(?P<n2>{_NUMBER[1:-1]})\s+(?:\w+\s+)?{_PERSON}\s+or (?:fewer|less)\b"
    rf"|\b(?P<n3>{_NUMBER[1:-1]})\s+or (?:fewer|less)\s+(?:\w+\s+)?{_PERSON}"
    rf"|\b{_CROWD}\b[^,.;!?]*?\b(?:drops?|falls?|goes|gets|shrinks|thins|is)\s+(?:to\s+)?"
    rf"(?P<op2>below|under|fewer than|less than|at most|no more than)\s+(?P<n4>{_NUMBER[1:-1]})\b"
    rf"|\b{_CROWD}\b[^,.;!?]*?\b(?:drops?|falls?|shrinks|thins)\s+(?:down\s+)?to\s+"
    rf"(?P<n5>{_NUMBER[1:-1]})\b(?P<orfewer>\s+or (?:fewer|less))?",
    re.IGNORECASE,
)
_NOBODY = re.compile(
    r"\b(?:nobody|no one|no-one|no people|no person|nobody at all)\b|\b(?:room|scene|frame|"
    r"place|street|area|hall|view|screen|shot|picture|stage)\s+(?:is|becomes|goes|gets)\s+"
    r"(?:empty|clear|deserted)\b|\b(?:everyone|everybody|all (?:the )?(?:people|persons)|the "
    r"last person)\s+(?:has\s+|have\s+)?(?:left|leaves|gone|goes|is gone|walked out|exits?)\b"
    r"|\b(?:room|scene|place|street|area|hall|lobby|office|shop|store)\s+empties\b"
    r"|\bempty (?:room|scene|frame|street|view)\b|\b(?:the|a)\s+[a-z]+\s+(?:is|becomes|goes|gets|"
    r"turns|is left)\s+(?:completely\s+|totally\s+|fully\s+|entirely\s+)?(?:empty|deserted|vacant|"
    r"unoccupied)\b",
    re.IGNORECASE,
)
_SOMEONE = re.compile(
    r"\b(?:someone|somebody|anyone|anybody|a person|a man|a woman|a pedestrian|a visitor|"
    r"a guest|people|a human|any person|a figure|a kid|a child)(?!\s+faces?\b)\s+(?:\w+\s+)?"
    r"(?:enters?|entering|appears?|arrives?|comes? in|comes? into (?:view|frame|the room)|"
    r"shows? up|walks? in|walks? into|steps? in|steps? into|is there|is visible|is seen|"
    r"can be seen|turns? up|gets? in|is in (?:view|the frame|the room|the picture))\b"
    r"|\b(?:person|people|anyone|anybody)\s+(?:is|are)\s+(?:in view|visible|present|there)\b"
    r"|\b(?:any|a) (?:person|people|human)\b(?!\s+faces?)",
    re.IGNORECASE,
)
_FACE = re.compile(rf"\b(?:{_NUMBER}\s+)?faces?\b", re.IGNORECASE)
_CUT = re.compile(
    r"\bscene (?:changes?|switch(?:es)?|cuts?)\b|\b(?:cut|cuts) (?:to|away)\b|\ba cut\b|"
    r"\b(?:camera|shot|view|angle) (?:moves|changes|switches|cuts)\b|\bnew (?:scene|shot)\b|"
    r"\bchange of scene\b|\b(?:switch(?:es)?|chang(?:es)?|cuts?|moves?|jumps?|goes) to (?:a |an )?"
    r"(?:different|new|another|other) (?:scene|shot|view|camera|location)\b|\bdifferent scene\b",
    re.IGNORECASE,
)
_MOTION = re.compile(r"\b(?:moves?|moving|motion|movement|stirs|anything moves)\b", re.IGNORECASE)
_MOVEMENT = re.compile(r"\b(?:motion|movement|anything moves|something moves)\b", re.IGNORECASE)
_EITHER = re.compile(r"\beither\b|\bor\b(?! more\b)(?! fewer\b)(?! less\b)", re.IGNORECASE)
_NOT_NAMES = frozenset(
    {"When", "Once", "If", "Tell", "Let", "Please", "Notify", "Alert", "Ping", "Say", "Output",
     "The", "As", "Whenever", "Someone", "Anyone", "Somebody", "Anybody", "Vigil", "Give",
     "Print", "Write", "Shout", "Warn", "Inform", "Should", "Can", "Could", "Would", "Will",
     "Signal", "Flag", "Report", "Watch", "Keep", "Wait", "Speak", "Just", "Then", "And", "Or",
     "I", "You", "We", "They", "He", "She", "Everyone", "Nobody"}
)  # fmt: skip


_ANYTHING = frozenset({"something", "anything", "a word", "stuff", "a thing", "words"})


def _group(match: re.Match[str], *names: str) -> str | None:
    for name in names:
        value = match.groupdict().get(name)
        if value:
            return value
    return None


def _number(token: str) -> int:
    token = token.lower()
    return int(token) if token.isdigit() else _NUMBERS[token]


def _output(text: str) -> tuple[str, str]:
    """(the output asked for or "", the instruction without the output request)."""
    match = _OUTPUT.search(text)
    if match is None:
        return "", text
    output = _group(match, "quoted", "single", "bare", "words") or ""
    rest = (text[: match.start()] + " " + text[match.end() :]).strip()
    return normal_value("output", output), rest


def _speech(text: str) -> tuple[list[Clause], list[tuple[int, int]]]:
    """Speech clauses, and the spans of text they were read from."""
    clauses, spans = [], []
    for match in _SPEECH.finditer(text):
        name = match.group("name")
        if name and name in _NOT_NAMES:
            continue
        value = _group(match, "quoted", "single") or match.groups()[-1]
        if value and value.lower() in _ANYTHING:
            value = ""  # "Marco says something": Marco speaking, no word in particular
        if value and (value := normal_value("speech_mentions", value)):
            clauses.append(Clause(kind="speech_mentions", value=value))
            spans.append(match.span())
            if name:
                clauses.append(
                    Clause(kind="person_speaks", value=normal_value("person_speaks", name))
                )
    for match in _HEARD.finditer(text):
        value = _group(
            match,
            "quoted",
            "single",
            "quoted2",
            "single2",
            "bare2",
            "quoted4",
            "single4",
            "bare4",
            "quoted3",
            "single3",
        ) or next((g for g in reversed(match.groups()) if g), None)
        if value and (value := normal_value("speech_mentions", value)):
            clauses.append(Clause(kind="speech_mentions", value=value))
            spans.append(match.span())
    for match in _SPEECH.finditer(text):
        name, value = match.group("name"), (match.groups()[-1] or "").lower()
        if name and name not in _NOT_NAMES and value in _ANYTHING:
            clauses.append(Clause(kind="person_speaks", value=normal_value("person_speaks", name)))
    if not clauses:
        for match in _TALKS.finditer(text):
            name = _group(match, "name", "name2", "name3", "name4")
            if name and name not in _NOT_NAMES:
                clauses.append(
                    Clause(kind="person_speaks", value=normal_value("person_speaks", name))
                )
    if _QUESTION.search(text):
        clauses.append(Clause(kind="question_asked"))
    return _unique(clauses), spans


def _on_screen(text: str, spoken: list[Clause], spans: list[tuple[int, int]]) -> list[Clause]:
    clauses = []
    for match in _TEXT_TARGET.finditer(text):
        if any(a <= match.start() < b or a < match.end() <= b for a, b in spans):
            continue  # "someone says the word X": the word is heard, not shown
        value = _group(match, "quoted", "single", "caps", "named", "quoted2", "single2", "caps2",
                       "quoted3", "single3", "caps3", "title")  # fmt: skip
        value = normal_value("text_on_screen", value or "")
        if value and value.upper() not in ("I", "A", "TV"):
            clauses.append(Clause(kind="text_on_screen", value=value))
    match = _WORD_WRITTEN.search(text) if not clauses else None
    if match and not any(a <= match.start() < b for a, b in spans):
        value = normal_value("text_on_screen", _group(match, "word", "word2") or "")
        clauses.append(Clause(kind="text_on_screen", value=value))
    if not clauses and not spoken and _TEXT_CUE.search(text):
        quoted = _QUOTED.search(text)
        if quoted:
            value = normal_value("text_on_screen", quoted.group(1) or quoted.group(2))
            clauses.append(Clause(kind="text_on_screen", value=value))
    return _unique(clauses)


def _colours(text: str, taken: list[Clause]) -> list[Clause]:
    """Colour words that are not themselves the text or word awaited."""
    awaited = " ".join(c.value.lower() for c in taken)
    clauses = []
    for match in _COLOUR.finditer(text):
        colour = normal_value("colour_on_screen", match.group(1))
        if colour not in awaited.split():
            clauses.append(Clause(kind="colour_on_screen", value=colour))
    return _unique(clauses)


def _people(text: str) -> list[Clause]:
    if _NOBODY.search(text):
        return [Clause(kind="people_at_most", count=0)]
    if match := _AT_MOST.search(text):
        count = _number(_group(match, "n", "n2", "n3", "n4", "n5") or "0")
        op = (_group(match, "op", "op2") or "").lower()
        below = op in ("fewer than", "less than", "under", "below")
        return [Clause(kind="people_at_most", count=count - 1 if below else count)]
    if match := _AT_LEAST.search(text):
        count = _number(_group(match, "n", "n2") or "1")
        more = _group(match, "more", "more2") and not _group(match, "ormore", "ormore2", "ormore3")
        return [Clause(kind="people_at_least", count=count + 1 if more else count)]
    if _SOMEONE.search(text):
        return [Clause(kind="people_at_least", count=1)]
    return []


def _picture(text: str) -> list[Clause]:
    clauses = []
    if match := _FACE.search(text):
        count = _number(match.group(1)) if match.group(1) else 1
        clauses.append(Clause(kind="face_visible", count=count))
    if _CUT.search(text):
        clauses.append(Clause(kind="scene_change"))
    return clauses


def _unique(clauses: list[Clause]) -> list[Clause]:
    seen: list[Clause] = []
    for clause in clauses:
        if all(
            (c.kind, c.value.lower(), c.count) != (clause.kind, clause.value.lower(), clause.count)
            for c in seen
        ):
            seen.append(clause)
    return seen


def parse_instruction(instruction: str) -> WatchSpec | None:
    """What ``instruction`` asks to watch for, or None when no pattern fits it."""
    output, rest = _output(instruction)
    spoken, spans = _speech(rest)
    shown = _on_screen(rest, spoken, spans)
    clauses = [*spoken, *shown]
    clauses += _colours(rest, clauses)
    clauses += _people(rest) if not spoken or re.search(r"\bpeople\b|\bnobody\b", rest) else []
    clauses += _picture(rest)
    if _MOVEMENT.search(rest) or (not clauses and _MOTION.search(rest)):
        clauses.append(Clause(kind="motion"))
    if not clauses:
        return None
    combine = "any" if len(clauses) > 1 and offers_alternatives(rest) else "all"
    return WatchSpec(clauses=tuple(clauses[:3]), combine=combine, output=output, source="rules")


_CAPS = re.compile(r"(?-i:\b[A-Z][A-Z0-9-]+\b)")
_NOT_WATCHED = frozenset({"I", "TV", "OK", "VIGIL", "ASAP", "PLS", "FYI", "BTW"})
_ASKS_OUTPUT = re.compile(
    r"\b(?:say|write|type|print|output|reply|respond|answer|shout|display|post)(?:\s+with)?"
    rf"\s+(?!{_NOT_OUTPUT})[\w'\"“‘-]+[\s.!]*$",
    re.IGNORECASE,
)


def requested_output(instruction: str) -> str:
    """The exact output ``instruction`` asks for ("say 'all gone'"), or ""."""
    return _output(instruction)[0]


def without_output(instruction: str) -> str:
    """``instruction`` less its request for an output: what is left says what to watch."""
    return _output(instruction)[1]


def offers_alternatives(instruction: str) -> bool:
    """Whether conditions are offered as alternatives ("X or Y", "either"), not "or more"."""
    return _EITHER.search(instruction) is not None


def accounts_for(instruction: str, spec: WatchSpec) -> bool:
    """Whether ``spec`` explains the whole of ``instruction``: every quoted or capitalised word
    is in a clause or the output, an "or" has its alternatives, a trailing "say X" its output."""
    said = " ".join([*(c.value for c in spec.clauses), spec.output]).lower()
    quoted = [a or b for a, b in _QUOTED.findall(instruction)]
    capitals = [w for w in _CAPS.findall(instruction) if w not in _NOT_WATCHED]
    if any(normal_value("output", w).lower() not in said for w in (*quoted, *capitals)):
        return False
    if len(spec.clauses) == 1 and offers_alternatives(instruction):
        return False
    return bool(spec.output) or not _ASKS_OUTPUT.search(instruction)
