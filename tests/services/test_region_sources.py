"""Region files of every shape people have: sniffing, decoding, code normalisation, refusals (no store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.errors import ValidationFailed
from services.region_sources import MAX_FIELD, Raw, decode, normalise, not_mainland, sniff

DATA = Path(__file__).resolve().parent.parent / "data" / "regions"


@pytest.mark.parametrize(
    ("body", "shape"),
    [
        (b'[{"code":"15","name":"x","children":[{"code":"1504","name":"y"}]}]', "tree"),
        (b'{"code":"15","name":"x","children":[]}', "tree"),
        (b'[{"code":"15","name":"x"},{"code":"1504","name":"y","pcode":"15"}]', "list"),
        (b"code,name\n15,x\n", "code_csv"),
        (b"\xef\xbb\xbfcode,name,provinceCode\n1504,y,15\n", "code_csv"),
        (b"code\tname\n15\tx\n", "code_csv"),
        (b"id,pid,deep,name,pinyin_prefix,pinyin,ext_id,ext_name\n15,0,0,x,a,b,15,x\n", "areacity_csv"),
    ],
)
def test_the_shape_is_sniffed_from_content(body: bytes, shape: str) -> None:
    assert sniff(body).shape == shape


def test_the_public_excerpts_are_recognised() -> None:
    areacity = sniff((DATA / "areacity_2019_ok_data_level3_excerpt.csv").read_bytes())
    assert areacity.shape == "areacity_csv"
    dongcheng = next(r for r in areacity.records if r.alias == "110101")
    # The official name and code are taken, not the short form.
    assert (dongcheng.code, dongcheng.name, dongcheng.level) == ("110101000000", "东城区", 2)
    assert dongcheng.declared_parents == ["110100000000"]
    tree = sniff((DATA / "tree_12digit_excerpt.json").read_bytes())
    assert tree.shape == "tree"
    tianhe = next(r for r in tree.records if r.name == "天河区")
    assert (tianhe.code, tianhe.level, tianhe.declared_parents) == ("440106000000", 2, ["440100000000"])


@pytest.mark.parametrize(
    ("code", "level", "expected"),
    [
        ("440106000000", None, ("440106", 2)),
        ("440106000000", 2, ("440106", 2)),
        ("440000000000", None, ("44", 0)),
        ("440100", None, ("4401", 1)),
        ("440106001", None, ("440106001", 3)),
        ("150422100200", None, ("150422100200", 4)),
        ("441900003000", None, ("441900003", 3)),  # 东莞: township straight under a city
        ("441900000000", 2, ("441900", 2)),  # the county-level stand-in, as the file's level says
        ("440106000000", 4, "region_skip_level_mismatch"),
        ("440106001000", 2, "region_skip_level_mismatch"),
        ("4401060", None, "region_skip_bad_code"),
        ("00", None, "region_skip_bad_code"),
        ("10", None, "region_skip_bad_code"),
        ("100000", None, "region_skip_bad_code"),
        ("86", None, "region_skip_bad_code"),
        ("440006000000", None, "region_skip_bad_code"),
        ("44010600100A", None, "region_skip_bad_code"),
        ("", None, "region_skip_bad_code"),
        ("15²", None, "region_skip_bad_code"),
        ("١٥", None, "region_skip_bad_code"),
    ],
)
def test_codes_are_normalised_to_the_official_scheme(
    code: str, level: int | None, expected: tuple[str, int] | str
) -> None:
    assert normalise(code, level) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (Raw("810000", "香港特别行政区", "x"), "region_skip_hmt"),
        (Raw("820100000000", "澳门", "x"), "region_skip_hmt"),
        (Raw("71", "台湾省", "x"), "region_skip_hmt"),
        (Raw("0", "国外", "x"), "region_skip_abroad"),
        (Raw("910000", "海外", "x"), "region_skip_abroad"),
        (Raw("0", "", "x", alias="9001", label="香港"), "region_skip_hmt"),
        (Raw("90", "", "x", label="港澳台"), "region_skip_hmt"),
        (Raw("440106", "天河区", "x"), None),
    ],
)
def test_what_is_not_the_mainland_register(raw: Raw, reason: str | None) -> None:
    assert not_mainland(raw) == reason


def test_encodings() -> None:
    assert decode("\ufeffcode,name\n".encode()) == ("code,name\n", [])
    assert decode("code,name\n15,内蒙古\n".encode("gb18030")) == (
        "code,name\n15,内蒙古\n",
        ["region_note_gb18030"],
    )
    assert decode("code,name\n".encode("utf-16")) == ("code,name\n", ["region_note_utf16"])
    with pytest.raises(ValidationFailed) as bad:
        decode(b"\x80\x80\xff\xfe\x81")
    assert bad.value.code == "region_file_encoding"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "region_file_empty"),
        (b"\xef\xbb\xbf \n\n", "region_file_empty"),
        (b"name,province\nx,y\n", "region_file_format"),
        (b"not a region file at all", "region_file_format"),
        (b'{"a": 1}', "region_file_format"),
        (b"[1, 2, 3]", "region_file_format"),
        (b"[]", "region_file_format"),
        (b'[{"code": "15"}]', "region_file_format"),
        (b"{not json", "region_file_json"),
        (b'[{"code": ' + b"1" * 5000 + b', "name": "x"}]', "region_file_format"),
        (b"[" * 100_000 + b"]" * 100_000, "region_file_format"),
        (b"code,name\n15," + b"x" * (MAX_FIELD + 1) + b"\n", "region_file_line"),
        (b'code,name\n15,"' + b"x" * (MAX_FIELD * 5), "region_file_line"),
    ],
)
def test_files_of_no_known_shape_are_refused_with_what_was_expected(body: bytes, code: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        sniff(body)
    assert refused.value.code == code
    message = refused.value.message("en")
    if code in ("region_file_empty", "region_file_format"):
        assert "CSV id,pid,deep,name" in message and "JSON tree" in message


def test_a_huge_line_names_its_line() -> None:
    body = ("code,name\n15,内蒙古\n1504," + "赤" * (MAX_FIELD + 10) + "\n").encode()
    with pytest.raises(ValidationFailed) as refused:
        sniff(body)
    assert refused.value.params["line"] == 3


def test_tree_nodes_keep_their_nesting_as_declared_parent() -> None:
    tree = [
        {"code": 15, "name": "内蒙古自治区", "children": [{"code": 1504, "name": "赤峰市", "children": []}]}
    ]
    records = sniff(json.dumps(tree).encode()).records
    assert [(r.code, r.declared_parents) for r in records] == [("15", []), ("1504", ["15"])]


def test_odd_digits_in_a_flat_csv_are_no_level() -> None:
    body = "id,pid,deep,name,pinyin_prefix,pinyin,ext_id,ext_name\n15,0,²,x,a,b,15²,x\n".encode()
    (record,) = sniff(body).records
    assert record.level is None and normalise(record.code, None) == "region_skip_bad_code"


def _levels(body: object) -> list[tuple[str, int | None]]:
    return [(r.code, r.level) for r in sniff(json.dumps(body, ensure_ascii=False).encode()).records]


def test_levels_numbered_from_zero_or_one_or_named() -> None:
    one_based = [{"code": "15", "name": "a", "level": 1}, {"code": "1504", "name": "b", "level": 2}]
    zero_based = [{"code": "15", "name": "a", "level": 0}, {"code": "1504", "name": "b", "level": 1}]
    named = [{"code": "15", "name": "a", "level": "province"}, {"code": "1504", "name": "b", "level": "city"}]
    for body in (one_based, zero_based, named):
        assert _levels(body) == [("15", 0), ("1504", 1)]
    csv_named = sniff(b"code,name,level\n15,a,province\n150422100,b,street\n").records
    assert [r.level for r in csv_named] == [0, 3]


def test_a_country_root_does_not_shift_the_levels_or_cut_off_villages() -> None:
    village = {"code": "150422100200", "name": "镇内", "level": 5, "children": []}
    town = {"code": "150422100", "name": "林东镇", "level": 4, "children": [village]}
    county = {"code": "150422", "name": "巴林左旗", "level": 3, "children": [town]}
    city = {"code": "1504", "name": "赤峰市", "level": 2, "children": [county]}
    province = {"code": "15", "name": "内蒙古自治区", "level": 1, "children": [city]}
    root = {"code": "100000", "name": "中国", "level": 0, "children": [province]}
    assert _levels([root])[1:] == [
        ("15", 0),
        ("1504", 1),
        ("150422", 2),
        ("150422100", 3),
        ("150422100200", 4),
    ]


def test_a_level_the_code_contradicts_is_not_taken_as_the_files_numbering() -> None:
    body = [
        {"code": "15", "name": "a", "level": 1},
        {"code": "1504", "name": "b", "level": 2},
        {"code": "150422", "name": "c", "level": 5},
    ]
    (_, _, county) = sniff(json.dumps(body).encode()).records
    assert normalise(county.code, county.level) == "region_skip_level_mismatch"
