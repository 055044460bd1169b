"""Display copy and thumbnail: EXIF stripped (no GPS leaks to viewers), orientation applied.

JPEG originals are decoded in draft mode: libjpeg scales by 1/2, 1/4 or 1/8 while decoding, so a
12-megapixel photo never exists at full size in memory and most of the IDCT work is skipped.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Final

from PIL import Image

from media.checks import decode
from media.redact import redact_text

DISPLAY_MAX: Final = 1024  # longest edge of the display copy, px
THUMB_MAX: Final = 320  # longest edge of the thumbnail, px
DISPLAY_QUALITY: Final = 85
THUMB_QUALITY: Final = 80
# Let draft mode pick a scale whose result is slightly under the target (a 4000-px photo at 1/4 is
# 1000 px): a display copy 2 % smaller is invisible, decoding at 1/2 instead of 1/4 is not.
_DRAFT_SLACK: Final = 0.97

_TRANSPOSE: Final[dict[int, tuple[Image.Transpose, ...]]] = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


@dataclass(frozen=True, slots=True)
class Derived:
    """The derived JPEGs and the oriented thumbnail image used for perceptual hashing."""

    display: bytes
    display_size: tuple[int, int]
    thumbnail: bytes
    thumbnail_size: tuple[int, int]
    thumbnail_image: Image.Image
    decoded_size: tuple[int, int]


def fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """``size`` scaled down (never up) so its longest edge is at most ``longest``."""
    w, h = size
    scale = min(1.0, longest / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def orient(img: Image.Image, orientation: int | None) -> Image.Image:
    """Apply an EXIF orientation (1-8) to the pixels."""
    for op in _TRANSPOSE.get(orientation or 1, ()):
        img = img.transpose(op)
    return img


def to_rgb(img: Image.Image) -> Image.Image:
    """RGB pixels for JPEG output; transparency is flattened onto white."""
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    if img.mode == "L":
        return img
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        return img.convert("I").point(lambda v: v / 256).convert("L")
    return img.convert("RGB")


def _jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    # A fresh image carries no info dict from the original: nothing of EXIF, XMP or ICC GPS leaks.
    img.save(buf, "JPEG", quality=quality, optimize=False)
    return buf.getvalue()


def draft_request(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """The size to ask draft mode for so it decodes no more pixels than ``longest`` needs."""
    w, h = fit(size, longest)
    return max(1, int(w * _DRAFT_SLACK)), max(1, int(h * _DRAFT_SLACK))


def derive(
    img: Image.Image,
    orientation: int | None,
    display_max: int = DISPLAY_MAX,
    thumb_max: int = THUMB_MAX,
    redact: bool = False,
) -> Derived:
    """Decode once (draft mode for JPEG) and produce the display copy and the thumbnail.

    With ``redact`` (a document photo), both copies have every text-like region pixelated
    (``media.redact``); the thumbnail image returned for perceptual hashing is not redacted, so a
    reused document photo is still recognised.
    """
    decode(img, draft_request(img.size, display_max))
    decoded_size = img.size
    pixels = to_rgb(img)
    pixels = orient(pixels, orientation)
    display_size = fit(pixels.size, display_max)
    if display_size != pixels.size:
        pixels = pixels.resize(display_size, Image.Resampling.BICUBIC, reducing_gap=2.0)
    thumb_size = fit(display_size, thumb_max)
    thumb = (
        pixels.resize(thumb_size, Image.Resampling.BICUBIC, reducing_gap=1.0)
        if thumb_size != display_size
        else pixels
    )
    if thumb is img:
        thumb = img.copy()  # the caller closes the original; the thumbnail must outlive it
    shown, shown_thumb = pixels, thumb
    if redact:
        shown = redact_text(pixels)
        shown_thumb = (
            shown.resize(thumb_size, Image.Resampling.BICUBIC, reducing_gap=1.0)
            if thumb_size != display_size
            else shown
        )
    return Derived(
        display=_jpeg(shown, DISPLAY_QUALITY),
        display_size=display_size,
        thumbnail=_jpeg(shown_thumb, THUMB_QUALITY),
        thumbnail_size=thumb_size,
        thumbnail_image=thumb,
        decoded_size=decoded_size,
    )
