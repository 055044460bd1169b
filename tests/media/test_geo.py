"""Datum conversions against published reference points; distance; position ranking; on-site."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from media.geo import (
    Datum,
    Fix,
    PositionSource,
    SiteStatus,
    bd09_to_gcj02,
    bd09_to_wgs84,
    choose_position,
    distance_m,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    judge_site,
    out_of_china,
    parse_datum,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# googollee/eviltransform test vectors: (wgs lat, wgs lon, gcj lat, gcj lon)
EVILTRANSFORM = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]
# wandergis/coordtransform README example, input (lon 116.404, lat 39.915)
CT_IN = (39.915, 116.404)
CT_WGS_TO_GCJ = (39.91640428150164, 116.41024449916938)
CT_GCJ_TO_BD = (39.92133699351021, 116.41036949371029)
CT_BD_TO_GCJ = (39.90865673957631, 116.39762729119315)  # one-step approximate inverse
# Baidu's example: Beijing railway station, GCJ-02 (39.90245, 116.42703) = BD-09 (39.90851, 116.43351)
BJ_STATION_GCJ = (39.90245, 116.42703)
BJ_STATION_BD = (39.90851, 116.43351)


@pytest.mark.parametrize("vec", EVILTRANSFORM)
def test_wgs_to_gcj_matches_reference(vec: tuple[float, float, float, float]) -> None:
    lat, lon = wgs84_to_gcj02(vec[0], vec[1])
    assert lat == pytest.approx(vec[2], abs=1e-9)
    assert lon == pytest.approx(vec[3], abs=1e-9)


@pytest.mark.parametrize("vec", EVILTRANSFORM)
def test_gcj_to_wgs_inverse_is_under_half_a_metre(vec: tuple[float, float, float, float]) -> None:
    back = gcj02_to_wgs84(vec[2], vec[3])
    assert distance_m(back, (vec[0], vec[1])) < 0.5
    # and the offset being undone is hundreds of metres, enough to fail any geofence
    assert distance_m((vec[0], vec[1]), (vec[2], vec[3])) > 100


def test_coordtransform_reference_values() -> None:
    assert wgs84_to_gcj02(*CT_IN) == pytest.approx(CT_WGS_TO_GCJ, abs=1e-9)
    assert gcj02_to_bd09(*CT_IN) == pytest.approx(CT_GCJ_TO_BD, abs=1e-9)
    # the published BD->GCJ is a one-step approximation; ours is refined, and agrees within 0.1 m
    assert distance_m(bd09_to_gcj02(*CT_IN), CT_BD_TO_GCJ) < 0.1


def test_baidu_beijing_station() -> None:
    assert distance_m(gcj02_to_bd09(*BJ_STATION_GCJ), BJ_STATION_BD) < 2
    assert distance_m(bd09_to_gcj02(*BJ_STATION_BD), BJ_STATION_GCJ) < 2


@pytest.mark.parametrize(
    "point",
    [(23.177917, 113.394317), (43.8, 87.6), (45.75, 126.65), (18.25, 109.5), (29.65, 91.1), (39.9, 116.4)],
)
def test_round_trips_are_exact(point: tuple[float, float]) -> None:
    for datum in (Datum.gcj02, Datum.bd09):
        there = from_wgs84(*point, datum)
        assert distance_m(point, there) > 50
        assert distance_m(to_wgs84(*there, datum), point) < 0.01
    assert distance_m(bd09_to_wgs84(*wgs84_to_bd09(*point)), point) < 0.01


def test_outside_china_is_unchanged() -> None:
    for p in [(51.5, -0.12), (43.467448, 11.885127), (-33.9, 151.2)]:
        assert out_of_china(*p)
        assert wgs84_to_gcj02(*p) == p and gcj02_to_wgs84(*p) == p


def test_parse_datum() -> None:
    assert parse_datum("WGS-84") is Datum.wgs84
    assert parse_datum(" gcj-02 ") is Datum.gcj02
    assert parse_datum("BD09") is Datum.bd09
    assert parse_datum(None) is Datum.wgs84
    with pytest.raises(ValueError):
        parse_datum("tokyo")


def test_geodesic_distance() -> None:
    # one degree of latitude at the equator is 110.574 km on WGS-84
    assert distance_m((0.0, 30.0), (1.0, 30.0)) == pytest.approx(110_574, abs=5)


T0 = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)
HOME = (23.1, 113.3)


def _north(m: float) -> tuple[float, float]:
    return HOME[0] + m / 110_760, HOME[1]


def test_position_ranking() -> None:
    exif = Fix(*_north(10), at=T0)
    live = [Fix(*_north(500), at=T0 - timedelta(minutes=9)), Fix(*_north(30), at=T0 + timedelta(minutes=1))]
    static = Fix(*_north(40))
    assert choose_position(exif, live, static, T0) == (exif, PositionSource.EXIF_GPS)
    assert choose_position(None, live, static, T0) == (live[1], PositionSource.LIVE_LOCATION)
    # a live fix long before or after the photo is not used
    far = [Fix(*_north(30), at=T0 + timedelta(hours=2))]
    assert choose_position(None, far, static, T0) == (static, PositionSource.STATIC_LOCATION)
    assert choose_position(None, (), None, T0) == (None, PositionSource.NONE)
    # (0, 0) is "no position", as Telegram venues sometimes send
    assert choose_position(Fix(0.0, 0.0), (), Fix(0.0, 0.0), T0) == (None, PositionSource.NONE)


def test_on_site_radius_widened_by_accuracy() -> None:
    near = Fix(*_north(140))
    assert judge_site(near, HOME).status is SiteStatus.ON_SITE
    far = Fix(*_north(200))
    assert judge_site(far, HOME).status is SiteStatus.OFF_SITE
    vague = Fix(*_north(200), accuracy_m=65)
    j = judge_site(vague, HOME)
    assert j.status is SiteStatus.ON_SITE and j.effective_radius_m == 215
    assert judge_site(far, HOME, radius_m=250).status is SiteStatus.ON_SITE
    assert judge_site(Fix(*_north(10), accuracy_m=5000), HOME).status is SiteStatus.UNKNOWN
    assert judge_site(None, HOME).status is SiteStatus.UNKNOWN
    assert judge_site(near, None).status is SiteStatus.UNKNOWN


def test_household_in_gcj02_is_converted_before_measuring() -> None:
    """A household pinned on a Chinese map (GCJ-02) is ~500 m off unless converted."""
    photo = Fix(*HOME)
    gcj_home = wgs84_to_gcj02(*HOME)
    assert judge_site(photo, gcj_home, Datum.gcj02).distance_m == pytest.approx(0, abs=0.5)
    assert judge_site(photo, gcj_home, Datum.wgs84).status is SiteStatus.OFF_SITE
    bd_home = wgs84_to_bd09(*HOME)
    assert judge_site(photo, bd_home, "bd09").distance_m == pytest.approx(0, abs=0.5)
