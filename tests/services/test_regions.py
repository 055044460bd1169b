from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

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


DATA = Path(__file__).resolve().parent.parent / "data" / "regions"


def _orphans(session: Session) -> list[str]:
    codes = set(session.exec(select(Region.code)).all())
    return [
        r.code for r in session.exec(select(Region)).all() if r.parent_code and r.parent_code not in codes
    ]


def _count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Region)).one()


def test_a_12_digit_tree_is_normalised_with_parents(session: Session) -> None:
    report = regions.load(session, ACTOR, DATA / "tree_12digit_excerpt.json", "2023")
    assert report.shape == "tree"
    assert report.by_level == {"province": 2, "city": 3, "county": 3, "township": 6, "village": 1}
    tianhe = regions.get(session, "440106")
    assert (tianhe.name, tianhe.level, tianhe.parent_code) == ("天河区", RegionLevel.county, "4401")
    assert [r.name for r in regions.children(session, "440106")] == ["五山街道", "员村街道", "车陂街道"]
    # 东莞 has no counties: its townships hang under the county-level stand-in 441900, named after the city.
    assert report.placeholders == ["441900"]
    assert regions.get(session, "441900").name == "东莞市"
    assert regions.get(session, "441900003").parent_code == "441900"
    assert session.get(Region, "440106000000") is None and _orphans(session) == []
    assert report.skipped == 0


def test_a_12_digit_tree_over_the_packaged_set_updates_and_never_duplicates(session: Session) -> None:
    regions.load_packaged(session, ACTOR)
    before = _count(session)
    report = regions.load(session, ACTOR, DATA / "tree_12digit_excerpt.json", "2023")
    # 15, 1504, 150422, 150422100 and 150422100200 are the packaged regions again, written 12 digits long.
    assert {k: v.unchanged for k, v in report.levels.items()} == {
        "province": 1,
        "city": 1,
        "county": 1,
        "township": 1,
        "village": 1,
    }
    assert report.added == 10 and report.renamed == 0
    assert _count(session) == before + 10
    assert (
        session.exec(select(Region).where(func.length(Region.code) == 12, Region.level != "village")).all()
        == []
    )
    assert regions.get(session, "150422").edition == "2023"


def test_the_areacity_flat_csv_takes_official_names_and_skips_what_is_not_mainland(session: Session) -> None:
    report = regions.load(session, ACTOR, DATA / "areacity_2019_ok_data_level3_excerpt.csv")
    assert report.shape == "areacity_csv"
    assert report.by_level == {"province": 3, "city": 3, "county": 5}
    assert {k: v.skipped for k, v in report.levels.items()} == {
        "province": {"region_skip_hmt": 1, "region_skip_abroad": 1},
        "city": {"region_skip_hmt": 3, "region_skip_abroad": 1},
        "county": {"region_skip_hmt": 3, "region_skip_abroad": 1},
    }
    assert (
        regions.get(session, "110101").name == "东城区"
        and regions.get(session, "110101").parent_code == "1101"
    )
    assert regions.get(session, "1101").name == "市辖区"
    assert regions.get(session, "659001").parent_code == "6590"
    assert session.exec(select(Region).where(col(Region.code).startswith("9"))).all() == []
    assert session.get(Region, "0") is None and _orphans(session) == []


def _areacity(rows: list[str]) -> bytes:
    return ("id,pid,deep,name,pinyin_prefix,pinyin,ext_id,ext_name\n" + "\n".join(rows) + "\n").encode()


def test_an_areacity_edition_over_the_packaged_set_renames_and_extends(
    session: Session, tmp_path: Path
) -> None:
    regions.load_packaged(session, ACTOR)
    before = _count(session)
    path = tmp_path / "no-extension-hint"
    path.write_bytes(
        _areacity(
            [
                '15,0,0,"内蒙古","nmg","nei meng gu","15","内蒙古自治区"',
                '1504,15,1,"赤峰","chf","chi feng","150400000000","赤峰市"',
                '150422,1504,2,"巴林左","blzq","ba lin zuo qi","150422000000","巴林左旗"',
                '150423,1504,2,"巴林右","blyq","ba lin you qi","150423000000","巴林右旗(新)"',
                '150424,1504,2,"林西","lix","lin xi","150424000000","林西县"',
                '81,0,0,"香港","xg","xiang gang","810000","香港特别行政区"',
                '8101,81,1,"香港","xg","xiang gang","810100000000","香港岛"',
            ]
        )
    )
    report = regions.load(session, ACTOR, path, "2023")
    county = report.levels["county"]
    assert (county.added, county.renamed, county.unchanged) == (1, 1, 1)
    assert report.levels["province"].unchanged == 1 and report.levels["city"].unchanged == 1
    assert report.levels["province"].skipped == {"region_skip_hmt": 1}
    assert report.levels["city"].skipped == {"region_skip_hmt": 1}
    assert _count(session) == before + 1
    session.expire_all()
    assert regions.get(session, "150423").name == "巴林右旗(新)"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "utf-16"])
def test_encodings_of_a_code_csv(session: Session, tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "regions.txt"
    path.write_bytes("code,name\n15,内蒙古自治区\n1504,赤峰市\n".encode(encoding))
    report = regions.load(session, ACTOR, path)
    assert report.by_level == {"province": 1, "city": 1}
    assert regions.get(session, "1504").name == "赤峰市"
    expected = {"utf-8-sig": [], "gb18030": ["region_note_gb18030"], "utf-16": ["region_note_utf16"]}
    assert report.notes == expected[encoding]


def test_a_mixed_file_short_and_padded_codes_are_one_region(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(
        "code,name\n"
        "150000,内蒙古自治区\n"
        "1504,赤峰市\n"
        "150422,巴林左旗\n"
        "150422000000,巴林左旗\n"
        "150422100000,林东镇\n"
        "150422100200,镇内\n"
        "810000,香港特别行政区\n"
        "710000000000,台湾省\n"
        "0,国外\n",
        encoding="utf-8",
    )
    report = regions.load(session, ACTOR, path)
    assert report.by_level == {"province": 1, "city": 1, "county": 1, "township": 1, "village": 1}
    assert report.levels["county"].skipped == {"region_skip_duplicate": 1}
    assert report.levels["province"].skipped == {"region_skip_hmt": 2}
    assert report.levels[regions.UNKNOWN_LEVEL].skipped == {"region_skip_abroad": 1}
    assert _count(session) == 5 and _orphans(session) == []


def test_hostile_records_are_skipped_with_reasons_and_never_break_parents(
    session: Session, tmp_path: Path
) -> None:
    nodes = [
        {"code": "15", "name": "内蒙古自治区"},
        {"code": "1504", "name": "赤峰市", "pcode": "15"},
        {"code": "150422", "name": "巴林左旗", "pcode": "1504"},
        {"code": "150422", "name": "巴林右旗", "pcode": "1504"},  # same code, another name
        {"code": "150423", "name": "巴林右旗", "pcode": "1505"},  # parent the code does not imply
        {"code": "1509", "name": "乌兰察布市", "pcode": "150926"},  # cycle with the next one
        {"code": "150926", "name": "察哈尔右翼前旗", "pcode": "1509"},
        {"code": "1506", "name": "鄂尔多斯市", "pcode": "1506"},  # its own parent
        {"code": "152201", "name": "乌兰浩特市", "pcode": "1522"},  # orphan: 1522 is nowhere
        {"code": "152201001", "name": "和平街道", "pcode": "152201"},  # orphan's child
        {"code": "15042", "name": "五位", "pcode": "1504"},
        {"code": "15042A", "name": "字母", "pcode": "1504"},
        {"code": "150424", "name": "林" * 101, "pcode": "1504"},
        {"code": "150425", "name": "克什\n克腾旗", "pcode": "1504"},
        {"code": "150426", "name": "", "pcode": "1504"},
    ]
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(nodes, ensure_ascii=False), encoding="utf-8")
    report = regions.load(session, ACTOR, path)
    assert report.shape == "list"
    assert sorted(session.exec(select(Region.code)).all()) == ["15", "1504", "150422"]
    assert regions.get(session, "150422").name == "巴林左旗"  # the first of the two names is kept
    assert report.levels["city"].skipped == {"region_skip_cycle": 2}
    assert report.levels["county"].skipped == {
        "region_skip_cycle": 1,
        "region_skip_conflict": 1,
        "region_skip_parent_mismatch": 1,
        "region_skip_orphan": 1,
        "region_skip_long_name": 1,
        "region_skip_bad_name": 1,
        "region_skip_no_name": 1,
    }
    assert report.levels["township"].skipped == {"region_skip_orphan": 1}
    assert report.levels[regions.UNKNOWN_LEVEL].skipped == {"region_skip_bad_code": 2}
    conflict = next(s for s in report.skips if s.reason == "region_skip_conflict")
    assert conflict.params["kept"] == "巴林左旗" and conflict.where == "#4"
    assert _orphans(session) == []


def test_a_lower_level_alone_into_an_empty_store_is_all_orphans(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "streets.csv"
    path.write_text(
        "code,name,areaCode\n150422100,林东镇,150422\n150422101,隆昌镇,150422\n", encoding="utf-8"
    )
    report = regions.load(session, ACTOR, path)
    assert report.total == 0 and report.levels["township"].skipped == {"region_skip_orphan": 2}
    assert _count(session) == 0


def test_a_refused_file_changes_nothing(session: Session, tmp_path: Path) -> None:
    regions.load_packaged(session, ACTOR)
    before = _count(session)
    for name, body in (("empty.csv", b""), ("garbage.json", b"\x00\x01binary"), ("plain.txt", b"hello")):
        path = tmp_path / name
        path.write_bytes(body)
        with pytest.raises(ValidationFailed):
            regions.load(session, ACTOR, path)
    assert _count(session) == before


def test_the_shared_2023_tree_over_the_packaged_2018_set(session: Session) -> None:
    tree = shared_testdata("regions", "modood_2023_pcas-code.json")
    regions.load_packaged(session, ACTOR)
    before = _count(session)
    report = regions.load(session, ACTOR, tree, "2023")
    assert report.levels["province"].unchanged == 1 and report.levels["county"].unchanged == 4
    assert report.skipped == 0
    assert _count(session) == before + report.added
    assert regions.get(session, "150422100200").edition == "2018"  # not in the 2023 file: kept as it was


def test_the_modood_2023_tree_excerpt_over_the_packaged_2018_set(session: Session) -> None:
    regions.load_packaged(session, ACTOR)
    before = _count(session)
    report = regions.load(session, ACTOR, DATA / "modood_2023_pcas_code_excerpt.json", "2023")
    added = {k: v.added for k, v in report.levels.items()}
    unchanged = {k: v.unchanged for k, v in report.levels.items()}
    assert added == {"province": 1, "city": 1, "county": 1, "township": 5}
    assert unchanged == {"province": 1, "city": 1, "county": 1, "township": 13}
    assert report.skipped == 0 and report.placeholders == []
    assert _count(session) == before + 8
    # 东莞市 nested under 东莞市 is the county-level stand-in 441900, as the 6-digit tables write it.
    dongguan = regions.get(session, "441900")
    assert (dongguan.level, dongguan.parent_code) == (RegionLevel.county, "4419")
    assert regions.get(session, "441900003").parent_code == "441900"
    # Townships of 2018 that the 2023 edition no longer lists stay (households may point at them).
    assert regions.get(session, "150422400").edition == "2018"
    assert regions.get(session, "150422405").name == "林东产业园"


@pytest.mark.parametrize(
    "body",
    [
        [
            {
                "code": "86",
                "name": "中国",
                "children": [{"code": "15", "name": "内蒙古自治区", "children": []}],
            }
        ],
        [{"code": "100000", "name": "中国"}, {"code": "150000", "name": "内蒙古自治区", "pcode": "100000"}],
    ],
)
def test_a_country_root_is_skipped_and_its_provinces_kept(
    session: Session, tmp_path: Path, body: list[dict[str, object]]
) -> None:
    path = tmp_path / "country.json"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    report = regions.load(session, ACTOR, path)
    assert report.by_level == {"province": 1}
    assert report.levels["province"].skipped == {"region_skip_bad_code": 1}
    assert sorted(session.exec(select(Region.code)).all()) == ["15"]


def test_a_long_chain_of_parent_links_is_checked_in_linear_time(session: Session, tmp_path: Path) -> None:
    # 60k records whose ids link one to the next: a quadratic walk would take minutes, not a second.
    rows = ["k15,0,0,x,a,b,15,内蒙古自治区"] + [f"k{i},k{i - 1},3,x,a,b,bad{i},x" for i in range(16, 60_000)]
    path = tmp_path / "chain.csv"
    path.write_text("id,pid,deep,name,pinyin_prefix,pinyin,ext_id,ext_name\n" + "\n".join(rows) + "\n")
    report = regions.load(session, ACTOR, path)
    assert report.by_level == {"province": 1}
    assert report.levels["township"].skipped == {"region_skip_bad_code": 60_000 - 16}


def test_ancestor_columns_of_official_tables_are_checked(session: Session, tmp_path: Path) -> None:
    regions.load_packaged(session, ACTOR)
    path = tmp_path / "villages.csv"
    path.write_text(
        "code,name,streetCode,provinceCode,cityCode,areaCode\n"
        "150422100299,新设社区,150422100,15,1504,150422\n"
        "150422100298,错挂社区,150422100,15,1509,150422\n",
        encoding="utf-8",
    )
    report = regions.load(session, ACTOR, path)
    assert report.levels["village"].added == 1
    assert report.levels["village"].skipped == {"region_skip_parent_mismatch": 1}
    assert session.get(Region, "150422100298") is None
