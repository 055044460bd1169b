"""Bytes in, evidence report out: check, extract, hash, perceptual hash, display copy, thumbnail.

The original is decoded once (JPEG in draft mode, at the scale the display copy needs); the
thumbnail and the perceptual hash come from that decoded copy, never from a second decode.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Final

from pydantic import BaseModel, ConfigDict

from contracts.evidence import EvidenceSource
from media.checks import MAX_BYTES, DataOrPath, open_image, read_input
from media.derive import DISPLAY_MAX, THUMB_MAX, derive
from media.exif import ExifData, read_exif
from media.geo import DEFAULT_RADIUS_M, Datum, Fix, PositionSource, choose_position, judge_site, parse_datum
from media.hashing import Candidate, find_reuse, perceptual_hash, sha256_bytes
from media.storage import BlobStore
from media.verdict import FRESH_TOLERANCE_S, GPS_TIME_TOLERANCE_S, Verdict, judge

PIPELINE_VERSION: Final = 1
LIVE_MAX_GAP_S: Final = 900.0  # a live-location fix further than this from the capture is not used

Household = tuple[float, float] | tuple[float, float, str | Datum]


class ExifReport(BaseModel):
    """The EXIF fields as extracted (times ISO 8601; ``captured_at`` carries its offset)."""

    model_config = ConfigDict(frozen=True)

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
    gps_ifd_present: bool
    camera_offset_s: int | None = None
    offset_from_gps: bool = False


class GpsReport(BaseModel):
    """The EXIF GPS fix (as written; decimal degrees)."""

    model_config = ConfigDict(frozen=True)

    lat: float
    lon: float
    altitude_m: float | None
    datum: str | None
    accuracy_m: float | None
    time_utc: datetime | None
    time_of_day_utc: str | None


class PositionReport(BaseModel):
    """The position used for the verdict, in WGS-84, and where it came from."""

    model_config = ConfigDict(frozen=True)

    source: PositionSource
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    at: datetime | None


class DerivedReport(BaseModel):
    """A derived JPEG (display copy or thumbnail)."""

    model_config = ConfigDict(frozen=True)

    sha256: str
    width: int
    height: int
    size_bytes: int


class EvidenceReport(BaseModel):
    """Everything the pipeline learned about one file, and its verdict. JSON-serialisable."""

    model_config = ConfigDict(frozen=True)

    pipeline_version: int
    sha256: str
    size_bytes: int
    source: EvidenceSource
    format: str
    mime: str
    width: int
    height: int
    oriented_width: int
    oriented_height: int
    exif: ExifReport
    gps: GpsReport | None
    position: PositionReport
    phash: str
    dhash: str
    perceptual_hash: str
    display: DerivedReport
    thumbnail: DerivedReport
    verdict: Verdict
    # a document photo: text-like regions of the display copy and thumbnail are pixelated
    redacted: bool = False

    def to_json(self, indent: int | None = None) -> str:
        """The report as JSON text."""
        return self.model_dump_json(indent=indent)


@dataclass(frozen=True, slots=True)
class ProcessedEvidence:
    """The report plus the bytes a store keeps: original, display copy and thumbnail."""

    report: EvidenceReport
    original: bytes
    display: bytes
    thumbnail: bytes


def _exif_fix(exif: ExifData) -> Fix | None:
    gps = exif.gps
    if gps is None:
        return None
    try:
        datum = parse_datum(gps.datum) if gps.datum else Datum.wgs84
    except ValueError:
        datum = Datum.wgs84  # e.g. "TOKYO" or junk: GPS receivers report WGS-84 in practice
    return Fix(gps.lat, gps.lon, gps.time_utc or exif.captured_at, gps.accuracy_m, datum)


def process_full(
    data_or_path: DataOrPath,
    source: EvidenceSource | str = EvidenceSource.UPLOAD,
    *,
    household: Household | None = None,
    window: tuple[datetime, datetime] | None = None,
    live_fixes: Sequence[Fix] = (),
    static_fix: Fix | None = None,
    tz: str | tzinfo | None = None,
    earlier: Iterable[Candidate] = (),
    visit_id: str | None = None,
    household_id: str | None = None,
    forwarded: bool = False,
    received_at: datetime | None = None,
    visit_day: date | None = None,
    radius_m: float = DEFAULT_RADIUS_M,
    fresh_tolerance_s: float = FRESH_TOLERANCE_S,
    gps_time_tolerance_s: float = GPS_TIME_TOLERANCE_S,
    now: datetime | None = None,
    max_bytes: int = MAX_BYTES,
    display_max: int = DISPLAY_MAX,
    thumb_max: int = THUMB_MAX,
    store: BlobStore | None = None,
    document: bool = False,
) -> ProcessedEvidence:
    """Run the whole pipeline and return the report with the original and derived bytes.

    ``document``: the photo shows a document (ID card, 户口簿, passbook); its derived copies are
    redacted before they are stored.
    """
    src = EvidenceSource(source)
    data = read_input(data_or_path, max_bytes)
    sha = sha256_bytes(data)
    img, info = open_image(data, max_bytes=max_bytes)
    try:
        exif = read_exif(img, tz)
        orientation = exif.orientation
        if info.format == "HEIF":
            # pillow-heif decodes with the container's rotation/mirroring applied and resets the EXIF
            # tag to 1; report what the camera wrote, apply nothing more.
            original = img.info.get("original_orientation")
            if isinstance(original, int) and 1 <= original <= 8:
                exif = dataclasses.replace(exif, orientation=original)
            orientation = 1
        derived = derive(img, orientation, display_max, thumb_max, redact=document)
    finally:
        img.close()
    ph = perceptual_hash(derived.thumbnail_image)
    oriented = (info.height, info.width) if (orientation or 1) >= 5 else (info.width, info.height)

    position, position_source = choose_position(
        _exif_fix(exif), live_fixes, static_fix, exif.captured_at or received_at, LIVE_MAX_GAP_S
    )
    home: tuple[float, float] | None = None
    home_datum: str | Datum = Datum.wgs84
    if household is not None:
        home = (float(household[0]), float(household[1]))
        if len(household) > 2:
            home_datum = household[2]
    site = judge_site(position, home, home_datum, radius_m)
    verdict = judge(
        exif=exif,
        width=info.width,
        height=info.height,
        source=src,
        site=site,
        position_source=position_source,
        household_known=home is not None,
        window=window,
        reuse=find_reuse(ph, earlier),
        visit_id=visit_id,
        household_id=household_id,
        forwarded=forwarded,
        now=now,
        fresh_tolerance_s=fresh_tolerance_s,
        gps_time_tolerance_s=gps_time_tolerance_s,
        tz=tz,
        visit_day=visit_day,
    )
    wgs = position.wgs84() if position is not None else None
    gps = exif.gps
    report = EvidenceReport(
        pipeline_version=PIPELINE_VERSION,
        sha256=sha,
        size_bytes=info.size_bytes,
        source=src,
        format=info.format,
        mime=info.mime,
        width=info.width,
        height=info.height,
        oriented_width=oriented[0],
        oriented_height=oriented[1],
        exif=ExifReport(
            present=exif.present,
            captured_at=exif.captured_at,
            captured_local=exif.captured_local,
            capture_time_tag=exif.capture_time_tag,
            offset_from_exif=exif.offset_from_exif,
            modified_local=exif.modified_local,
            orientation=exif.orientation,
            make=exif.make,
            model=exif.model,
            software=exif.software,
            exif_width=exif.exif_width,
            exif_height=exif.exif_height,
            gps_ifd_present=exif.gps_ifd_present,
            camera_offset_s=exif.camera_offset_s,
            offset_from_gps=exif.offset_from_gps,
        ),
        gps=None
        if gps is None
        else GpsReport(
            lat=gps.lat,
            lon=gps.lon,
            altitude_m=gps.altitude_m,
            datum=gps.datum,
            accuracy_m=gps.accuracy_m,
            time_utc=gps.time_utc,
            time_of_day_utc=gps.time_of_day_utc,
        ),
        position=PositionReport(
            source=position_source,
            lat=None if wgs is None else round(wgs[0], 7),
            lon=None if wgs is None else round(wgs[1], 7),
            accuracy_m=None if position is None else position.accuracy_m,
            at=None if position is None else position.at,
        ),
        phash=ph.phash,
        dhash=ph.dhash,
        perceptual_hash=str(ph),
        display=DerivedReport(
            sha256=sha256_bytes(derived.display),
            width=derived.display_size[0],
            height=derived.display_size[1],
            size_bytes=len(derived.display),
        ),
        thumbnail=DerivedReport(
            sha256=sha256_bytes(derived.thumbnail),
            width=derived.thumbnail_size[0],
            height=derived.thumbnail_size[1],
            size_bytes=len(derived.thumbnail),
        ),
        verdict=verdict,
        redacted=document,
    )
    if store is not None:
        store.put_bytes(data, "original")
        store.put_bytes(derived.display, "derived")
        store.put_bytes(derived.thumbnail, "derived")
    return ProcessedEvidence(report, data, derived.display, derived.thumbnail)


def process(
    data_or_path: DataOrPath,
    source: EvidenceSource | str = EvidenceSource.UPLOAD,
    *,
    household: Household | None = None,
    window: tuple[datetime, datetime] | None = None,
    live_fixes: Sequence[Fix] = (),
    static_fix: Fix | None = None,
    tz: str | tzinfo | None = None,
    earlier: Iterable[Candidate] = (),
    visit_id: str | None = None,
    household_id: str | None = None,
    forwarded: bool = False,
    received_at: datetime | None = None,
    visit_day: date | None = None,
    radius_m: float = DEFAULT_RADIUS_M,
    now: datetime | None = None,
    store: BlobStore | None = None,
) -> EvidenceReport:
    """Run the pipeline on one file and return its ``EvidenceReport`` (raises ``MediaError`` if rejected)."""
    return process_full(
        data_or_path,
        source,
        household=household,
        window=window,
        live_fixes=live_fixes,
        static_fix=static_fix,
        tz=tz,
        earlier=earlier,
        visit_id=visit_id,
        household_id=household_id,
        forwarded=forwarded,
        received_at=received_at,
        visit_day=visit_day,
        radius_m=radius_m,
        now=now,
        store=store,
    ).report
