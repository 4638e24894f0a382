"""What a line of text is written on: a card held up, or something that fills the view.

"How many cards have been shown?" must not count the word on a full-screen slide or on a panel
that covers most of the picture: those are screens, not cards. OCR gives each line's box; the
colour just around the box is what the text is written on (a card's plate, a panel, a slide),
and the size of the region of that colour connected to the box says how large that thing is:
a card held up or a plate on a wall covers a small part of the frame, a slide or panel most
of it. Connected, so that a green card held in front of a green hedge is still a card.
"""

from __future__ import annotations

import cv2
import numpy as np

from perception.encoders.cpu import pixel_colours

__all__ = ["backdrop_shares"]

_SIZE = (160, 120)
"""The resolution the backdrop is measured at: enough for a line of text's surroundings."""


def backdrop_shares(image: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> tuple[float, ...]:
    """For each text box (x, y, w, h) of the BGR ``image``, the share of the frame covered by
    the region of one colour it is written on (0 when it cannot be told)."""
    if not boxes:
        return ()
    height, width = image.shape[:2]
    small = cv2.resize(image, _SIZE, interpolation=cv2.INTER_AREA)
    names = pixel_colours(cv2.cvtColor(small, cv2.COLOR_BGR2HSV)).reshape(_SIZE[1], _SIZE[0])
    sx, sy = _SIZE[0] / width, _SIZE[1] / height
    shares = []
    for x, y, w, h in boxes:
        x0, y0 = max(0, int(x * sx)), max(0, int(y * sy))  # OCR boxes may start off the frame
        x1, y1 = max(x0 + 1, round((x + w) * sx)), max(y0 + 1, round((y + h) * sy))
        margin = max(2, (y1 - y0) // 2)
        ring = np.zeros(names.shape, dtype=bool)
        ring[max(0, y0 - margin) : y1 + margin, max(0, x0 - margin) : x1 + margin] = True
        ring[y0:y1, x0:x1] = False
        if not ring.any():
            shares.append(0.0)
            continue
        labels, counts = np.unique(names[ring], return_counts=True)
        colour = labels[int(np.argmax(counts))]
        mask = (names == colour).astype(np.uint8)
        _, regions = cv2.connectedComponents(mask, connectivity=4)
        touching = np.unique(regions[ring & (mask > 0)])
        area = np.isin(regions, touching[touching > 0]).sum()
        shares.append(round(float(area) / names.size, 3))
    return tuple(shares)
