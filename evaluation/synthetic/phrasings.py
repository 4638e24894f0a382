"""Every question and instruction phrasing of the synthetic set, by split. Nothing else is here.

A phrasing belongs to exactly one split: ``dev`` is what the model and the instruction compiler
may be tuned on, ``heldout`` is never looked at while tuning, so that a score on it says
whether understanding generalises rather than whether one wording was learnt. Each kind has
at least three phrasings per split, and no phrasing appears in both (tests check it).

Placeholders: ``{noun}`` (what a sign names: "gate"), ``{word}`` (a word on a card or panel),
``{text}`` (any text shown), ``{name}`` (a speaker), ``{topic}``, ``{item}``, ``{vehicle}``,
``{thing}`` (a noun phrase: "the umbrella"), ``{colour}``, ``{a}`` (the article of ``{item}``).
"""

from __future__ import annotations

from evaluation.synthetic.lexicon import Split

__all__ = ["INSTRUCTIONS", "QUESTIONS", "phrasings"]

# Multiple-choice questions, asked at one second of the clip.
QUESTIONS: dict[str, dict[Split, tuple[str, ...]]] = {
    # text on a small corner sign now, another plate in view at the same time
    "sign_text": {
        "dev": (
            "Which {noun} is written on the sign right now?",
            "What {noun} number does the small sign on screen show at the moment?",
            "Reading the sign currently in view, which {noun} does it indicate?",
        ),
        "heldout": (
            "The sign visible now refers to a {noun}. Which one?",
            "Which {noun} can be read on the sign in the picture?",
            "Looking at the frame right now, which {noun} is the sign labelled with?",
        ),
    },
    # the word on a coloured card now, a scene label in view at the same time
    "card_text": {
        "dev": (
            "What word is on the card that was just held up?",
            "Which word does the coloured card on screen show right now?",
            "A card just appeared. What is written on it?",
        ),
        "heldout": (
            "What does the newly shown coloured board say?",
            "Read the word on the card that has just come into view. Which is it?",
            "Which word is printed on the coloured card currently visible?",
        ),
    },
    # the colour of a large or full-screen panel now
    "screen_colour": {
        "dev": (
            "What colour fills most of the screen right now?",
            "Which colour is the large panel on screen at the moment?",
            "The picture is now mostly one colour. Which colour is it?",
        ),
        "heldout": (
            "What is the dominant colour of the frame at this moment?",
            "Which colour is the big coloured area covering the view now?",
            "Right now, the screen is mostly which colour?",
        ),
    },
    # the colour of the card carrying a given word, while it is shown
    "card_colour": {
        "dev": (
            "What colour is the card with the word {word}?",
            "The card showing {word} is which colour?",
            "Which colour is the card that reads {word}?",
        ),
        "heldout": (
            "What is the colour of the board on which {word} is written?",
            "Which colour is behind the word {word} on the card?",
            "In what colour is the card carrying the word {word}?",
        ),
    },
    # the word of the most recent card, gone from the screen
    "shown_earlier": {
        "dev": (
            "What word was on the last card, which is no longer on screen?",
            "Which word did the most recent card show before it was taken away?",
            "The card has gone now. What word was written on it?",
        ),
        "heldout": (
            "Before it disappeared, what did the latest card say?",
            "Which word appeared on the card that was shown a moment ago and is now gone?",
            "Think back to the card shown a little while ago. Which word was on it?",
        ),
    },
    # what a named speaker said: a room, a place, a time
    "said_room": {
        "dev": (
            "Which room did {name} say the {topic} moved to?",
            "According to {name}, where is the {topic} now?",
            "{name} mentioned a new room for the {topic}. Which room was it?",
        ),
        "heldout": (
            "In which room will the {topic} be, as {name} told us?",
            "What room number did {name} give for the {topic}?",
            "Where did {name} say the {topic} is taking place?",
        ),
    },
    "said_place": {
        "dev": (
            "Where did {name} say the {item} was left?",
            "According to {name}, where is the {item}?",
            "In which place did {name} leave the {item}?",
        ),
        "heldout": (
            "Where is {name}'s {item}, going by what they said?",
            "{name} talked about {a} {item}. Where is it?",
            "What location did {name} give for the {item}?",
        ),
    },
    "said_time": {
        "dev": (
            "What time did {name} say the {vehicle} leaves?",
            "When is {name}'s {vehicle}, according to what they said?",
            "At what hour does {name} have to catch the {vehicle}?",
        ),
        "heldout": (
            "{name} mentioned a {vehicle}. At what time does it leave?",
            "Which departure time did {name} give for the {vehicle}?",
            "When does the {vehicle} {name} talked about depart?",
        ),
    },
    # who said something
    "who_said": {
        "dev": (
            "Who mentioned {thing}?",
            "Which person talked about {thing}?",
            "Who was the one that brought up {thing}?",
        ),
        "heldout": (
            "Somebody spoke of {thing} earlier. Who was it?",
            "Which speaker spoke about {thing}?",
            "Who referred to {thing} while talking?",
        ),
    },
    # counting what was seen and heard so far
    "count_cards": {
        "dev": (
            "How many cards with a word have been shown so far?",
            "Up to now, how many different word cards have appeared?",
            "Count the word cards shown since the start. How many are there?",
        ),
        "heldout": (
            "So far, how many coloured cards carrying a word have been held up?",
            "What is the number of word cards seen until this moment?",
            "How many separate cards with writing on them have we seen up to now?",
        ),
    },
    "count_speakers": {
        "dev": (
            "How many different people have spoken so far?",
            "Up to now, how many speakers have we heard?",
            "Count the distinct voices heard since the start. How many?",
        ),
        "heldout": (
            "How many separate people have talked until this moment?",
            "What is the number of different speakers in the conversation so far?",
            "So far, how many individuals have said something?",
        ),
    },
    # order of what was shown
    "order_first": {
        "dev": (
            "Which of these appeared on screen first?",
            "Of the following, which text was shown earliest?",
            "Which was the first of these to be displayed?",
        ),
        "heldout": (
            "Among these, what text showed up before the others?",
            "Which of the following came on screen earliest in the video?",
            "Put these in order of appearance: which one was first?",
        ),
    },
    "order_next": {
        "dev": (
            'What was shown right after "{text}"?',
            'Which text appeared next, after "{text}"?',
            'After "{text}" went away, what came up on screen?',
        ),
        "heldout": (
            'What text followed "{text}" on screen?',
            'Directly after "{text}" was displayed, which text appeared?',
            'Once "{text}" had been shown, what was the next thing written on screen?',
        ),
    },
}

# Standing instructions (StreamingBench Proactive Output), given at one second and due later.
INSTRUCTIONS: dict[str, dict[Split, tuple[str, ...]]] = {
    # any on-screen text (a card or a panel)
    "watch_word": {
        "dev": (
            "Let me know once the word {word} shows up.",
            'When the text "{word}" appears on screen, output "{word}".',
            "Tell me as soon as you can read {word} anywhere on screen.",
        ),
        "heldout": (
            "Alert me when {word} is displayed.",
            'If the word {word} becomes visible, say "{word}".',
            "Keep an eye out for the text {word} and report it when it appears.",
        ),
    },
    # a card with a given word
    "watch_card": {
        "dev": (
            "Notify me when a card with the word {word} appears.",
            'When someone holds up a card saying {word}, output "{word}".',
            "Ping me once the {word} card is shown.",
        ),
        "heldout": (
            'Say "{word}" the moment a card reading {word} comes into view.',
            "Watch for a card that has {word} on it and tell me when it shows.",
            "When a coloured board with {word} written on it appears, let me know.",
        ),
    },
    # the screen turning a colour
    "watch_colour": {
        "dev": (
            "Tell me when the screen turns mostly {colour}.",
            'When the picture becomes {colour}, output "{colour}".',
            "Let me know as soon as a large {colour} panel fills the view.",
        ),
        "heldout": (
            "Alert me once most of the frame is {colour}.",
            'If a big {colour} area covers the screen, say "{colour}".',
            "Report the moment the view goes {colour}.",
        ),
    },
    # a word spoken by anyone
    "listen_word": {
        "dev": (
            "When someone mentions {a} {item}, output '{item}'.",
            "Let me know if anyone talks about {a} {item}.",
            "Tell me as soon as somebody says the word {item}.",
        ),
        "heldout": (
            'If you hear anyone bring up {a} {item}, say "{item}".',
            "Alert me when the word {item} is spoken.",
            "Listen for someone mentioning {a} {item} and notify me.",
        ),
    },
}


def phrasings(kind: str, split: Split) -> tuple[str, ...]:
    """The phrasings of question or instruction ``kind`` in ``split``."""
    pool = QUESTIONS.get(kind) or INSTRUCTIONS[kind]
    return pool[split]
