"""Hostile and unsupported input is rejected with a stable code, never a crash."""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from media.checks import MAX_BYTES, check_image, open_image, read_input
from media.messages import MediaError
from media.pipeline import process
from tests.media.synth import jpeg, room


def _code(data: bytes | Path) -> str:
    with pytest.raises(MediaError) as info:
        process(data)
    err = info.value
    # every rejection has a message in both languages
    assert err.message("zh-CN") and err.message("en") and err.message("zh-CN") != err.message("en")
    assert err.to_dict()["code"] == err.code
    return err.code


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (grey, 8-bit) with almost no data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def test_zero_bytes() -> None:
    assert _code(b"") == "empty"


def test_empty_file_on_disk(tmp_path: Path) -> None:
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    assert _code(p) == "empty"


def test_text_named_jpg(tmp_path: Path) -> None:
    p = tmp_path / "photo.jpg"
    p.write_text("this is not a photo, whatever the name says\n")
    assert _code(p) == "not_image"


def test_random_bytes_are_not_an_image() -> None:
    assert _code(random.Random(1).randbytes(5000)) == "not_image"


def test_over_20_mb_is_rejected_before_parsing(tmp_path: Path) -> None:
    big = b"\xff\xd8\xff" + b"\x00" * MAX_BYTES
    assert _code(big) == "too_large"
    p = tmp_path / "big.jpg"
    p.write_bytes(big)
    assert _code(p) == "too_large"
    with pytest.raises(MediaError):
        read_input(p)


@pytest.mark.parametrize(
    ("width", "height"),
    [(8000, 7000), (10_000, 10_000), (30_000, 30_000)],
    ids=["56MP-over-our-limit", "100MP-pillow-warning", "900MP-pillow-error"],
)
def test_png_header_claiming_huge_dimensions(width: int, height: int) -> None:
    assert _code(png_claiming(width, height)) == "too_many_pixels"


def test_real_decompression_bomb() -> None:
    """60 MP of one colour compresses to a few KB: refused from the header, never decoded."""
    buf = io.BytesIO()
    Image.new("1", (10_000, 6_000)).save(buf, "PNG")
    data = buf.getvalue()
    assert len(data) < 100_000
    assert _code(data) == "too_many_pixels"


def test_under_the_pixel_limit_is_fine() -> None:
    _img, info = open_image(png_claiming(100, 100))
    assert (info.width, info.height) == (100, 100)


def test_truncated_jpeg() -> None:
    data = jpeg(room(1))
    assert _code(data[: len(data) // 2]) == "truncated"
    assert _code(data[:-200]) == "truncated"


def test_truncated_png() -> None:
    buf = io.BytesIO()
    room(2).save(buf, "PNG")
    data = buf.getvalue()
    assert _code(data[: len(data) // 2]) in {"truncated", "corrupt"}


def test_corrupt_png_crc() -> None:
    buf = io.BytesIO()
    room(2, (64, 48)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    data[60] ^= 0xFF  # inside the IDAT payload
    assert _code(bytes(data)) in {"truncated", "corrupt"}
    data = bytearray(buf.getvalue())
    data[37:41] = b"XXXX"  # the IDAT chunk type itself
    assert _code(bytes(data)) == "corrupt"


def test_jpeg_signature_with_garbage_is_corrupt() -> None:
    assert _code(b"\xff\xd8\xff\xe0" + b"garbage" * 50) in {"corrupt", "truncated"}


def test_animated_gif() -> None:
    frames = [Image.new("RGB", (32, 32), c) for c in ("red", "green", "blue")]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert _code(buf.getvalue()) == "animated"


def test_animated_webp() -> None:
    frames = [Image.new("RGB", (32, 32), c) for c in ("red", "green")]
    buf = io.BytesIO()
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], duration=100)
    assert _code(buf.getvalue()) == "animated"


def test_animated_png() -> None:
    frames = [Image.new("RGB", (32, 32), c) for c in ("red", "green")]
    buf = io.BytesIO()
    frames[0].save(buf, "PNG", save_all=True, append_images=frames[1:], duration=100)
    assert _code(buf.getvalue()) == "animated"


def test_still_gif_and_bmp_are_unsupported_formats() -> None:
    for fmt in ("GIF", "BMP", "TIFF"):
        buf = io.BytesIO()
        Image.new("RGB", (16, 16), "red").save(buf, fmt)
        assert _code(buf.getvalue()) == "unsupported_format"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_accepted_formats(fmt: str) -> None:
    buf = io.BytesIO()
    room(4, (200, 150)).save(buf, fmt)
    info = check_image(buf.getvalue())
    assert info.format == fmt and (info.width, info.height) == (200, 150)


def test_heif_roundtrip_is_accepted() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    room(5, (256, 192)).save(buf, "HEIF")
    assert check_image(buf.getvalue()).format == "HEIF"


def test_grey_cmyk_and_alpha_images_are_processed() -> None:
    for mode, fmt in (
        ("L", "JPEG"),
        ("CMYK", "JPEG"),
        ("RGBA", "PNG"),
        ("P", "PNG"),
        ("LA", "PNG"),
        ("I;16", "PNG"),
    ):
        buf = io.BytesIO()
        room(6, (120, 90)).convert(mode if mode != "I;16" else "L").convert(mode).save(buf, fmt)
        report = process(buf.getvalue())
        assert report.display.width == 120


def test_mutated_jpeg_never_crashes() -> None:
    """Fuzz: random byte flips, cuts and splices only ever give a report or a MediaError."""
    base = jpeg(room(7, (160, 120)))
    rng = random.Random(42)
    for _ in range(300):
        data = bytearray(base)
        for _ in range(rng.randint(1, 12)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(2, len(data))]
        try:
            process(bytes(data))
        except MediaError:
            pass


def test_mutated_png_and_webp_never_crash() -> None:
    rng = random.Random(7)
    for fmt in ("PNG", "WEBP"):
        buf = io.BytesIO()
        room(8, (96, 72)).save(buf, fmt)
        base = buf.getvalue()
        for _ in range(150):
            data = bytearray(base)
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            try:
                process(bytes(data))
            except MediaError:
                pass


def test_camera_jpeg_with_mpf_preview_is_a_still_jpeg() -> None:
    """Many cameras append a preview as a second MPF image (Pillow: 'MPO'): still one photo."""
    main, preview = room(9, (640, 480)), room(9, (320, 240))
    buf = io.BytesIO()
    main.save(buf, "MPO", save_all=True, append_images=[preview])
    data = buf.getvalue()
    assert Image.open(io.BytesIO(data)).format == "MPO"
    info = check_image(data)
    assert info.format == "JPEG" and info.mime == "image/jpeg" and (info.width, info.height) == (640, 480)
    assert process(data).display.width == 640
