"""GCJ-02 applies only inside mainland China: points on both sides of its borders and coasts."""

from __future__ import annotations

import pytest

from media.geo import distance_m, gcj02_to_wgs84, out_of_china, wgs84_to_gcj02
from media.mainland import HAINAN, MAINLAND, in_mainland

# (name, lat, lon) pairs across a border: the first is in the mainland, the second is not.
BORDER_PAIRS = [
    (("Dandong", 40.128, 124.385), ("Sinuiju", 40.095, 124.415)),
    (("Erenhot", 43.653, 111.977), ("Zamyn-Uud", 43.716, 111.905)),
    (("Hekou, north of the town", 22.56, 103.945), ("Lao Cai", 22.47, 103.98)),
    (("Shenzhen, Luohu", 22.55, 114.12), ("Sheung Shui, Hong Kong", 22.50, 114.13)),
    (("Shenzhen, Futian", 22.545, 114.055), ("Kowloon, Hong Kong", 22.32, 114.17)),
    (("Zhuhai, Xiangzhou", 22.27, 113.56), ("Macao peninsula", 22.193, 113.539)),
    (("Zhuhai, Hengqin", 22.125, 113.52), ("Taipa, Macao", 22.155, 113.565)),
    (("Xiamen island", 24.48, 118.09), ("Kinmen", 24.43, 118.32)),
    (("Fuzhou", 26.07, 119.30), ("Matsu, Nangan", 26.16, 119.93)),
    (("Heihe", 50.245, 127.49), ("Blagoveshchensk", 50.29, 127.527)),
    (("Manzhouli", 49.59, 117.44), ("Zabaykalsk", 49.65, 117.33)),
    (("Hunchun", 42.87, 130.36), ("Vladivostok", 43.12, 131.89)),
    (("Kunming", 25.04, 102.71), ("Hanoi", 21.03, 105.85)),
]

OUTSIDE = [
    ("Taipei", 25.03, 121.56),
    ("Kaohsiung", 22.62, 120.30),
    ("Penghu", 23.57, 119.58),
    ("Hong Kong island", 22.28, 114.16),
    ("Lantau", 22.26, 113.95),
    ("Coloane, Macao", 22.12, 113.565),
    ("Ulaanbaatar", 47.92, 106.92),
    ("Pyongyang", 39.03, 125.75),
    ("Seoul", 37.57, 126.98),
    ("Almaty", 43.24, 76.89),
    ("Kathmandu", 27.70, 85.30),
    ("Tokyo", 35.68, 139.69),
]

INSIDE = [
    ("Beijing", 39.90, 116.40),
    ("Shanghai, Pudong airport", 31.15, 121.80),
    ("Chongming island", 31.62, 121.40),
    ("Zhoushan", 30.00, 122.10),
    ("Weihai", 37.51, 122.12),
    ("Qingdao", 36.07, 120.38),
    ("Dalian", 38.91, 121.60),
    ("Pingtan island", 25.50, 119.78),
    ("Guangzhou", 23.13, 113.26),
    ("Haikou", 20.04, 110.32),
    ("Sanya", 18.25, 109.51),
    ("Urumqi", 43.83, 87.62),
    ("Kashgar", 39.47, 75.99),
    ("Lhasa", 29.65, 91.12),
    ("Mohe", 52.97, 122.54),
    ("Harbin", 45.80, 126.53),
]


@pytest.mark.parametrize(("inside", "outside"), BORDER_PAIRS, ids=lambda p: p[0])
def test_border_pairs(inside: tuple[str, float, float], outside: tuple[str, float, float]) -> None:
    assert in_mainland(inside[1], inside[2]), inside[0]
    assert not in_mainland(outside[1], outside[2]), outside[0]
    # the offset is applied on the mainland side only
    lat, lon = inside[1], inside[2]
    assert distance_m((lat, lon), wgs84_to_gcj02(lat, lon)) > 100
    assert wgs84_to_gcj02(outside[1], outside[2]) == (outside[1], outside[2])
    assert gcj02_to_wgs84(outside[1], outside[2]) == (outside[1], outside[2])


@pytest.mark.parametrize(("name", "lat", "lon"), OUTSIDE, ids=lambda v: str(v))
def test_outside_the_mainland_no_offset(name: str, lat: float, lon: float) -> None:
    assert out_of_china(lat, lon), name
    assert wgs84_to_gcj02(lat, lon) == (lat, lon)


@pytest.mark.parametrize(("name", "lat", "lon"), INSIDE, ids=lambda v: str(v))
def test_inside_the_mainland_offset(name: str, lat: float, lon: float) -> None:
    assert not out_of_china(lat, lon), name
    there = wgs84_to_gcj02(lat, lon)
    assert distance_m((lat, lon), there) > 50
    assert distance_m(gcj02_to_wgs84(*there), (lat, lon)) < 0.5


def test_the_bounding_box_is_not_the_outline() -> None:
    # all of these were inside the old rough box (72.0-137.8 E, 0.8-55.8 N)
    for lat, lon in [(47.92, 106.92), (39.03, 125.75), (43.12, 131.89), (21.03, 105.85), (25.03, 121.56)]:
        assert 72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271
        assert out_of_china(lat, lon)


def test_outline_is_simplified_data() -> None:
    assert 100 < len(MAINLAND) + len(HAINAN) <= 500
    for ring in (MAINLAND, HAINAN):
        assert all(73 <= lon <= 135.5 and 18 <= lat <= 53.6 for lon, lat in ring)
