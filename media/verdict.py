"""The verdict on one piece of evidence: on site, fresh, reused, edited, forwarded — each with reasons."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

from contracts.evidence import EvidenceSource
from media.exif import ExifData, format_offset, nearest_offset, resolve_tz
from media.geo import PositionSource, SiteJudgement, SiteStatus
from media.hashing import ReuseMatch
from media.messages import LANGS, SOURCE_NAMES, render

FRESH_TOLERANCE_S: Final = 600.0  # capture time may fall this far outside the visit window
GPS_TIME_TOLERANCE_S: Final = 600.0  # EXIF time may be this far after the GPS time
FUTURE_TOLERANCE_S: Final = 3600.0  # device clocks drift; more than this ahead of "now" is implausible

# Editing tools, matched as words in the Software tag. Camera and phone firmware write their own
# version there ("11.2.2", "G930FXXU1DPJ3", "COOLPIX P6000V1.0"), which is not editing.
_EDITORS: Final = re.compile(
    r"photoshop|lightroom|adobe|gimp|snapseed|picsart|meitu|美图|醒图|黄油相机|轻颜|faceu|b612|vsco|"
    r"pixelmator|affinity|paint\.net|acdsee|fotor|photoscape|picasa|polarr|facetune|inshot|canva|"
    r"imagemagick|graphicsmagick|exiftool|\bpil\b|pillow|photo ?director|luminar|capture one|darktable|"
    r"rawtherapee|corel|paintshop|photoworks|airbrush|remini|wink|prisma",
    re.IGNORECASE,
)


class VerdictLevel(StrEnum):
    """A photo verdict's reason level: ``fail`` blocks the evidence, ``warning`` needs a look."""

    OK = "ok"
    WARNING = "warning"
    FAIL = "fail"


class Reason(BaseModel):
    """One finding with its stable code, parameters and message in each language."""

    model_config = ConfigDict(frozen=True)

    code: str
    severity: VerdictLevel
    params: dict[str, Any]
    message: dict[str, str]


def reason(code: str, severity: VerdictLevel, **params: Any) -> Reason:
    """Build a ``Reason`` rendering the catalog message in zh-CN and en."""
    return Reason(
        code=code,
        severity=severity,
        params=params,
        message={lang: render(code, lang, **params) for lang in LANGS},
    )


class ReuseInfo(BaseModel):
    """An earlier use of the same photo."""

    model_config = ConfigDict(frozen=True)

    evidence_id: str | None
    visit_id: str | None
    household_id: str | None
    taken_on: str | None
    distance: int
    threshold: int


class Verdict(BaseModel):
    """The verdict: each flag, the numbers behind it and the reasons (zh-CN and en)."""

    model_config = ConfigDict(frozen=True)

    accepted: bool
    site: SiteStatus
    distance_m: float | None
    position_source: PositionSource
    radius_m: float
    effective_radius_m: float | None
    fresh: bool | None
    captured_offline: bool = False
    reused: bool
    reused_in: list[ReuseInfo]
    edited: bool
    forwarded: bool
    reasons: list[Reason]


def editing_software(software: str | None) -> str | None:
    """The Software tag if it names an editing tool, else None."""
    if software and _EDITORS.search(software):
        return software
    return None


def exif_minus_gps_seconds(exif: ExifData) -> float | None:
    """How far the EXIF capture time is after the GPS time, in seconds (negative: before).

    With a written offset (OffsetTimeOriginal) the comparison is exact. Without one the camera's
    zone is unknown, so the real UTC offset (whole hours from -12 to +14, plus the few half- and
    quarter-hour zones) that best explains the difference is taken out first: only what no time
    zone explains remains.
    """
    gps = exif.gps
    if exif.captured_at is None or gps is None or gps.time_utc is None:
        return None
    if exif.offset_from_exif:
        return (exif.captured_at - gps.time_utc).total_seconds()
    if exif.captured_local is None:
        return None
    naive = datetime.fromisoformat(exif.captured_local)
    diff = (naive - gps.time_utc.replace(tzinfo=None)).total_seconds()
    return diff - nearest_offset(diff)


# Positions that place the photo itself on site (a static location says where the phone was sent from).
_ON_SITE_SOURCES: Final = frozenset({PositionSource.EXIF_GPS, PositionSource.LIVE_LOCATION})


def local_minute(at: datetime, zone: tzinfo) -> str:
    """A time as shown in reasons: in the visit's zone, to the minute (``2026-11-30 14:05``)."""
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _freshness(
    exif: ExifData,
    window: tuple[datetime, datetime] | None,
    site: SiteJudgement,
    position_source: PositionSource,
    zone: tzinfo,
    visit_day: date | None,
    now: datetime,
    fresh_tolerance_s: float,
) -> tuple[bool | None, bool, list[Reason]]:
    """(fresh, captured offline, reasons) from the capture time, the visit window and the visit's day.

    A photo captured before the window opened, on the visit's local day, whose own position is on
    site (EXIF GPS or a live fix near the capture), was taken on site while the phone had no
    signal: fresh, labelled ``captured_offline`` rather than ``stale``. A camera zone (written or
    derived from the GPS time) that contradicts the visit's zone is its own warning.
    """
    reasons: list[Reason] = []
    captured = exif.captured_at
    if captured is not None and exif.camera_offset_s is not None:
        zone_off = captured.astimezone(zone).utcoffset()
        if zone_off is not None and int(zone_off.total_seconds()) != exif.camera_offset_s:
            reasons.append(
                reason(
                    "camera_zone_mismatch",
                    VerdictLevel.WARNING,
                    camera=format_offset(exif.camera_offset_s),
                    zone=format_offset(int(zone_off.total_seconds())),
                    captured=local_minute(captured, zone),
                )
            )
    if captured is None:
        return None, False, [*reasons, reason("no_capture_time", VerdictLevel.WARNING)]
    shown = local_minute(captured, zone)
    if captured > now + timedelta(seconds=FUTURE_TOLERANCE_S):
        return False, False, [*reasons, reason("capture_in_future", VerdictLevel.FAIL, captured=shown)]
    if window is None:
        return None, False, [*reasons, reason("no_window", VerdictLevel.WARNING)]
    start, end = window
    tol = timedelta(seconds=fresh_tolerance_s)
    if start - tol <= captured <= end + tol:
        return True, False, [*reasons, reason("fresh", VerdictLevel.OK, captured=shown)]
    if (
        captured < start
        and visit_day is not None
        and captured.astimezone(zone).date() == visit_day
        and site.status is SiteStatus.ON_SITE
        and position_source in _ON_SITE_SOURCES
    ):
        offline = reason("captured_offline", VerdictLevel.OK, captured=shown, start=local_minute(start, zone))
        return True, True, [*reasons, offline]
    stale = reason(
        "stale",
        VerdictLevel.FAIL,
        captured=shown,
        start=local_minute(start, zone),
        end=local_minute(end, zone),
    )
    return False, False, [*reasons, stale]


def _iso_date(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()


def judge(
    *,
    exif: ExifData,
    width: int,
    height: int,
    source: EvidenceSource,
    site: SiteJudgement,
    position_source: PositionSource,
    household_known: bool,
    window: tuple[datetime, datetime] | None,
    reuse: Sequence[ReuseMatch],
    visit_id: str | None = None,
    household_id: str | None = None,
    forwarded: bool = False,
    now: datetime | None = None,
    fresh_tolerance_s: float = FRESH_TOLERANCE_S,
    gps_time_tolerance_s: float = GPS_TIME_TOLERANCE_S,
    tz: str | tzinfo | None = None,
    visit_day: date | None = None,
) -> Verdict:
    """Judge one piece of evidence from what the pipeline extracted.

    ``tz`` is the visit's time zone (times in reasons are shown in it); ``visit_day`` is the visit's
    local day, on which an on-site photo taken before the visit window counts as captured offline.
    """
    now = now or datetime.now(UTC)
    reasons: list[Reason] = []

    if forwarded:
        reasons.append(reason("forwarded", VerdictLevel.FAIL))
    if source is EvidenceSource.TELEGRAM_PHOTO and exif.captured_at is None:
        reasons.append(reason("telegram_photo_no_exif", VerdictLevel.WARNING))

    # --- on site ---
    names = SOURCE_NAMES[position_source.value]
    if site.status is SiteStatus.ON_SITE:
        reasons.append(
            reason(
                "on_site",
                VerdictLevel.OK,
                distance_m=site.distance_m,
                radius_m=round(site.effective_radius_m or site.radius_m),
                source_zh=names["zh-CN"],
                source_en=names["en"],
            )
        )
    elif site.status is SiteStatus.OFF_SITE:
        reasons.append(
            reason(
                "off_site",
                VerdictLevel.FAIL,
                distance_m=site.distance_m,
                radius_m=round(site.effective_radius_m or site.radius_m),
                source_zh=names["zh-CN"],
                source_en=names["en"],
            )
        )
    elif position_source is PositionSource.NONE:
        reasons.append(reason("no_position", VerdictLevel.WARNING))
    elif not household_known:
        reasons.append(reason("no_household_position", VerdictLevel.WARNING))
    else:
        reasons.append(reason("position_too_vague", VerdictLevel.WARNING, accuracy_m=site.accuracy_m))
    if position_source is PositionSource.STATIC_LOCATION:
        reasons.append(reason("weak_position", VerdictLevel.WARNING))

    # --- fresh ---
    fresh, offline, time_reasons = _freshness(
        exif, window, site, position_source, resolve_tz(tz), visit_day, now, fresh_tolerance_s
    )
    reasons += time_reasons

    # --- reused: the same picture in evidence of another visit (or household) ---
    reused_in: list[ReuseInfo] = []
    for m in reuse:
        c = m.candidate
        same_visit = visit_id is not None and c.visit_id == visit_id
        same_household = household_id is not None and c.household_id == household_id
        if same_visit or (c.visit_id is None and same_household):
            continue  # a photo sent twice in one visit is a duplicate, not a reuse
        reused_in.append(
            ReuseInfo(
                evidence_id=c.evidence_id,
                visit_id=c.visit_id,
                household_id=c.household_id,
                taken_on=_iso_date(c.taken_on),
                distance=m.distance,
                threshold=m.threshold,
            )
        )
    for info in reused_in:
        reasons.append(
            reason(
                "reused",
                VerdictLevel.FAIL,
                visit=info.visit_id or "?",
                date=info.taken_on or "?",
                distance=info.distance,
            )
        )

    # --- edited ---
    edited = False
    software = editing_software(exif.software)
    if software is not None:
        edited = True
        reasons.append(reason("edited_software", VerdictLevel.FAIL, software=software))
    after = exif_minus_gps_seconds(exif)
    if after is not None and after > gps_time_tolerance_s:
        edited = True
        reasons.append(reason("edited_time_after_gps", VerdictLevel.FAIL, minutes=round(after / 60, 1)))
    ew, eh = exif.exif_width, exif.exif_height
    if ew and eh and ew > 0 and eh > 0 and {ew, eh} != {width, height}:
        edited = True
        reasons.append(
            reason("edited_dimensions", VerdictLevel.FAIL, exif_w=ew, exif_h=eh, width=width, height=height)
        )

    accepted = not any(r.severity is VerdictLevel.FAIL for r in reasons)
    return Verdict(
        accepted=accepted,
        site=site.status,
        distance_m=site.distance_m,
        position_source=position_source,
        radius_m=site.radius_m,
        effective_radius_m=site.effective_radius_m,
        fresh=fresh,
        captured_offline=offline,
        reused=bool(reused_in),
        reused_in=reused_in,
        edited=edited,
        forwarded=forwarded,
        reasons=reasons,
    )
