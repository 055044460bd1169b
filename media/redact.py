"""Document photos: every text-like region of the display copy is pixelated before it is stored.

Without OCR we cannot tell an ID number from a name or an address, so the rule is deliberately
broad: any area of the photo that looks like printed or written text is pixelated, whatever it
says. "Looks like text" is judged per cell (1/64 of the longest edge, at least 8 px) on the
contrast-stretched grey image: a cell is text-like when it holds many strong edges (mean gradient
above ``EDGE_THRESHOLD``) and both dark and light pixels (spread above ``SPREAD_THRESHOLD``).
Text-like cells are grown by one cell on every side (so no stroke at a cell's edge escapes) and
pixelated into blocks of at least 1/24 of the longest edge: an 18-digit number on an ID card that
fills the frame becomes about one block per digit. Plain areas (the card's background, a table
top) stay as they were, so the copy still shows what kind of document was photographed and where
it differs; the original, encrypted at rest, keeps the full detail for those allowed to see it.
Over-blurring (a patterned tablecloth, a face) is the accepted cost of never leaking a number.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image

EDGE_THRESHOLD: Final = 10.0  # mean |dx|+|dy| per pixel in a cell, on a 0-255 stretched scale
SPREAD_THRESHOLD: Final = 60.0  # darkest-to-lightest difference within a cell
CELL_FRACTION: Final = 64
BLOCK_FRACTION: Final = 24


def _stretched_grey(img: Image.Image) -> NDArray[np.float32]:
    grey = np.asarray(img.convert("L"), dtype=np.float32)
    lo, hi = np.percentile(grey, (2, 98))
    if hi - lo < 1:
        return np.zeros_like(grey)
    stretched: NDArray[np.float32] = np.clip((grey - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.float32)
    return stretched


def text_mask(img: Image.Image) -> NDArray[np.bool_]:
    """Per-pixel mask of the text-like regions of ``img`` (grown by one cell)."""
    grey = _stretched_grey(img)
    h, w = grey.shape
    cell = max(8, max(w, h) // CELL_FRACTION)
    gx = np.zeros_like(grey)
    gy = np.zeros_like(grey)
    gx[:, 1:] = np.abs(np.diff(grey, axis=1))
    gy[1:, :] = np.abs(np.diff(grey, axis=0))
    energy = gx + gy
    rows, cols = -(-h // cell), -(-w // cell)
    pad = ((0, rows * cell - h), (0, cols * cell - w))
    e = np.pad(energy, pad).reshape(rows, cell, cols, cell)
    g = np.pad(grey, pad, mode="edge").reshape(rows, cell, cols, cell)
    mean_edge = e.mean(axis=(1, 3))
    spread = g.max(axis=(1, 3)) - g.min(axis=(1, 3))
    cells = (mean_edge > EDGE_THRESHOLD) & (spread > SPREAD_THRESHOLD)
    grown = cells.copy()
    grown[1:, :] |= cells[:-1, :]
    grown[:-1, :] |= cells[1:, :]
    grown[:, 1:] |= grown[:, :-1].copy()
    grown[:, :-1] |= grown[:, 1:].copy()
    full = np.repeat(np.repeat(grown, cell, axis=0), cell, axis=1)
    return full[:h, :w]


def pixelate(img: Image.Image, block: int) -> Image.Image:
    """``img`` in square blocks of ``block`` pixels (each the mean of its pixels)."""
    w, h = img.size
    small = img.resize((max(1, -(-w // block)), max(1, -(-h // block))), Image.Resampling.BOX)
    return small.resize((small.width * block, small.height * block), Image.Resampling.NEAREST).crop(
        (0, 0, w, h)
    )


def redact_text(img: Image.Image) -> Image.Image:
    """A copy of ``img`` with every text-like region pixelated (see the module's rule)."""
    mask = text_mask(img)
    if not mask.any():
        return img.copy()
    block = max(16, max(img.size) // BLOCK_FRACTION)
    blurred = pixelate(img, block)
    mask_img = Image.fromarray(mask.astype(np.uint8) * 255, mode="L")
    return Image.composite(blurred, img, mask_img)
