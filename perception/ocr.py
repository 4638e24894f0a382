"""On-screen text with RapidOCR (PP-OCRv4 detection and recognition, ONNX on CPU).

OCR is the slowest thing perception does (0.3-2 s a frame on a CPU core), so the video stage
runs it in a lane of its own, only when the picture changed. This wrapper keeps the cost down:
it shrinks big frames before detection, skips the orientation classifier (upside-down text is
rare in video) and pins onnxruntime to few threads so that it does not starve the encoder.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from vigil.errors import ModelError

__all__ = ["TextLine", "TextReader", "tidy"]

_DIGIT_IN_WORD = re.compile(r"(?<=[A-Za-z])0(?=[A-Za-z])|(?<=[A-Za-z]{2})0\b")
_LETTER_IN_NUMBER = re.compile(r"(?<=\d)[Oo](?=\d)|\b[Oo](?=\d)")


def tidy(text: str) -> str:
    """The usual digit-for-letter slips mended: a zero inside a word is an O ("PLATF0RM"),
    an O inside a number is a zero ("1O5")."""
    text = _DIGIT_IN_WORD.sub(lambda m: "o" if m.string[m.start() - 1].islower() else "O", text)
    return _LETTER_IN_NUMBER.sub("0", text)


@dataclass(frozen=True, slots=True)
class TextLine:
    """One line of text read from a frame; ``box`` is (x, y, w, h) in original pixels."""

    text: str
    confidence: float
    box: tuple[int, int, int, int]


class TextReader:
    """Reads text lines from BGR frames, dropping lines under ``min_confidence``.

    ``max_side`` bounds the longer side of the image given to the detector: text smaller than
    about 12 pixels at that scale is lost, which is acceptable for captions, signs and slides.
    """

    def __init__(
        self,
        min_confidence: float = 0.6,
        *,
        max_side: int = 960,
        threads: int = 1,
        min_chars: int = 2,
    ) -> None:
        self.min_confidence = min_confidence
        self.max_side = max_side
        self.threads = threads
        self.min_chars = min_chars
        self.last_seconds = 0.0
        self._engine: Any = None

    def load(self) -> None:
        """Build the OCR engine (about 0.3 s); :meth:`read` calls it on first use."""
        if self._engine is not None:
            return
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as error:  # pragma: no cover - depends on the installation
            raise ModelError(
                "rapidocr-onnxruntime is not installed",
                hint="pip install --no-deps rapidocr-onnxruntime",
            ) from error
        engine = RapidOCR(intra_op_num_threads=self.threads, inter_op_num_threads=1)
        # The detector would otherwise upscale every frame so that its short side is 736 px.
        engine.text_det.limit_type = "min"
        engine.text_det.limit_side_len = 32
        self._engine = engine

    def read(self, image: np.ndarray) -> list[TextLine]:
        """Text lines in reading order (top to bottom, then left to right)."""
        self.load()
        started = time.perf_counter()
        factor = min(1.0, self.max_side / max(image.shape[:2]))
        scaled = image
        if factor < 0.98:
            size = (round(image.shape[1] * factor), round(image.shape[0] * factor))
            scaled = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        result, _ = self._engine(scaled, use_cls=False, text_score=self.min_confidence)
        lines: list[TextLine] = []
        for points, text, score in result or ():
            text = tidy(str(text).strip())
            if float(score) < self.min_confidence or len(text) < self.min_chars:
                continue
            pts = np.asarray(points, dtype=np.float32) / factor
            x, y = pts.min(axis=0)
            x2, y2 = pts.max(axis=0)
            box = (round(x), round(y), round(x2 - x), round(y2 - y))
            lines.append(TextLine(text=text, confidence=float(score), box=box))
        lines.sort(key=lambda line: (round(line.box[1] / 16), line.box[0]))
        self.last_seconds = time.perf_counter() - started
        return lines
