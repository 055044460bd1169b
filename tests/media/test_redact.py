"""Document photos: the display copy's number area is pixelated before it is stored."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from media.pipeline import process_full
from media.redact import redact_text, text_mask

NUMBER_BOX = (60, 430, 800, 500)  # where the 18-digit number is drawn on the 856x540 card
PLAIN_BOX = (60, 20, 500, 70)  # an empty band of the card


def id_card_jpeg() -> bytes:
    """An ID-card-like photo: a light card on a darker table, text lines and an 18-digit number."""
    img = Image.new("RGB", (1000, 700), (90, 70, 50))
    card = Image.new("RGB", (856, 540), (235, 238, 245))
    draw = ImageDraw.Draw(card)
    font = ImageFont.load_default(size=36)
    small = ImageFont.load_default(size=26)
    for i, line in enumerate(
        ("NAME  ZHANG SAN", "SEX M   ETHNIC HAN", "BORN 1980 01 02", "ADDRESS VILLAGE 3")
    ):
        draw.text((60, 110 + i * 60), line, fill=(30, 30, 30), font=small)
    draw.rectangle((620, 110, 800, 340), outline=(120, 120, 120), width=3)
    draw.text((70, 440), "110105198001021234", fill=(10, 10, 10), font=font)
    img.paste(card, (72, 80))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95)
    return buf.getvalue()


def _region(jpeg: bytes, box: tuple[int, int, int, int]) -> np.ndarray:
    img = Image.open(io.BytesIO(jpeg)).convert("L")
    x0, y0, x1, y1 = box
    return np.asarray(img.crop((x0 + 72, y0 + 80, x1 + 72, y1 + 80)), dtype=np.float32)


def _edges(a: np.ndarray) -> float:
    return float(np.abs(np.diff(a, axis=1)).mean() + np.abs(np.diff(a, axis=0)).mean())


def test_document_display_copy_pixelates_the_number() -> None:
    photo = id_card_jpeg()
    plain = process_full(photo, display_max=1024)
    doc = process_full(photo, display_max=1024, document=True)
    assert doc.report.redacted and not plain.report.redacted
    assert doc.report.perceptual_hash == plain.report.perceptual_hash  # reuse still recognised
    before, after = _region(plain.display, NUMBER_BOX), _region(doc.display, NUMBER_BOX)
    assert float(np.abs(before - after).mean()) > 15  # the number region changed strongly
    assert _edges(after) < 0.35 * _edges(before)  # and lost its strokes
    top_before, top_after = _region(plain.display, PLAIN_BOX), _region(doc.display, PLAIN_BOX)
    assert float(np.abs(top_before - top_after).mean()) < 3  # empty card areas are left as they were
    assert doc.thumbnail != plain.thumbnail
    assert doc.original == photo  # the original keeps its detail (it is encrypted at rest)


def test_plain_image_is_not_touched_and_text_is_found() -> None:
    flat = Image.new("RGB", (300, 200), (200, 200, 200))
    assert not text_mask(flat).any()
    assert np.array_equal(np.asarray(redact_text(flat)), np.asarray(flat))
    card = Image.open(io.BytesIO(id_card_jpeg())).convert("RGB")
    mask = text_mask(card)
    x0, y0, _x1, y1 = NUMBER_BOX
    assert mask[y0 + 80 + 20 : y1 + 80 - 20, x0 + 72 + 20 : x0 + 72 + 300].all()
