"""Frames made smaller for what is sent or kept of them, not for what is analysed."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["shrink"]


def shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    """``image`` with its longest side at most ``max_side`` pixels, aspect kept (never
    enlarged: a small frame would only gain bytes); area averaging, which keeps text legible."""
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
