"""Image handling as Telegram clients do it: recompress photos, strip EXIF, make several sizes."""

from __future__ import annotations

import io
import mimetypes
from dataclasses import dataclass

from PIL import Image, ImageOps

try:  # HEIC photos from iPhones: Telegram clients convert them to JPEG.
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - optional
    pass

PHOTO_SIDES = (90, 320, 800, 1280)
JPEG_QUALITY = 87


@dataclass(frozen=True)
class PhotoVariant:
    """One recompressed size of a photo."""

    data: bytes
    width: int
    height: int


class NotAnImage(ValueError):
    """Raised when bytes that should be a photo cannot be decoded as an image."""


def _open(data: bytes) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as exc:
        raise NotAnImage(str(exc)) from exc
    return img


def photo_variants(data: bytes) -> list[PhotoVariant]:
    """Recompress an image into Telegram's photo sizes (90, 320, 800, 1280 max side), EXIF stripped."""
    img = ImageOps.exif_transpose(_open(data))
    if img.mode not in ("RGB", "L"):
        background = Image.new("RGB", img.size, (255, 255, 255))
        rgba = img.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        img = background
    max_side = max(img.size)
    sides = [s for s in PHOTO_SIDES if s < max_side]
    sides.append(min(max_side, PHOTO_SIDES[-1]))
    out: list[PhotoVariant] = []
    for side in dict.fromkeys(sides):
        scale = side / max_side
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        resized = img if size == img.size else img.resize(size, Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        resized.save(buf, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        out.append(PhotoVariant(buf.getvalue(), size[0], size[1]))
    return out


def thumbnail(data: bytes, side: int = 320) -> PhotoVariant | None:
    """Return a JPEG thumbnail of an image document, or None when the bytes are not an image."""
    try:
        img = ImageOps.exif_transpose(_open(data))
    except NotAnImage:
        return None
    img = img.convert("RGB")
    img.thumbnail((side, side))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=JPEG_QUALITY)
    return PhotoVariant(buf.getvalue(), img.width, img.height)


def sniff_mime(data: bytes, file_name: str | None) -> str:
    """Guess a MIME type from the bytes (images) or the file name."""
    try:
        img = Image.open(io.BytesIO(data))
        fmt = (img.format or "").upper()
        mime = Image.MIME.get(fmt)
        if fmt == "HEIF":
            mime = "image/heic"
        if mime:
            return mime
    except Exception:  # noqa: S110 - not an image: fall back to the name
        pass
    if file_name:
        guessed, _ = mimetypes.guess_type(file_name)
        if guessed:
            return guessed
    return "application/octet-stream"


def sticker_webp(emoji: str = "") -> bytes:
    """Return a small WEBP image standing in for a sticker."""
    img = Image.new("RGBA", (512, 512), (255, 200, 0, 255))
    buf = io.BytesIO()
    img.save(buf, format="WEBP")
    return buf.getvalue()
