"""Drawing what the set shows: corner signs, word cards and large colour panels.

Sizes follow real footage rather than what is easiest to read: a sign's letters are 12-16
pixels high on a 640x480 frame (a plate in a corner of a camera view), a card fills about a
sixth of the frame, a panel at least 60% of it (or all of it, as a full-screen slide). The
colours are those the CPU encoder names (``perception.encoders.cpu.colour_names``): each BGR
value sits in the middle of its hue band, so "mostly red" is red to any colour namer.

``draw_card``, ``COLOURS`` and ``WORDS`` are the cards of the first synthetic set, kept for
``evaluation.proactive_set`` (the decision head's training clips).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "COLOURS",
    "CORNERS",
    "FRAME",
    "PALETTE",
    "WORDS",
    "Look",
    "card_look",
    "draw",
    "draw_card",
    "panel_look",
    "sign_look",
]

BGR = tuple[int, int, int]
FRAME = (640, 480)  # width, height of every clip
CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
PALETTE: dict[str, BGR] = {
    "red": (40, 30, 215), "orange": (20, 130, 245), "yellow": (30, 215, 240),
    "green": (60, 170, 40), "blue": (200, 90, 20), "purple": (150, 40, 120),
    "pink": (210, 105, 255),
}  # fmt: skip
_LIGHT = {"orange", "yellow", "green", "pink"}  # black letters on these, white on the others
_FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
)
_WHITE, _BLACK, _DARK = (245, 245, 245), (20, 20, 20), (45, 45, 45)
# Sign plates as they are painted: (plate, letters). Small, so they never dominate the colours.
_PLATES: tuple[tuple[BGR, BGR], ...] = (
    (_WHITE, _BLACK),
    ((40, 110, 0), _WHITE),  # dark green
    ((120, 50, 0), _WHITE),  # dark blue
    (_BLACK, (0, 210, 255)),  # yellow on black
    ((0, 200, 235), _BLACK),  # black on yellow
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Look:
    """Where and how one text element is drawn: a plate (x, y, w, h) with a rim, the text
    centred on it with a Hershey font at ``scale``."""

    x: int
    y: int
    w: int
    h: int
    plate: BGR
    ink: BGR
    rim: BGR | None
    rim_px: int
    font: int
    scale: float
    thickness: int


def _fit(text: str, font: int, height: int, thickness: int) -> tuple[float, int, int]:
    """Font scale giving capitals ``height`` pixels high, and the text's width and height."""
    scale = cv2.getFontScaleFromHeight(font, height, thickness)
    (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    return scale, tw, th


def sign_look(text: str, corner: str, rng: random.Random) -> Look:
    """A small plate in ``corner``, letters 12-16 px high, 10-24 px from the frame's edges."""
    font, px = rng.choice(_FONTS), rng.randint(12, 16)
    thickness = 1 if px < 14 and font != cv2.FONT_HERSHEY_SIMPLEX else 2
    scale, tw, th = _fit(text, font, px, thickness)
    plate, ink = rng.choice(_PLATES)
    w, h = tw + 2 * rng.randint(px * 2 // 3, px), th + 2 * rng.randint(px // 2, px * 3 // 4)
    margin_x, margin_y = rng.randint(10, 24), rng.randint(10, 24)
    x = margin_x if corner.endswith("left") else FRAME[0] - w - margin_x
    y = margin_y if corner.startswith("top") else FRAME[1] - h - margin_y
    return Look(x=x, y=y, w=w, h=h, plate=plate, ink=ink, rim=_DARK, rim_px=2, font=font,
                scale=scale, thickness=thickness)  # fmt: skip


def card_look(text: str, colour: str, rng: random.Random) -> Look:
    """A coloured card of about a sixth of the frame, held somewhere clear of the corners."""
    font, px = rng.choice(_FONTS), rng.randint(28, 40)
    scale, tw, _ = _fit(text, font, px, 3)
    w, h = max(tw + 60, rng.randint(300, 340)), rng.randint(170, 200)
    x = rng.randint(80, FRAME[0] - w - 80) if FRAME[0] - w - 80 > 80 else (FRAME[0] - w) // 2
    y = rng.randint(80, FRAME[1] - h - 80)
    rim = _WHITE if rng.random() < 0.5 else None
    return Look(x=x, y=y, w=w, h=h, plate=PALETTE[colour], ink=_ink(colour), rim=rim,
                rim_px=6, font=font, scale=scale, thickness=3)  # fmt: skip


def panel_look(text: str, colour: str, rng: random.Random, *, full: bool) -> Look:
    """A panel covering the whole frame (``full``) or 60-85% of it, the word large."""
    if full:
        x, y, w, h = 0, 0, *FRAME
    else:
        share = rng.uniform(0.6, 0.85) ** 0.5
        w, h = round(FRAME[0] * share), round(FRAME[1] * share)
        x, y = rng.randint(0, FRAME[0] - w), rng.randint(0, FRAME[1] - h)
    font, px = rng.choice(_FONTS), rng.randint(44, 64)
    scale, tw, _ = _fit(text or "X", font, px, 4)
    if tw > w - 40:  # a long word on a narrow panel: smaller letters
        scale *= (w - 40) / tw
    return Look(x=x, y=y, w=w, h=h, plate=PALETTE[colour], ink=_ink(colour), rim=None,
                rim_px=0, font=font, scale=scale, thickness=4)  # fmt: skip


def _ink(colour: str) -> BGR:
    return _BLACK if colour in _LIGHT else _WHITE


def draw(image: np.ndarray, text: str, look: Look) -> None:
    """Draw the plate and its centred ``text`` on ``image`` in place."""
    x, y, w, h, r = look.x, look.y, look.w, look.h, look.rim_px
    if look.rim is not None:
        cv2.rectangle(image, (x - r, y - r), (x + w + r - 1, y + h + r - 1), look.rim, -1)
    cv2.rectangle(image, (x, y), (x + w - 1, y + h - 1), look.plate, -1)
    if not text:
        return
    (tw, th), _ = cv2.getTextSize(text, look.font, look.scale, look.thickness)
    origin = (x + (w - tw) // 2, y + (h + th) // 2)
    cv2.putText(image, text, origin, look.font, look.scale, look.ink, look.thickness, cv2.LINE_AA)


# The first synthetic set's cards (see the module docstring).
WORDS = ("HARBOR", "MAPLE", "CASTLE", "RIVER", "TIGER", "PLANET", "GARDEN", "SILVER")
COLOURS = {
    "red": (0, 0, 230), "blue": (230, 60, 0), "yellow": (0, 220, 230), "purple": (200, 0, 140),
}  # fmt: skip


def draw_card(image: np.ndarray, word: str, colour: tuple[int, int, int]) -> np.ndarray:
    """A coloured panel over the middle fifth of the frame with ``word`` in large black type."""
    image = image.copy()
    h, w = image.shape[:2]
    x0, y0, x1, y1 = w // 4, int(h * 0.3), 3 * w // 4, int(h * 0.7)
    cv2.rectangle(image, (x0, y0), (x1, y1), colour, -1)
    scale, thick = h / 220, max(2, h // 120)
    (tw, th), _ = cv2.getTextSize(word, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    org = ((x0 + x1 - tw) // 2, (y0 + y1 + th) // 2)
    cv2.putText(image, word, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick + 4)
    cv2.putText(image, word, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick)
    return image
