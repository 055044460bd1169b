"""Photo clocks: the camera's zone from the GPS time, photos captured offline, times in one zone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

from media.geo import SiteStatus
from media.pipeline import process
from tests.media.synth import exif_bytes, jpeg, room

CST = timezone(timedelta(hours=8))
HOME = (30.2741, 120.1551)
# the visit reached the server at 14:00 local, after the inspector had worked offline
WINDOW = (datetime(2026, 11, 30, 14, 0, tzinfo=CST), datetime(2026, 11, 30, 14, 20, tzinfo=CST))
NOW = datetime(2026, 11, 30, 14, 20, tzinfo=CST)


def _photo(seed: int = 31, **exif: object) -> bytes:
    return jpeg(room(seed, (640, 480)), exif=exif_bytes(**exif))  # type: ignore[arg-type]


def _codes(report: object) -> list[str]:
    return [r.code for r in report.verdict.reasons]  # type: ignore[attr-defined]


def test_the_gps_time_gives_the_cameras_real_offset() -> None:
    # a camera left on UTC+5 (no offset written) shot 13:10 local Beijing time = 05:10 UTC
    data = _photo(captured="2026:11:30 10:10:00", lat=HOME[0], lon=HOME[1],
                  gps_date="2026:11:30", gps_time=(5, 10, 3))  # fmt: skip
    report = process(data, household=HOME, window=WINDOW, now=NOW, visit_day=date(2026, 11, 30))
    assert report.exif.captured_at == datetime(2026, 11, 30, 5, 10, tzinfo=UTC)
    assert report.exif.offset_from_gps is True and report.exif.camera_offset_s == 5 * 3600
    v = report.verdict
    assert "camera_zone_mismatch" in _codes(report), _codes(report)
    mismatch = next(r for r in v.reasons if r.code == "camera_zone_mismatch")
    assert "UTC+05:00" in mismatch.message["en"] and "UTC+08:00" in mismatch.message["en"]
    assert "时区" in mismatch.message["zh-CN"]
    # read in the assumed zone (+8) it would be 10:10, four hours before the window: stale; with
    # the camera's real offset it is 13:10, on site on the visit's day
    assert "stale" not in _codes(report) and v.fresh is True


def test_a_camera_in_the_visits_zone_raises_no_mismatch() -> None:
    data = _photo(captured="2026:11:30 14:05:00", lat=HOME[0], lon=HOME[1],
                  gps_date="2026:11:30", gps_time=(6, 5, 1))  # fmt: skip
    report = process(data, household=HOME, window=WINDOW, now=NOW)
    assert report.exif.camera_offset_s == 8 * 3600 and report.exif.offset_from_gps is True
    assert "camera_zone_mismatch" not in _codes(report) and report.verdict.fresh is True


def test_a_difference_no_zone_explains_is_not_taken_as_an_offset() -> None:
    # 8 h 22 min after the GPS time: no zone is that far (the nearest are +08:00 and +08:45)
    data = _photo(captured="2026:11:30 14:27:00", lat=HOME[0], lon=HOME[1],
                  gps_date="2026:11:30", gps_time=(6, 5, 0))  # fmt: skip
    report = process(data, household=HOME, window=WINDOW, now=NOW)
    assert report.exif.offset_from_gps is False and report.exif.camera_offset_s is None
    assert "edited_time_after_gps" in _codes(report)


def test_an_on_site_photo_from_earlier_that_day_is_captured_offline_not_stale() -> None:
    # 45 minutes before the visit reached the server, on site (EXIF GPS at the household)
    data = _photo(captured="2026:11:30 13:15:00", offset="+08:00", lat=HOME[0], lon=HOME[1],
                  gps_date="2026:11:30", gps_time=(5, 15, 0))  # fmt: skip
    report = process(data, household=HOME, window=WINDOW, now=NOW, visit_day=date(2026, 11, 30))
    v = report.verdict
    assert v.site is SiteStatus.ON_SITE
    assert v.fresh is True and v.captured_offline is True and v.accepted, _codes(report)
    assert "captured_offline" in _codes(report) and "stale" not in _codes(report)
    offline = next(r for r in v.reasons if r.code == "captured_offline")
    assert "离线" in offline.message["zh-CN"] and "offline" in offline.message["en"]


def test_captured_offline_needs_the_visits_day_and_a_position_on_site() -> None:
    yesterday = _photo(captured="2026:11:29 13:15:00", offset="+08:00", lat=HOME[0], lon=HOME[1],
                       gps_date="2026:11:29", gps_time=(5, 15, 0))  # fmt: skip
    v = process(yesterday, household=HOME, window=WINDOW, now=NOW, visit_day=date(2026, 11, 30)).verdict
    assert v.fresh is False and not v.captured_offline and "stale" in {r.code for r in v.reasons}
    far = _photo(seed=32, captured="2026:11:30 13:15:00", offset="+08:00", lat=HOME[0] + 0.05,
                 lon=HOME[1], gps_date="2026:11:30", gps_time=(5, 15, 0))  # fmt: skip
    v = process(far, household=HOME, window=WINDOW, now=NOW, visit_day=date(2026, 11, 30)).verdict
    assert v.fresh is False and not v.captured_offline
    no_gps = _photo(seed=33, captured="2026:11:30 13:15:00", offset="+08:00")
    v = process(no_gps, household=HOME, window=WINDOW, now=NOW, visit_day=date(2026, 11, 30)).verdict
    assert v.fresh is False and not v.captured_offline


def test_times_in_reasons_are_in_the_visits_zone_to_the_minute() -> None:
    # the window is given in UTC and the capture with +09:00: both shown in Asia/Shanghai
    window = (WINDOW[0].astimezone(UTC), WINDOW[1].astimezone(UTC))
    data = _photo(captured="2026:11:20 10:05:07", offset="+09:00")
    v = process(data, window=window, now=NOW).verdict
    stale = next(r for r in v.reasons if r.code == "stale")
    shown = {"captured": "2026-11-20 09:05", "start": "2026-11-30 14:00", "end": "2026-11-30 14:20"}
    assert stale.params == shown
    for text in stale.message.values():
        assert "+" not in text and "UTC" not in text and not re.search(r"\d\d:\d\d:\d\d", text), text
