"""Datums (WGS-84, GCJ-02, BD-09), geodesic distance and the on-site judgement.

GCJ-02 is the obfuscated datum every map published in mainland China uses (Amap, Tencent, Apple
Maps in China); BD-09 is Baidu's further offset of it. Forward formulas are the widely published
ones (e.g. googollee/eviltransform, wandergis/coordtransform); the inverses are solved iteratively,
to well under a millimetre, instead of the one-step approximation that is off by metres.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from geopy.distance import geodesic

from contracts.evidence import PositionSource as PositionSource  # the Evidence columns hold these too
from contracts.evidence import SiteStatus as SiteStatus
from contracts.vocab import Datum as Datum  # one enum for datums, shared with the store
from media.mainland import in_mainland

DEFAULT_RADIUS_M: Final = 150.0
MAX_ACCURACY_M: Final = 1000.0  # a fix vaguer than this cannot place anyone at a house

_A: Final = 6378245.0  # Krasovsky 1940 semi-major axis, as the GCJ-02 algorithm uses
_EE: Final = 0.00669342162296594323
_X_PI: Final = math.pi * 3000.0 / 180.0


_DATUM_ALIASES: Final[dict[str, Datum]] = {
    "wgs84": Datum.wgs84,
    "wgs-84": Datum.wgs84,
    "wgs 84": Datum.wgs84,
    "gps": Datum.wgs84,
    "epsg:4326": Datum.wgs84,
    "gcj02": Datum.gcj02,
    "gcj-02": Datum.gcj02,
    "gcj": Datum.gcj02,
    "mars": Datum.gcj02,
    "amap": Datum.gcj02,
    "bd09": Datum.bd09,
    "bd-09": Datum.bd09,
    "bd09ll": Datum.bd09,
    "baidu": Datum.bd09,
}


def parse_datum(value: str | Datum | None) -> Datum:
    """Parse a datum name (``WGS-84``, ``gcj02``, ``BD-09`` ...); None means WGS-84."""
    if value is None:
        return Datum.wgs84
    if isinstance(value, Datum):
        return value
    key = value.strip().lower()
    if key in _DATUM_ALIASES:
        return _DATUM_ALIASES[key]
    raise ValueError(f"unknown datum {value!r}")


def out_of_china(lat: float, lon: float) -> bool:
    """True where GCJ-02 applies no offset: outside the outline of mainland China (``media.mainland``).

    The algorithm's own rough bounding box also took in Mongolia, Korea, the Russian Far East,
    northern Vietnam, Hong Kong, Macao and Taiwan, whose maps are not shifted.
    """
    return not in_mainland(lat, lon)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """WGS-84 -> GCJ-02 (identity outside China)."""
    if out_of_china(lat, lon):
        return lat, lon
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lat + dlat, lon + dlon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """GCJ-02 -> WGS-84 by fixed-point iteration (error far below 0.5 m)."""
    if out_of_china(lat, lon):
        return lat, lon
    wlat, wlon = lat, lon
    for _ in range(30):
        glat, glon = wgs84_to_gcj02(wlat, wlon)
        dlat, dlon = glat - lat, glon - lon
        wlat, wlon = wlat - dlat, wlon - dlon
        if abs(dlat) < 1e-10 and abs(dlon) < 1e-10:
            break
    return wlat, wlon


def gcj02_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    """GCJ-02 -> BD-09 (Baidu)."""
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def _bd09_to_gcj02_approx(lat: float, lon: float) -> tuple[float, float]:
    x, y = lon - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.sin(theta), z * math.cos(theta)


def bd09_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """BD-09 -> GCJ-02: the published inverse, refined by iteration against the forward formula."""
    glat, glon = _bd09_to_gcj02_approx(lat, lon)
    for _ in range(10):
        blat, blon = gcj02_to_bd09(glat, glon)
        dlat, dlon = blat - lat, blon - lon
        glat, glon = glat - dlat, glon - dlon
        if abs(dlat) < 1e-10 and abs(dlon) < 1e-10:
            break
    return glat, glon


def wgs84_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    """WGS-84 -> BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lon))


def bd09_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """BD-09 -> WGS-84."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))


def to_wgs84(lat: float, lon: float, datum: str | Datum | None = Datum.wgs84) -> tuple[float, float]:
    """Convert a coordinate in ``datum`` to WGS-84."""
    d = parse_datum(datum)
    if d is Datum.gcj02:
        return gcj02_to_wgs84(lat, lon)
    if d is Datum.bd09:
        return bd09_to_wgs84(lat, lon)
    return lat, lon


def from_wgs84(lat: float, lon: float, datum: str | Datum) -> tuple[float, float]:
    """Convert a WGS-84 coordinate to ``datum``."""
    d = parse_datum(datum)
    if d is Datum.gcj02:
        return wgs84_to_gcj02(lat, lon)
    if d is Datum.bd09:
        return wgs84_to_bd09(lat, lon)
    return lat, lon


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic (WGS-84 ellipsoid) distance in metres between two (lat, lon) points."""
    return float(geodesic(a, b).meters)


@dataclass(frozen=True, slots=True)
class Fix:
    """A position report: a Telegram location (WGS-84) or an EXIF GPS fix."""

    lat: float
    lon: float
    at: datetime | None = None
    accuracy_m: float | None = None
    datum: Datum = Datum.wgs84

    def wgs84(self) -> tuple[float, float]:
        """This fix in WGS-84."""
        return to_wgs84(self.lat, self.lon, self.datum)


def is_real_position(lat: float, lon: float) -> bool:
    """False for (0, 0), out-of-range and non-finite coordinates."""
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return False
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return False
    return not (lat == 0 and lon == 0)


def nearest_in_time(fixes: Iterable[Fix], at: datetime | None, max_gap_s: float | None = None) -> Fix | None:
    """The fix closest in time to ``at`` (within ``max_gap_s``); the latest one if ``at`` is None."""
    usable = [f for f in fixes if is_real_position(f.lat, f.lon)]
    if not usable:
        return None
    if at is None:
        timed = [f for f in usable if f.at is not None]
        return max(timed, key=lambda f: f.at) if timed else usable[-1]  # type: ignore[arg-type,return-value]
    timed = [f for f in usable if f.at is not None]
    if not timed:
        return None
    best = min(timed, key=lambda f: abs((f.at - at).total_seconds()))  # type: ignore[operator]
    assert best.at is not None
    if max_gap_s is not None and abs((best.at - at).total_seconds()) > max_gap_s:
        return None
    return best


def choose_position(
    exif_fix: Fix | None,
    live_fixes: Sequence[Fix] = (),
    static_fix: Fix | None = None,
    at: datetime | None = None,
    live_max_gap_s: float | None = 900.0,
) -> tuple[Fix | None, PositionSource]:
    """Pick the best position: EXIF GPS > live location nearest in time > static location > none."""
    if exif_fix is not None and is_real_position(exif_fix.lat, exif_fix.lon):
        return exif_fix, PositionSource.EXIF_GPS
    live = nearest_in_time(live_fixes, at, live_max_gap_s)
    if live is not None:
        return live, PositionSource.LIVE_LOCATION
    if static_fix is not None and is_real_position(static_fix.lat, static_fix.lon):
        return static_fix, PositionSource.STATIC_LOCATION
    return None, PositionSource.NONE


@dataclass(frozen=True, slots=True)
class SiteJudgement:
    """On-site status with the numbers behind it."""

    status: SiteStatus
    distance_m: float | None
    radius_m: float
    effective_radius_m: float | None
    accuracy_m: float | None


def judge_site(
    position: Fix | None,
    household: tuple[float, float] | None,
    household_datum: str | Datum | None = Datum.wgs84,
    radius_m: float = DEFAULT_RADIUS_M,
    max_accuracy_m: float = MAX_ACCURACY_M,
) -> SiteJudgement:
    """On/off site: distance to the household within ``radius_m`` widened by the fix's accuracy."""
    if position is None or household is None:
        return SiteJudgement(SiteStatus.UNKNOWN, None, radius_m, None, None)
    home = to_wgs84(household[0], household[1], household_datum)
    dist = distance_m(position.wgs84(), home)
    acc = position.accuracy_m if position.accuracy_m and position.accuracy_m > 0 else 0.0
    if acc > max_accuracy_m:
        return SiteJudgement(SiteStatus.UNKNOWN, round(dist, 1), radius_m, None, acc)
    effective = radius_m + acc
    status = SiteStatus.ON_SITE if dist <= effective else SiteStatus.OFF_SITE
    return SiteJudgement(status, round(dist, 1), radius_m, effective, acc or None)
