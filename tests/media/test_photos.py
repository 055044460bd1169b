"""The pipeline against every real photo in ../shared/testdata/photos, with the README's EXIF values."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from media.checks import check_image, register_heif
from media.geo import SiteStatus
from media.pipeline import process_full
from tests.media.conftest import PHOTOS, photo

CST = timezone(timedelta(hours=8))

# file -> expected values from ../shared/testdata/README.md (lat/lon to 6 places).
EXPECTED: dict[str, dict[str, Any]] = {
    "exifsamples_DSCN0010_gps.jpg": {
        "format": "JPEG", "size": (640, 480), "oriented": (640, 480), "orientation": 1,
        "make": "NIKON", "model": "COOLPIX P6000", "dto": "2008-10-22T16:28:39", "tag": "DateTimeOriginal",
        "lat": 43.467448, "lon": 11.885127, "alt": None,
        "gps_utc": datetime(2008, 10, 23, 14, 27, 7, 240000, tzinfo=UTC), "datum": "WGS-84",
    },
    "mei_iphone8_guangzhou_gps.heic": {
        "format": "HEIF", "size": (4032, 3024), "oriented": (4032, 3024), "orientation": 1,
        "make": "Apple", "model": "iPhone 8", "dto": "2018-02-05T15:11:44", "tag": "DateTimeOriginal",
        "lat": 23.177917, "lon": 113.394317, "alt": 92770 / 2167,
        "gps_utc": datetime(2018, 2, 5, 7, 11, 43, 70000, tzinfo=UTC),
    },
    "mei_nikon_d5000_gps_zero_denominator.jpg": {
        "format": "JPEG", "size": (858, 570), "oriented": (858, 570), "orientation": None,
        "make": "NIKON CORPORATION", "model": "NIKON D5000", "dto": "2011-03-12T15:36:11",
        "tag": "DateTimeOriginal", "lat": 48.888726, "lon": 21.043251, "alt": 324.145,
    },
    "exiftool_GPS_decimal_minutes.jpg": {
        "format": "JPEG", "size": (120, 80), "oriented": (120, 80), "orientation": 1,
        "make": "FUJIFILM", "model": "FinePixS1Pro", "dto": "2002-07-13T15:58:28", "tag": "DateTimeOriginal",
        "lat": 54.989667, "lon": -1.914167, "alt": None, "gps_tod": "14:58:24", "datum": "WGS84",
    },
    "pillow_exif_gps_broken_no_refs.jpg": {
        "format": "JPEG", "size": (8, 8), "oriented": (8, 8), "make": "Make", "model": "XXX-XXX",
        "dto": "2099-09-29T10:10:10", "tag": "DateTimeOriginal", "lat": None,
    },
    "pillow_truncated_exif.jpg": {
        "format": "JPEG", "size": (480, 640), "oriented": (480, 640), "orientation": None,
        "make": None, "model": None, "dto": None, "tag": None, "lat": None, "exif_present": False,
    },
    "exifsamples_orientation_landscape_6.jpg": {
        "format": "JPEG", "size": (450, 600), "oriented": (600, 450), "orientation": 6,
        "make": None, "model": None, "dto": None, "lat": None,
    },
    "pillow_exif.png": {
        "format": "PNG", "size": (512, 512), "oriented": (512, 512), "orientation": 1,
        "dto": None, "lat": None,
    },
    "exifsamples_samsung_s7_large_gps_no_datetimeoriginal.jpg": {
        "format": "JPEG", "size": (4032, 2012), "oriented": (4032, 2012), "orientation": 1,
        "make": "samsung", "model": "SM-G930F", "dto": "2016-09-12T10:05:31", "tag": "DateTime",
        "lat": 51.025, "lon": 7.591944, "alt": 340.0,
    },
    "pillow_xiaomi_empty_gps_ifd_orientation6.jpg": {
        "format": "JPEG", "size": (10, 10), "oriented": (10, 10), "orientation": 6,
        "make": "Xiaomi", "model": "Redmi Note 9S", "dto": "2020-07-27T14:46:48", "tag": "DateTimeOriginal",
        "lat": None, "gps_ifd": True,
    },
}  # fmt: skip

GUANGZHOU = (23.177917, 113.394317)  # WGS-84, where the HEIC was taken


def all_photos() -> list[Path]:
    """Every file in the shared photos folder (so a different set of the same kinds is also covered)."""
    return sorted(p for p in PHOTOS.glob("*") if p.is_file()) if PHOTOS.is_dir() else []


def test_every_listed_photo_is_present(photos_dir: Path) -> None:
    names = {p.name for p in photos_dir.iterdir()}
    missing = set(EXPECTED) - names
    if missing:
        pytest.skip(f"a different photo set: {sorted(missing)} absent")


@pytest.mark.parametrize("path", all_photos(), ids=lambda p: p.name)
def test_every_photo_is_accepted_and_processed(path: Path) -> None:
    """Any photo of the shared set is accepted, never crashes, and yields a complete JSON report."""
    info = check_image(path)
    result = process_full(path, "telegram_document", household=GUANGZHOU)
    report = result.report
    assert (report.width, report.height) == (info.width, info.height)
    assert report.sha256 and len(report.phash) == 16 and len(report.dhash) == 16
    assert report.to_json().startswith("{")
    # the display copy is EXIF-free (no GPS leaks) and already oriented
    display = Image.open(io.BytesIO(result.display))
    assert display.format == "JPEG"
    assert not display.getexif()
    assert "exif" not in display.info
    ow, oh = report.oriented_width, report.oriented_height
    assert display.size[0] >= display.size[1] if ow >= oh else display.size[0] <= display.size[1]
    assert max(display.size) <= 1024
    thumb = Image.open(io.BytesIO(result.thumbnail))
    assert max(thumb.size) <= 320 and not thumb.getexif()
    if report.gps is not None:
        assert -90 <= report.gps.lat <= 90 and -180 <= report.gps.lon <= 180


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exif_values_match_readme(name: str) -> None:
    exp = EXPECTED[name]
    report = process_full(photo(name), "telegram_document").report
    assert report.format == exp["format"]
    assert (report.width, report.height) == exp["size"]
    assert (report.oriented_width, report.oriented_height) == exp["oriented"]
    ex = report.exif
    if "orientation" in exp:
        assert ex.orientation == exp["orientation"]
    if "make" in exp:
        assert ex.make == exp["make"]
        assert ex.model == exp["model"]
    if "exif_present" in exp:
        assert ex.present is exp["exif_present"]
    if "gps_ifd" in exp:
        assert ex.gps_ifd_present is exp["gps_ifd"]
    if exp["dto"] is None:
        assert ex.captured_at is None
    else:
        assert ex.captured_local is not None and ex.captured_local.startswith(exp["dto"])
        assert ex.capture_time_tag == exp["tag"]
        # no OffsetTimeOriginal in any of these: the default zone (Asia/Shanghai) is assumed
        assert ex.offset_from_exif is False
        assert ex.captured_at is not None and ex.captured_at.utcoffset() == timedelta(hours=8)
    if exp["lat"] is None:
        assert report.gps is None
        assert report.position.source == "none"
    else:
        gps = report.gps
        assert gps is not None
        assert round(gps.lat, 6) == pytest.approx(exp["lat"], abs=1e-6)
        assert round(gps.lon, 6) == pytest.approx(exp["lon"], abs=1e-6)
        if exp.get("alt") is None:
            assert gps.altitude_m is None
        else:
            assert gps.altitude_m == pytest.approx(exp["alt"], abs=0.01)
        if "gps_utc" in exp:
            assert gps.time_utc == exp["gps_utc"]
        if "gps_tod" in exp:
            assert gps.time_of_day_utc == exp["gps_tod"]
        if "datum" in exp:
            assert gps.datum == exp["datum"]
        assert report.position.source == "exif_gps"


def test_heic_needs_and_gets_heif_decoder() -> None:
    register_heif()
    report = process_full(photo("mei_iphone8_guangzhou_gps.heic"), "telegram_document").report
    assert report.mime == "image/heif"
    assert report.display.width == 1024 and report.display.height == 768
    assert report.gps is not None and report.gps.accuracy_m == 65.0


def test_only_the_guangzhou_photo_is_on_site_in_guangzhou() -> None:
    """A household at the HEIC's position: the HEIC is on site, every other fix is far off site."""
    for name, exp in EXPECTED.items():
        report = process_full(photo(name), "telegram_document", household=GUANGZHOU).report
        if exp["lat"] is None:
            assert report.verdict.site == SiteStatus.UNKNOWN
        elif name.endswith(".heic"):
            assert report.verdict.site == SiteStatus.ON_SITE
            assert report.verdict.distance_m is not None and report.verdict.distance_m < 1
        else:
            assert report.verdict.site == SiteStatus.OFF_SITE
            assert report.verdict.distance_m is not None and report.verdict.distance_m > 1_000_000


def test_heic_is_fresh_consistent_and_accepted_in_its_visit_window() -> None:
    window = (datetime(2018, 2, 5, 14, 30, tzinfo=CST), datetime(2018, 2, 5, 16, 0, tzinfo=CST))
    report = process_full(
        photo("mei_iphone8_guangzhou_gps.heic"), "telegram_document", household=GUANGZHOU, window=window
    ).report
    v = report.verdict
    assert v.fresh is True and v.edited is False and v.reused is False and v.accepted is True


def test_broken_gps_and_future_date_are_flagged_not_fatal() -> None:
    report = process_full(photo("pillow_exif_gps_broken_no_refs.jpg"), "telegram_document").report
    assert report.gps is None
    codes = {r.code for r in report.verdict.reasons}
    assert "capture_in_future" in codes
    assert report.verdict.fresh is False and report.verdict.accepted is False


def test_editing_software_tags_are_flagged() -> None:
    for name in ("exiftool_GPS_decimal_minutes.jpg", "mei_nikon_d5000_gps_zero_denominator.jpg"):
        report = process_full(photo(name), "telegram_document").report
        assert report.verdict.edited is True
        assert "edited_software" in {r.code for r in report.verdict.reasons}
    # camera firmware / phone OS versions in Software are not editing
    for name in ("exifsamples_DSCN0010_gps.jpg", "mei_iphone8_guangzhou_gps.heic"):
        report = process_full(photo(name), "telegram_document").report
        assert "edited_software" not in {r.code for r in report.verdict.reasons}


def test_gps_time_without_date_is_anchored_to_capture_day() -> None:
    report = process_full(photo("exiftool_GPS_decimal_minutes.jpg"), "telegram_document").report
    assert report.gps is not None and report.gps.time_utc is not None
    assert report.gps.time_utc.time().isoformat() == "14:58:24"
    # 15:58:28 local (England, UTC+1) vs 14:58:24 UTC: no time zone mismatch is called editing
    assert "edited_time_after_gps" not in {r.code for r in report.verdict.reasons}
