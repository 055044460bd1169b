"""Read capture time, GPS, orientation and camera tags from EXIF, robust to hostile values.

Pillow keeps a rational's numerator and denominator even when it turns ``0/0`` into NaN, so the
parser works from those: ``0/0`` counts as 0 (cameras write it for "no seconds"), ``n/0`` is invalid.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo

from PIL import Image

from contracts.evidence import EvidenceSource

DEFAULT_TZ: Final = "Asia/Shanghai"

# EXIF tag numbers (IFD0, Exif IFD, GPS IFD)
_IFD_EXIF: Final = 0x8769
_IFD_GPS: Final = 0x8825
_MAKE, _MODEL, _SOFTWARE, _ORIENTATION, _DATETIME = 0x010F, 0x0110, 0x0131, 0x0112, 0x0132
_DTO, _DTD, _OFFSET, _OFFSET_ORIG, _OFFSET_DIG = 0x9003, 0x9004, 0x9010, 0x9011, 0x9012
_SUBSEC_ORIG, _EXIF_W, _EXIF_H = 0x9291, 0xA002, 0xA003
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4
_GPS_ALT_REF, _GPS_ALT, _GPS_TIME, _GPS_STATUS = 5, 6, 7, 9
_GPS_DOP, _GPS_DATUM, _GPS_DATE, _GPS_HPE = 11, 18, 29, 31


EXIF_STRIPPED_SOURCES: Final = frozenset({EvidenceSource.TELEGRAM_PHOTO})


@dataclass(frozen=True, slots=True)
class GpsFix:
    """A GPS position read from EXIF (decimal degrees, as written by the device)."""

    lat: float
    lon: float
    altitude_m: float | None
    datum: str | None
    accuracy_m: float | None
    time_utc: datetime | None
    time_of_day_utc: str | None
    status: str | None


@dataclass(frozen=True, slots=True)
class ExifData:
    """The EXIF fields the evidence pipeline uses; every field may be missing."""

    present: bool
    captured_at: datetime | None
    captured_local: str | None
    capture_time_tag: str | None
    offset_from_exif: bool
    modified_local: str | None
    orientation: int | None
    make: str | None
    model: str | None
    software: str | None
    exif_width: int | None
    exif_height: int | None
    gps: GpsFix | None
    gps_ifd_present: bool
    # The camera's UTC offset in seconds when known: written (OffsetTimeOriginal) or derived from
    # DateTimeOriginal against the GPS time; None when the capture time was read in the assumed zone.
    camera_offset_s: int | None = None
    offset_from_gps: bool = False


EMPTY_EXIF: Final = ExifData(
    present=False,
    captured_at=None,
    captured_local=None,
    capture_time_tag=None,
    offset_from_exif=False,
    modified_local=None,
    orientation=None,
    make=None,
    model=None,
    software=None,
    exif_width=None,
    exif_height=None,
    gps=None,
    gps_ifd_present=False,
)


# Real UTC offsets: whole hours from -12 to +14, plus the few half- and quarter-hour zones.
UTC_OFFSETS_S: Final = tuple(h * 3600 for h in range(-12, 15)) + tuple(
    int(m * 60)
    for m in (-9.5 * 60, -3.5 * 60, 3.5 * 60, 4.5 * 60, 5.5 * 60, 5.75 * 60, 6.5 * 60, 8.75 * 60, 9.5 * 60,
              10.5 * 60, 12.75 * 60, 13.75 * 60)
)  # fmt: skip
# A camera clock may drift this far from the GPS time and still tell its zone offset.
OFFSET_DRIFT_S: Final = 15 * 60


def nearest_offset(seconds: float) -> int:
    """The real UTC offset (in seconds) nearest a local-minus-UTC difference."""
    return min(UTC_OFFSETS_S, key=lambda off: abs(seconds - off))


def camera_offset(local: datetime, gps_utc: datetime) -> int | None:
    """The camera's UTC offset from its local capture time and a GPS time (UTC) of the same shot.

    ``DateTimeOriginal`` without an offset is the camera's wall clock; the GPS time is UTC. Their
    difference is the camera's zone offset plus its clock drift: the nearest real offset, when the
    remaining drift is small, is the camera's offset. None when no zone explains the difference.
    """
    diff = (local.replace(tzinfo=None) - gps_utc.astimezone(UTC).replace(tzinfo=None)).total_seconds()
    best = nearest_offset(diff)
    return best if abs(diff - best) <= OFFSET_DRIFT_S else None


def format_offset(seconds: int) -> str:
    """``+08:00`` for 28800."""
    sign = "-" if seconds < 0 else "+"
    minutes = abs(seconds) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def resolve_tz(tz: str | tzinfo | None) -> tzinfo:
    """Return a tzinfo for a name, a tzinfo, or None (Asia/Shanghai)."""
    if tz is None:
        return ZoneInfo(DEFAULT_TZ)
    if isinstance(tz, str):
        return ZoneInfo(tz)
    return tz


def rational(value: Any) -> float | None:
    """A float from an EXIF number or rational; ``0/0`` -> 0.0, ``n/0``, NaN, inf or junk -> None."""
    num = getattr(value, "numerator", None)
    den = getattr(value, "denominator", None)
    if isinstance(value, tuple) and len(value) == 2:
        num, den = value
    try:
        if num is not None and den is not None:
            n, d = float(num), float(den)
            if d == 0:
                return 0.0 if n == 0 else None
            result = n / d
        else:
            result = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return result if math.isfinite(result) else None


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    cleaned = value.replace("\x00", "").strip()
    return cleaned or None


_DT_RE: Final = re.compile(r"^(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET_RE: Final = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def parse_exif_datetime(value: Any) -> datetime | None:
    """Parse ``YYYY:MM:DD HH:MM:SS`` into a naive datetime; blank or impossible values -> None."""
    text = _text(value)
    if text is None:
        return None
    m = _DT_RE.match(text)
    if not m:
        return None
    try:
        y, mo, d, h, mi, se = (int(g) for g in m.groups())
        return datetime(y, mo, d, h, mi, se)  # EXIF local time: no zone until an offset is known
    except ValueError:
        return None


def parse_offset(value: Any) -> timezone | None:
    """Parse an EXIF OffsetTime (``+08:00``) into a fixed timezone."""
    text = _text(value)
    if text is None:
        return None
    m = _OFFSET_RE.match(text)
    if not m:
        return None
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    if minutes > 14 * 60:
        return None
    return timezone(timedelta(minutes=minutes if m.group(1) == "+" else -minutes))


def _dms(value: Any) -> float | None:
    """Degrees from an EXIF DMS triple (or a shorter sequence, or a single number)."""
    parts: list[Any]
    if isinstance(value, tuple | list):
        parts = list(value)
    else:
        parts = [value]
    if not parts or len(parts) > 3:
        return None
    nums = [rational(p) for p in parts]
    if any(n is None or n < 0 for n in nums):
        return None
    deg = nums[0] or 0.0
    minutes = nums[1] if len(nums) > 1 else 0.0
    seconds = nums[2] if len(nums) > 2 else 0.0
    assert minutes is not None and seconds is not None
    if minutes >= 60 or seconds >= 60:
        return None
    return deg + minutes / 60 + seconds / 3600


def _ref(value: Any, negative: str) -> int:
    text = _text(value)
    return -1 if text is not None and text.upper().startswith(negative) else 1


def _gps_time(value: Any) -> time | None:
    if not isinstance(value, tuple | list) or len(value) != 3:
        return None
    h, m, s = (rational(v) for v in value)
    if h is None or m is None or s is None or not (0 <= h < 24 and 0 <= m < 60 and 0 <= s < 61):
        return None
    whole = min(int(s), 59)
    micro = min(round((s - int(s)) * 1_000_000), 999_999)
    return time(int(h), int(m), whole, micro, tzinfo=UTC)


def _gps_date(value: Any) -> date | None:
    text = _text(value)
    if text is None:
        return None
    m = re.match(r"^(\d{4})[:\-](\d{2})[:\-](\d{2})", text)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def parse_gps(gps: Mapping[int, Any], captured_at: datetime | None = None) -> GpsFix | None:
    """A usable fix from a GPS IFD, or None (missing/invalid coordinates, null island)."""
    lat = _dms(gps.get(_GPS_LAT)) if _GPS_LAT in gps else None
    lon = _dms(gps.get(_GPS_LON)) if _GPS_LON in gps else None
    if lat is None or lon is None:
        return None
    # A missing reference is read as N/E: the magnitude is still the best information there is.
    lat *= _ref(gps.get(_GPS_LAT_REF), "S")
    lon *= _ref(gps.get(_GPS_LON_REF), "W")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    altitude = None
    raw_alt = gps.get(_GPS_ALT)
    if raw_alt is not None and not _is_zero_over_zero(raw_alt):
        altitude = rational(raw_alt)
        if altitude is not None:
            ref = gps.get(_GPS_ALT_REF)
            ref_int = ref[0] if isinstance(ref, bytes) and ref else ref
            if ref_int == 1:
                altitude = -altitude
            if abs(altitude) > 20_000:
                altitude = None
    accuracy = rational(gps.get(_GPS_HPE)) if _GPS_HPE in gps else None
    if accuracy is not None and accuracy <= 0:
        accuracy = None
    tod = _gps_time(gps.get(_GPS_TIME))
    gdate = _gps_date(gps.get(_GPS_DATE))
    time_utc: datetime | None = None
    if tod is not None:
        if gdate is not None:
            time_utc = datetime.combine(gdate, tod)
        elif captured_at is not None:
            # No GPSDate: take the UTC day that puts the GPS time nearest the capture time.
            base = captured_at.astimezone(UTC).date()
            options = [datetime.combine(base + timedelta(days=d), tod) for d in (-1, 0, 1)]
            time_utc = min(options, key=lambda t: abs((t - captured_at).total_seconds()))
    return GpsFix(
        lat=round(lat, 7),
        lon=round(lon, 7),
        altitude_m=None if altitude is None else round(altitude, 3),
        datum=_text(gps.get(_GPS_DATUM)),
        accuracy_m=accuracy,
        time_utc=time_utc,
        time_of_day_utc=None if tod is None else tod.replace(tzinfo=None).isoformat(),
        status=_text(gps.get(_GPS_STATUS)),
    )


def _is_zero_over_zero(value: Any) -> bool:
    return getattr(value, "numerator", None) == 0 and getattr(value, "denominator", None) == 0


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    r = rational(value)
    return None if r is None or r != int(r) else int(r)


def read_exif(img: Image.Image, tz: str | tzinfo | None = None) -> ExifData:
    """Extract the evidence-relevant EXIF of an opened image (never raises on bad EXIF)."""
    try:
        exif = img.getexif()
        sub: Mapping[int, Any] = _safe_ifd(exif, _IFD_EXIF)
        gps_ifd: Mapping[int, Any] = _safe_ifd(exif, _IFD_GPS)
        return _extract(dict(exif.items()), sub, gps_ifd, resolve_tz(tz))
    except Exception:  # a broken EXIF block must not reject a decodable photo
        return EMPTY_EXIF


def _safe_ifd(exif: Image.Exif, tag: int) -> Mapping[int, Any]:
    try:
        return dict(exif.get_ifd(tag).items())
    except Exception:
        return {}


def _extract(
    ifd0: dict[int, Any], sub: Mapping[int, Any], gps_ifd: Mapping[int, Any], zone: tzinfo
) -> ExifData:
    captured_naive: datetime | None = None
    tag_name: str | None = None
    offset: timezone | None = None
    for tag, name, off_tag, where in (
        (_DTO, "DateTimeOriginal", _OFFSET_ORIG, sub),
        (_DTD, "DateTimeDigitized", _OFFSET_DIG, sub),
        (_DATETIME, "DateTime", _OFFSET, ifd0),
    ):
        parsed = parse_exif_datetime(where.get(tag))
        if parsed is not None:
            captured_naive, tag_name = parsed, name
            offset = parse_offset(sub.get(off_tag))
            break
    captured_at: datetime | None = None
    if captured_naive is not None:
        if tag_name == "DateTimeOriginal":
            subsec = _text(sub.get(_SUBSEC_ORIG))
            if subsec and subsec.isdigit():
                captured_naive = captured_naive.replace(microsecond=int((subsec + "000000")[:6]))
        captured_at = captured_naive.replace(tzinfo=offset or zone)
    gps = parse_gps(gps_ifd, captured_at)
    camera_off: int | None = None
    from_gps = False
    if offset is not None:
        delta = offset.utcoffset(None)
        camera_off = None if delta is None else int(delta.total_seconds())
    elif (
        captured_naive is not None
        and gps is not None
        and gps.time_utc is not None
        and _gps_date(gps_ifd.get(_GPS_DATE)) is not None
    ):
        # no written offset: the GPS time (with its date) tells the camera's real zone
        camera_off = camera_offset(captured_naive, gps.time_utc)
        if camera_off is not None:
            from_gps = True
            captured_at = captured_naive.replace(tzinfo=timezone(timedelta(seconds=camera_off)))
    orientation = _int(ifd0.get(_ORIENTATION))
    if orientation is not None and not 1 <= orientation <= 8:
        orientation = None
    modified = parse_exif_datetime(ifd0.get(_DATETIME))
    return ExifData(
        present=bool(ifd0 or sub or gps_ifd),
        captured_at=captured_at,
        captured_local=None if captured_naive is None else captured_naive.isoformat(),
        capture_time_tag=tag_name,
        offset_from_exif=offset is not None,
        modified_local=None if modified is None else modified.isoformat(),
        orientation=orientation,
        make=_text(ifd0.get(_MAKE)),
        model=_text(ifd0.get(_MODEL)),
        software=_text(ifd0.get(_SOFTWARE)),
        exif_width=_int(sub.get(_EXIF_W)),
        exif_height=_int(sub.get(_EXIF_H)),
        gps=gps,
        gps_ifd_present=_IFD_GPS in ifd0 or bool(gps_ifd),
        camera_offset_s=camera_off,
        offset_from_gps=from_gps,
    )
