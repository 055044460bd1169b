from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from models.region import Region, RegionLevel
from services import regions
from services.context import Actor
from services.errors import ValidationFailed
from tests.conftest import shared_testdata
from tests.factories import make_household

ACTOR = Actor.system("test")


def test_packaged_county_loads_all_levels(session: Session) -> None:
    report = regions.load_packaged(session, ACTOR)
    assert report.by_level == {"province": 1, "city": 2, "county": 4, "township": 54, "village": 674}
    seat = session.get(Region, "150422100200")
    assert seat is not None and seat.level == RegionLevel.village and seat.parent_code == "150422100"
    assert [r.code for r in regions.children(session, "1504")] == ["150422", "150423", "150426"]


def test_shared_csv_levels_and_json_tree(session: Session) -> None:
    folder = shared_testdata("regions", "larchliu_2018_neimenggu_4counties_5level")
    assert regions.load(session, ACTOR, folder, "2018").total == 735
    tree = shared_testdata("regions", "modood_2023_pcas-code.json")
    report = regions.load(session, ACTOR, tree, "2023")
    assert report.by_level["township"] == 41352 and report.by_level["province"] == 31
    tianhe = regions.children(session, "440106")
    assert len(tianhe) == 21 and tianhe[0].name == "五山街道"


def test_newer_edition_renames_adds_and_keeps_old_codes(session: Session, tmp_path: Path) -> None:
    regions.load_packaged(session, ACTOR)
    h = make_household(session, "LB1", village="150422100200")
    newer = tmp_path / "villages.csv"
    newer.write_text("code,name\n150422100200,镇内社区\n150422100299,新设社区\n", encoding="utf-8")
    report = regions.load(session, ACTOR, newer, "2023")
    assert (report.added, report.renamed) == (1, 1)
    session.expire_all()
    assert session.get(Region, "150422100200").name == "镇内社区"  # type: ignore[union-attr]
    assert session.get(Region, "150422100299") is not None
    assert session.exec(select(func.count()).select_from(Region)).one() == 736
    assert session.get(type(h), h.id) is not None


@pytest.mark.parametrize("body", ["name\nx\n", "not,a,region\n1,2,3\n"])
def test_bad_region_files(session: Session, tmp_path: Path, body: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ValidationFailed):
        regions.load(session, ACTOR, path)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValidationFailed):
        regions.load(session, ACTOR, bad_json)
