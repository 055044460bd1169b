"""Generated test pictures: camera-like rooms with random textures and furniture shapes."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def room(seed: int, size: tuple[int, int] = (800, 600)) -> Image.Image:
    """A synthetic 'room': wall and floor gradients, random furniture boxes, a textured noise layer."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    horizon = h * rng.uniform(0.5, 0.7)
    wall = np.array(rng.uniform(150, 230, 3), dtype=np.float32)
    floor = np.array(rng.uniform(60, 140, 3), dtype=np.float32)
    base = np.where((yy < horizon)[..., None], wall, floor)
    shade = (1.0 - 0.25 * (xx / w))[..., None] * (0.9 + 0.1 * np.sin(yy / h * 3.0))[..., None]
    arr = base * shade
    # low-frequency texture (stains, light) so rooms differ beyond the boxes
    small = rng.normal(0, 18, (h // 40 + 2, w // 40 + 2, 3)).astype(np.float32)
    tex = np.asarray(
        Image.fromarray(np.clip(small + 128, 0, 255).astype(np.uint8)).resize(
            (w, h), Image.Resampling.BICUBIC
        )
    )
    arr = arr + (tex.astype(np.float32) - 128)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(5, 10))):
        x0, y0 = int(rng.uniform(0, w * 0.8)), int(rng.uniform(h * 0.2, h * 0.85))
        bw, bh = int(rng.uniform(w * 0.08, w * 0.3)), int(rng.uniform(h * 0.08, h * 0.35))
        color = tuple(int(c) for c in rng.uniform(20, 240, 3))
        if rng.random() < 0.5:
            draw.rectangle((x0, y0, x0 + bw, y0 + bh), fill=color)
        else:
            draw.ellipse((x0, y0, x0 + bw, y0 + bh), fill=color)
    img = img.filter(ImageFilter.GaussianBlur(1.2))
    fine = rng.normal(0, 6, (h, w, 3))
    return Image.fromarray(np.clip(np.asarray(img, dtype=np.float32) + fine, 0, 255).astype(np.uint8))


def jpeg(img: Image.Image, quality: int = 90, **kwargs: object) -> bytes:
    """Encode ``img`` as JPEG bytes."""
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, **kwargs)
    return buf.getvalue()


def crop_fraction(img: Image.Image, frac: float) -> Image.Image:
    """Crop ``frac`` of the width/height off each edge."""
    w, h = img.size
    dx, dy = int(w * frac), int(h * frac)
    return img.crop((dx, dy, w - dx, h - dy))


def exif_bytes(
    *,
    lat: float | None = None,
    lon: float | None = None,
    captured: str | None = None,
    offset: str | None = None,
    gps_date: str | None = None,
    gps_time: tuple[int, int, int] | None = None,
    software: str | None = None,
    orientation: int | None = None,
    make: str | None = "TestCam",
    model: str | None = "T-1",
    size: tuple[int, int] | None = None,
) -> bytes:
    """EXIF bytes with the given capture time, GPS position and tags (decimal degrees -> DMS)."""
    from PIL.TiffImagePlugin import IFDRational

    exif = Image.Exif()
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    if software:
        exif[0x0131] = software
    if orientation:
        exif[0x0112] = orientation
    sub = exif.get_ifd(0x8769)
    if captured:
        sub[0x9003] = captured
    if offset:
        sub[0x9011] = offset
    if size:
        sub[0xA002], sub[0xA003] = size
    if lat is not None and lon is not None:
        gps = exif.get_ifd(0x8825)

        def dms(v: float) -> tuple[IFDRational, IFDRational, IFDRational]:
            v = abs(v)
            d = int(v)
            m = int((v - d) * 60)
            s = round(((v - d) * 60 - m) * 60 * 10000)
            return IFDRational(d, 1), IFDRational(m, 1), IFDRational(s, 10000)

        gps[1] = "N" if lat >= 0 else "S"
        gps[2] = dms(lat)
        gps[3] = "E" if lon >= 0 else "W"
        gps[4] = dms(lon)
        if gps_date:
            gps[29] = gps_date
        if gps_time:
            gps[7] = tuple(IFDRational(x, 1) for x in gps_time)
    return exif.tobytes()
