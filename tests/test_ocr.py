"""RapidOCR reads back text drawn with OpenCV."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from perception.backdrop import backdrop_shares
from perception.ocr import TextReader


@pytest.fixture(scope="module")
def reader() -> TextReader:
    reader = TextReader(min_confidence=0.6)
    reader.load()
    return reader


def sign(text: str, size: tuple[int, int] = (640, 480), scale: float = 2.0) -> np.ndarray:
    image = np.full((size[1], size[0], 3), 235, np.uint8)
    cv2.putText(image, text, (40, size[1] // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), 4)
    return image


def test_reads_a_sign(reader: TextReader) -> None:
    lines = reader.read(sign("EXIT 42"))
    print(f"OCR {reader.last_seconds * 1000:.0f} ms: {lines}")
    assert [line.text.replace(" ", "") for line in lines] == ["EXIT42"]
    assert lines[0].confidence >= 0.6
    x, y, w, _h = lines[0].box
    assert 20 <= x <= 80 and 160 <= y <= 260 and w > 200


def test_big_frames_are_downscaled_and_boxes_map_back(reader: TextReader) -> None:
    image = sign("HELLO", size=(1920, 1080), scale=5.0)
    lines = reader.read(image)
    print(f"OCR 1080p {reader.last_seconds * 1000:.0f} ms: {lines}")
    assert [line.text for line in lines] == ["HELLO"]
    x, y, w, _h = lines[0].box
    assert x < 120 and 380 < y < 560 and w > 400  # in the 1920x1080 frame's pixels


def test_no_text_reads_nothing(reader: TextReader) -> None:
    assert reader.read(np.full((480, 640, 3), 90, np.uint8)) == []


def _scene() -> np.ndarray:
    """A busy green-and-grey street-like backdrop (random blocks), the same every run."""
    rng = np.random.default_rng(7)
    blocks = rng.choice([60, 110, 160], size=(12, 16, 3)).astype(np.uint8)
    blocks[..., 1] = rng.choice([90, 160], size=(12, 16))
    return cv2.resize(blocks, (640, 480), interpolation=cv2.INTER_NEAREST)


def test_a_card_held_up_and_a_slide_that_fills_the_view_have_different_backdrops(
    reader: TextReader,
) -> None:
    card = _scene()
    cv2.rectangle(card, (180, 160), (480, 340), (0, 0, 230), -1)  # a red card, a sixth
    cv2.putText(card, "COMET", (220, 270), cv2.FONT_HERSHEY_SIMPLEX, 1.8, (255, 255, 255), 4)
    slide = np.full((480, 640, 3), (230, 60, 0), np.uint8)  # a blue slide, all of the view
    cv2.putText(slide, "CLOSED", (140, 260), cv2.FONT_HERSHEY_SIMPLEX, 2.4, (255, 255, 255), 5)
    shares = []
    for image in (card, slide):
        lines = reader.read(image)
        assert len(lines) == 1
        shares += backdrop_shares(image, [lines[0].box])
    assert shares[0] < 0.3 and shares[1] > 0.9, shares


def test_a_box_reaching_past_the_frame_still_gets_a_backdrop() -> None:
    slide = np.full((480, 640, 3), (230, 60, 0), np.uint8)
    assert backdrop_shares(slide, [(-8, -5, 200, 40), (600, 450, 80, 60)]) == (1.0, 1.0)
