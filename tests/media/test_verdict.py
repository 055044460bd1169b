"""Verdict flags on generated photos: on site, fresh, edited, forwarded, sources of position."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from PIL import Image

from media.geo import Datum, Fix, PositionSource, SiteStatus, wgs84_to_gcj02
from media.pipeline import process
from media.verdict import editing_software
from tests.media.synth import exif_bytes, jpeg, room

CST = timezone(timedelta(hours=8))
HOME = (30.2741, 120.1551)  # WGS-84
WINDOW = (datetime(2024, 5, 1, 9, 0, tzinfo=CST), datetime(2024, 5, 1, 11, 0, tzinfo=CST))


def _photo(**exif: object) -> bytes:
    return jpeg(room(21, (800, 600)), exif=exif_bytes(**exif))  # type: ignore[arg-type]


def _codes(report: object) -> set[str]:
    return {r.code for r in report.verdict.reasons}  # type: ignore[attr-defined]


def test_genuine_phone_photo_is_accepted() -> None:
    data = _photo(
        lat=HOME[0] + 0.0003, lon=HOME[1], captured="2024:05:01 10:00:00", offset="+08:00",
        gps_date="2024:05:01", gps_time=(1, 59, 58), size=(800, 600),
    )  # fmt: skip
    report = process(data, "telegram_document", household=(*wgs84_to_gcj02(*HOME), "gcj02"), window=WINDOW)
    v = report.verdict
    assert v.site is SiteStatus.ON_SITE and v.position_source is PositionSource.EXIF_GPS
    assert v.distance_m is not None and 25 < v.distance_m < 40
    assert v.fresh is True and not v.edited and not v.reused and v.accepted
    assert report.exif.offset_from_exif is True
    assert report.exif.captured_at == datetime(2024, 5, 1, 10, 0, tzinfo=CST)


def test_stale_photo_outside_window() -> None:
    data = _photo(lat=HOME[0], lon=HOME[1], captured="2024:04:20 10:00:00", offset="+08:00")
    v = process(data, household=HOME, window=WINDOW).verdict
    assert v.fresh is False and "stale" in {r.code for r in v.reasons} and not v.accepted


def test_window_tolerance() -> None:
    data = _photo(captured="2024:05:01 11:05:00")  # 5 minutes after the end, zone assumed
    assert process(data, window=WINDOW).verdict.fresh is True
    data = _photo(captured="2024:05:01 11:30:00")
    assert process(data, window=WINDOW).verdict.fresh is False


def test_time_zone_argument_is_used_when_exif_has_no_offset() -> None:
    data = _photo(captured="2024:05:01 10:00:00")
    assert process(data).exif.captured_at == datetime(2024, 5, 1, 2, 0, tzinfo=UTC)
    assert process(data, tz="Asia/Urumqi").exif.captured_at == datetime(2024, 5, 1, 4, 0, tzinfo=UTC)


def test_editing_software_flag() -> None:
    data = _photo(captured="2024:05:01 10:00:00", software="Adobe Photoshop 25.0 (Windows)")
    report = process(data, window=WINDOW)
    assert report.verdict.edited is True and "edited_software" in _codes(report)
    assert editing_software("美图秀秀") and editing_software("Snapseed 2.0")
    assert editing_software("11.2.2") is None and editing_software("G930FXXU1DPJ3") is None


def test_exif_time_after_gps_time_is_flagged() -> None:
    data = _photo(
        lat=HOME[0], lon=HOME[1], captured="2024:05:01 10:00:00", offset="+08:00",
        gps_date="2024:05:01", gps_time=(1, 0, 0),
    )  # fmt: skip
    report = process(data, household=HOME, window=WINDOW)
    assert report.verdict.edited is True and "edited_time_after_gps" in _codes(report)
    msg = next(r for r in report.verdict.reasons if r.code == "edited_time_after_gps").message
    assert "60.0" in msg["en"] and "60.0" in msg["zh-CN"]


def test_time_mismatch_explained_by_a_time_zone_is_not_editing() -> None:
    # no offset written: 10:00 local vs 01:00 UTC is a UTC+9 camera, not an edit
    data = _photo(
        lat=HOME[0], lon=HOME[1], captured="2024:05:01 10:00:00", gps_date="2024:05:01", gps_time=(1, 0, 5)
    )
    assert "edited_time_after_gps" not in _codes(process(data))
    # ...but 17 minutes that no zone explains is
    data = _photo(
        lat=HOME[0], lon=HOME[1], captured="2024:05:01 10:17:00", gps_date="2024:05:01", gps_time=(2, 0, 0)
    )
    assert "edited_time_after_gps" in _codes(process(data))


def test_resized_photo_is_flagged_by_exif_dimensions() -> None:
    data = _photo(captured="2024:05:01 10:00:00", size=(4000, 3000))
    assert "edited_dimensions" in _codes(process(data))


def test_forwarded_is_never_evidence() -> None:
    data = _photo(lat=HOME[0], lon=HOME[1], captured="2024:05:01 10:00:00", offset="+08:00")
    v = process(data, household=HOME, window=WINDOW, forwarded=True).verdict
    assert v.forwarded is True and v.accepted is False
    assert "forwarded" in {r.code for r in v.reasons}


def test_telegram_photo_falls_back_to_live_location() -> None:
    stripped = jpeg(room(22, (800, 600)))  # Telegram "photo": no EXIF
    received = datetime(2024, 5, 1, 10, 0, tzinfo=CST)
    live = [
        Fix(HOME[0] + 0.01, HOME[1], at=received - timedelta(minutes=30)),
        Fix(HOME[0] + 0.0005, HOME[1], at=received - timedelta(seconds=40), accuracy_m=12),
    ]
    report = process(
        stripped, "telegram_photo", household=HOME, window=WINDOW, live_fixes=live, received_at=received
    )
    v = report.verdict
    assert report.exif.present is False and report.gps is None
    assert v.position_source is PositionSource.LIVE_LOCATION and v.site is SiteStatus.ON_SITE
    assert report.position.accuracy_m == 12
    assert v.fresh is None
    assert {"telegram_photo_no_exif", "no_capture_time"} <= {r.code for r in v.reasons}


def test_static_location_is_weak() -> None:
    stripped = jpeg(room(23, (800, 600)))
    static = Fix(*wgs84_to_gcj02(*HOME), datum=Datum.gcj02)
    v = process(stripped, "telegram_photo", household=HOME, static_fix=static).verdict
    assert v.position_source is PositionSource.STATIC_LOCATION and v.site is SiteStatus.ON_SITE
    assert "weak_position" in {r.code for r in v.reasons}


def test_no_position_and_no_household() -> None:
    v = process(jpeg(room(24, (300, 200)))).verdict
    assert v.site is SiteStatus.UNKNOWN and "no_position" in {r.code for r in v.reasons}
    data = _photo(lat=HOME[0], lon=HOME[1])
    v = process(data).verdict
    assert v.site is SiteStatus.UNKNOWN and "no_household_position" in {r.code for r in v.reasons}


def test_every_reason_has_both_languages() -> None:
    data = _photo(
        lat=HOME[0] + 1, lon=HOME[1], captured="2030:01:01 00:00:00", software="GIMP 2.10", size=(10, 10)
    )
    report = process(
        data, household=HOME, window=WINDOW, forwarded=True, now=datetime(2024, 5, 1, tzinfo=UTC)
    )
    assert len(report.verdict.reasons) >= 4
    for r in report.verdict.reasons:
        assert r.message["zh-CN"] and r.message["en"] and "{" not in r.message["en"] + r.message["zh-CN"]


def test_exif_zero_denominators_and_junk_values() -> None:
    """GPS with 0/0 seconds and altitude, n/0 degrees, a blank date: parsed without NaN or crash."""
    from PIL import Image
    from PIL.TiffImagePlugin import IFDRational

    exif = Image.Exif()
    exif[0x0112] = 1
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "    :  :     :  :  "
    gps = exif.get_ifd(0x8825)
    gps[1], gps[3] = "S", "W"
    gps[2] = (IFDRational(12, 1), IFDRational(3075, 100), IFDRational(0, 0))
    gps[4] = (IFDRational(77, 1), IFDRational(1, 1), IFDRational(0, 0))
    gps[5], gps[6] = b"\x00", IFDRational(0, 0)
    gps[7] = (IFDRational(0, 0), IFDRational(0, 0), IFDRational(0, 0))
    data = jpeg(room(25, (200, 150)), exif=exif.tobytes())
    report = process(data)
    assert report.exif.captured_at is None
    assert report.gps is not None
    assert report.gps.lat == -12.5125 and report.gps.lon == round(-(77 + 1 / 60), 7)
    assert report.gps.altitude_m is None
    # a degree with a zero denominator (n/0) is invalid: no fix rather than a made-up one
    gps[2] = (IFDRational(12, 0), IFDRational(0, 1), IFDRational(0, 1))
    report = process(jpeg(room(25, (200, 150)), exif=exif.tobytes()))
    assert report.gps is None
    assert report.to_json()


def _halves() -> Image.Image:
    img = Image.new("RGB", (400, 300), "blue")
    img.paste((255, 0, 0), (0, 0, 200, 300))  # left half red
    return img


def test_display_copy_applies_jpeg_orientation() -> None:
    """Orientation 6 means 'rotate 90° clockwise to view': the red left half ends up on top."""
    import io

    from media.pipeline import process_full

    result = process_full(jpeg(_halves(), exif=exif_bytes(orientation=6)))
    shown = Image.open(io.BytesIO(result.display)).convert("RGB")
    assert shown.size == (300, 400)
    r, _g, b = shown.getpixel((150, 50))  # type: ignore[misc]
    assert r > 200 and b < 60
    assert result.report.exif.orientation == 6
    assert (result.report.oriented_width, result.report.oriented_height) == (300, 400)


def test_heif_orientation_is_applied_once() -> None:
    import io

    from media.checks import register_heif
    from media.pipeline import process_full

    register_heif()
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    _halves().save(buf, "HEIF", exif=exif.tobytes())
    result = process_full(buf.getvalue())
    shown = Image.open(io.BytesIO(result.display)).convert("RGB")
    assert shown.size == (300, 400)
    r, _g, b = shown.getpixel((150, 50))  # type: ignore[misc]
    assert r > 200 and b < 60
    assert result.report.exif.orientation == 6
