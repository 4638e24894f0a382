"""A streaming QA set with exact ground truth, in both official formats, in two splits.

Real footage (OpenCV's pedestrians, a film trailer) at 640x480 with what real streams carry:
a scene label that stays in view (the distractor text), small signs in the corners ("GATE 14",
sometimes with a second plate beside them), coloured word cards, large or full-screen colour
panels, and a conversation of 2-4 named speakers on different synthesizers (espeak-ng,
festival, piper) who introduce themselves and say facts, each fact paired with a look-alike
said by someone else. Questions ask about text on screen now, colours, what was shown earlier,
who said what, who said something, counts and order; standing instructions wait for a word, a
card, a colour or a spoken word, with a look-alike before the moment.

``dev`` and ``heldout`` have disjoint seeds, words, names and phrasings
(:mod:`~evaluation.synthetic.lexicon`, :mod:`~evaluation.synthetic.phrasings`): tune on dev,
report heldout.
"""

from evaluation.synthetic.build import DEFAULT_CLIPS, TASKS, SyntheticSet, build_synthetic, stamp
from evaluation.synthetic.drawing import COLOURS, WORDS, draw_card
from evaluation.synthetic.lexicon import SPLITS, Split

__all__ = [
    "COLOURS",
    "DEFAULT_CLIPS",
    "SPLITS",
    "TASKS",
    "WORDS",
    "Split",
    "SyntheticSet",
    "build_synthetic",
    "draw_card",
    "stamp",
]
