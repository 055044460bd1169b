"""Accept or reject image bytes before anything else looks at them.

Order matters for safety: size is checked before reading, the header (format, dimensions, frame
count) before any pixel is decoded, and every Pillow parse error becomes a ``MediaError``.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from PIL import Image, UnidentifiedImageError

from media.messages import MediaError

MAX_BYTES: Final = 20 * 1024 * 1024  # Telegram's bot download limit
MAX_PIXELS: Final = 50_000_000
ACCEPTED: Final[dict[str, str]] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIF": "image/heif",
}
# Formats Pillow may parse at all: the accepted ones plus GIF, only so an animated GIF is named as such.
_PARSE_FORMATS: Final = ("JPEG", "PNG", "WEBP", "HEIF", "GIF")

_HEIF_SEQUENCE_BRANDS: Final = (b"msf1", b"hevc", b"hevx", b"avis")

DataOrPath = bytes | bytearray | memoryview | str | os.PathLike[str]


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What the header says about an accepted image."""

    format: str
    mime: str
    width: int
    height: int
    size_bytes: int


@functools.cache
def register_heif() -> None:
    """Register the pillow-heif opener with Pillow (idempotent)."""
    import pillow_heif

    pillow_heif.register_heif_opener(thumbnails=False)


def read_input(data_or_path: DataOrPath, max_bytes: int = MAX_BYTES) -> bytes:
    """Return the bytes of ``data_or_path``, refusing empty input or more than ``max_bytes``."""
    if isinstance(data_or_path, bytes | bytearray | memoryview):
        data = bytes(data_or_path)
    else:
        path = Path(data_or_path)
        size = path.stat().st_size
        if size > max_bytes:
            raise MediaError("too_large", size_mb=_mb(size), limit_mb=_mb(max_bytes))
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    if not data:
        raise MediaError("empty")
    if len(data) > max_bytes:
        raise MediaError("too_large", size_mb=_mb(len(data)), limit_mb=_mb(max_bytes))
    return data


def _mb(n: int) -> float:
    return round(n / (1024 * 1024), 1)


@contextlib.contextmanager
def pillow_guard() -> Iterator[None]:
    """Turn every Pillow parse failure (and the decompression-bomb warning) into a ``MediaError``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError("too_many_pixels", width="?", height="?", limit_mp=MAX_PIXELS // 1_000_000) from exc
    except UnidentifiedImageError as exc:
        raise MediaError("not_image") from exc
    except Exception as exc:  # hostile input may raise anything from deep inside a plugin
        text = str(exc).lower()
        if "truncated" in text or isinstance(exc, EOFError) or "premature end" in text:
            raise MediaError("truncated") from exc
        raise MediaError("corrupt") from exc


def open_image(
    data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS
) -> tuple[Image.Image, ImageInfo]:
    """Open ``data`` lazily and check size, format, dimensions and animation from the header only."""
    if not data:
        raise MediaError("empty")
    if len(data) > max_bytes:
        raise MediaError("too_large", size_mb=_mb(len(data)), limit_mb=_mb(max_bytes))
    register_heif()
    with pillow_guard():
        try:
            img = Image.open(io.BytesIO(data), formats=_PARSE_FORMATS)
        except UnidentifiedImageError:
            if looks_accepted(data):
                raise MediaError("corrupt") from None  # right signature, broken structure
            other = sniff_other_format(data)
            if other is not None:
                raise MediaError("unsupported_format", format=other) from None
            raise
        width, height = img.size
        if width <= 0 or height <= 0:
            raise MediaError("corrupt")
        if width * height > max_pixels:
            raise MediaError("too_many_pixels", width=width, height=height, limit_mp=max_pixels // 1_000_000)
        fmt = str(img.format or "")
        frames = int(getattr(img, "n_frames", 1) or 1)
        # Camera JPEGs often carry a preview as a second MPF image (Pillow calls them MPO) and HEIF
        # files may hold auxiliary/extra images: their first (primary) image is the photo. Only
        # formats that animate (GIF, APNG, animated WebP, HEIF image sequences) are refused.
        if fmt == "MPO":
            fmt = "JPEG"
        elif fmt == "HEIF":
            if data[8:12] in _HEIF_SEQUENCE_BRANDS:
                raise MediaError("animated", frames=frames)
        elif getattr(img, "is_animated", False) or frames > 1:
            raise MediaError("animated", frames=frames)
        if fmt not in ACCEPTED:
            raise MediaError("unsupported_format", format=fmt or "?")
        if fmt == "PNG":
            # Pillow checks PNG chunk CRCs only in verify(); it needs its own parser instance.
            with Image.open(io.BytesIO(data), formats=("PNG",)) as probe:
                probe.verify()
    return img, ImageInfo(fmt, ACCEPTED[fmt], width, height, len(data))


_OTHER_MAGIC: Final[tuple[tuple[bytes, str], ...]] = (
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"GIF8", "GIF"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"8BPS", "PSD"),
    (b"%PDF", "PDF"),
)


def looks_accepted(data: bytes) -> bool:
    """Whether ``data`` starts like an accepted format (JPEG, PNG, WebP, HEIF)."""
    return (
        data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"))
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
        or (
            data[4:8] == b"ftyp"
            and data[8:12] in (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"hevc")
        )
    )


def sniff_other_format(data: bytes) -> str | None:
    """Name a well-known format we do not accept (for a clearer rejection), from its magic bytes."""
    for magic, name in _OTHER_MAGIC:
        if data.startswith(magic):
            return name
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "AVIF"
    return None


def decode(img: Image.Image, draft_size: tuple[int, int] | None = None) -> Image.Image:
    """Decode the pixels, at reduced scale for JPEG when ``draft_size`` is given (draft mode)."""
    with pillow_guard():
        if draft_size is not None and img.format in ("JPEG", "MPO"):
            mode = "RGB" if img.mode not in ("L", "CMYK") else img.mode
            img.draft(mode, draft_size)
        img.load()
    return img


def check_image(data_or_path: DataOrPath, *, max_bytes: int = MAX_BYTES) -> ImageInfo:
    """Accept or reject input: returns its ``ImageInfo`` or raises ``MediaError``."""
    data = read_input(data_or_path, max_bytes)
    img, info = open_image(data, max_bytes=max_bytes)
    try:
        # A scaled decode still reads every entropy-coded byte, so truncation is caught cheaply.
        decode(img, (256, 256))
    finally:
        img.close()
    return info
