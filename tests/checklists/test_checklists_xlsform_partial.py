"""XLSForm import of real-world forms: partial by default, ODK's own rules, external choice lists."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from checklists_testkit import walk
from openpyxl import Workbook
from test_checklists_xlsform import CHOICES, SURVEY, SURVEY_HEAD, make_form
from typer.testing import CliRunner

from checklists import StepKind, answer, is_complete, lint_checklist, lint_paths, next_step, start
from checklists.xlsform import XLSFormRefused, import_xlsform, strip_html
from cli.checklists import app

DATA = Path(__file__).resolve().parents[1] / "data" / "xlsforms"
FORMS = sorted(p for p in DATA.iterdir() if p.suffix in (".xlsx", ".xls", ".csv"))


def test_the_public_forms_are_there() -> None:
    assert len(FORMS) >= 12
    assert (DATA / "LICENSE-NOTES.md").is_file()


@pytest.mark.parametrize("path", FORMS, ids=lambda p: p.name)
def test_every_public_form_imports_partially_and_passes_check(path: Path, tmp_path: Path) -> None:
    from checklists import dump_checklist_yaml

    try:
        result = import_xlsform(path)
    except XLSFormRefused as err:
        # Only a form with nothing Feijian can ask is refused as a whole.
        assert err.problems[-1].construct == "no questions", [str(p) for p in err.problems]
        return
    cl = result.checklist
    for p in result.dropped:
        assert p.effect and p.construct and p.message
        if p.sheet == "survey" and p.row is not None:
            assert p.row >= 2
    assert lint_checklist(cl) == []
    out = tmp_path / "imported.yaml"
    out.write_text(dump_checklist_yaml(cl), encoding="utf-8")
    loaded, problems = lint_paths([out])
    assert problems == [] and len(loaded) == 1
    state = walk(cl)
    assert is_complete(cl, state) and next_step(cl, state) is None


def test_real_forms_keep_what_they_can() -> None:
    hot = import_xlsform(DATA / "hotosm_waste_collection.xlsx")
    assert len(hot.checklist.steps) >= 40
    assert [(p.row, p.construct) for p in hot.dropped if p.effect == "row left out"] == [(72, "audio")]
    # The typographic quotes of a real relevant are read as plain ones, with a note.
    ucl = import_xlsform(DATA / "pyxform_UCL_Biomass_Plot_Form.xlsx")
    assert any(n.construct == "typographic quotes" for n in ucl.notes)
    # Its select_one_from_file rows name the list file that is missing.
    missing = [p for p in ucl.dropped if p.construct == "select_one_from_file"]
    assert missing and all("--media" in p.message for p in missing)


SURVEY_HOSTILE: list[list[Any]] = [
    ["select_one yn", "home", "家中有人吗？", "Anyone home?", None, "yes"],
    ["audio", "voice", "录音", "Voice"],
    ["text", "about_voice", "录音说明", "About the voice", None, None, "${voice} != ''"],
    ["integer", "n", "人数", "How many", None, "yes", None, "today() > .", "x", "x"],
    ["date", "born", "出生日期", "Born"],
    ["text", "later", "以后", "Later", None, "${home} = 'yes'"],
    ["begin group", "g", "组", "Group", None, None, "pulldata('a', 'b') = 1"],
    ["text", "in_g", "组内", "Inside"],
    ["end group"],
    ["text", "last", "<span style='color:red'>最后</span>", "<b>Last</b> &amp; final"],
]


def test_partial_import_leaves_out_rows_with_their_row_numbers(tmp_path: Path) -> None:
    path = make_form(tmp_path / "hostile.xlsx", SURVEY_HOSTILE)
    result = import_xlsform(path)
    cl = result.checklist
    assert [s.id for s in cl.steps] == ["home", "n", "later", "last"]
    got = {(p.row, p.construct, p.effect) for p in result.dropped}
    assert (3, "audio", "row left out") in got
    assert (4, "relevant reference", "row left out") in got  # depends on the audio question
    assert (5, "constraint expression", "constraint dropped") in got  # today() is unsupported
    assert (6, "date", "row left out") in got
    assert (7, "required expression", "asked as optional") in got
    assert (8, "relevant expression", "group left out") in got
    n = cl.step("n")
    assert n is not None and n.validation.constraint is None and n.required
    later = cl.step("later")
    assert later is not None and not later.required
    # HTML never reaches the inspector.
    last = cl.step("last")
    assert last is not None and (last.label.zh_CN, last.label.en) == ("最后", "Last & final")
    assert any(n.construct == "HTML in labels" for n in result.notes)
    assert "steps (" in result.summary() and "left out" in result.summary()
    assert result.kinds() == {"choice": 1, "number": 1, "text": 2}
    assert is_complete(cl, walk(cl))


def test_strict_refuses_the_same_form_whole(tmp_path: Path) -> None:
    path = make_form(tmp_path / "hostile.xlsx", SURVEY_HOSTILE)
    with pytest.raises(XLSFormRefused) as err:
        import_xlsform(path, strict=True)
    rows = {p.row for p in err.value.problems}
    assert {3, 4, 5, 6, 7, 8} <= rows


def test_typographic_quotes_are_normalised_with_a_note(tmp_path: Path) -> None:
    survey = [*SURVEY[1:2], ["text", "t", "t", "t", None, None, "${home} = “yes”"]]
    result = import_xlsform(make_form(tmp_path / "q.xlsx", survey), strict=True)
    assert result.checklist.step("t").when == '${home} = "yes"'  # type: ignore[union-attr]
    note = next(n for n in result.notes if n.construct == "typographic quotes")
    assert note.row == 3 and note.column == "relevant"


def test_strip_html() -> None:
    assert strip_html('<span style="color:#f00">红色</span><br/>第二行') == "红色\n第二行"
    assert strip_html("a &lt; b") == "a < b"
    assert strip_html("3 < 4 and 5 > 2") == "3 < 4 and 5 > 2"


def test_choice_names_with_spaces_follow_odk(tmp_path: Path) -> None:
    choices = [*CHOICES, ["towns", "New York", "纽约", "New York"], ["towns", "Paris", "巴黎", "Paris"]]
    survey = [["select_one towns", "town", "城市", "Town", None, "yes"],
              ["select_multiple towns", "towns", "城市们", "Towns"]]  # fmt: skip
    result = import_xlsform(make_form(tmp_path / "sp.xlsx", survey, choices=choices))
    cl = result.checklist
    assert [s.id for s in cl.steps] == ["town"]  # ODK refuses spaces only in a select_multiple
    assert [(p.row, p.construct) for p in result.dropped] == [(3, "choice name")]
    state = answer(cl, start(cl), "town", "New York")
    assert state.answers[-1].value == "New York"
    with pytest.raises(XLSFormRefused):
        import_xlsform(make_form(tmp_path / "sp.xlsx", survey, choices=choices), strict=True)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("plain.xlsx", b"list_name,name\nyn,yes\n"),  # a CSV renamed .xlsx
        ("broken.xlsx", b"PK\x03\x04" + b"\x00" * 40),  # a corrupt zip
        ("form.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"),  # the wrong file type
        ("binary.xls", bytes(range(256)) * 4),
        ("empty.csv", b""),
    ],
)
def test_hostile_files_are_refused_never_a_traceback(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(XLSFormRefused) as err:
        import_xlsform(path)
    assert err.value.problems
    result = CliRunner().invoke(app, ["import", str(path)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output


def test_empty_sheets_and_truncated_workbook(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "survey"
    wb.create_sheet("choices")
    wb.save(tmp_path / "empty.xlsx")
    with pytest.raises(XLSFormRefused) as err:
        import_xlsform(tmp_path / "empty.xlsx")
    assert err.value.problems[-1].construct in ("no survey", "unreadable workbook")
    header_only = make_form(tmp_path / "head.xlsx", [])
    with pytest.raises(XLSFormRefused):
        import_xlsform(header_only)
    good = make_form(tmp_path / "good.xlsx")
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(XLSFormRefused):
        import_xlsform(cut)
    # A valid zip that is no workbook.
    with zipfile.ZipFile(tmp_path / "other.xlsx", "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(XLSFormRefused):
        import_xlsform(tmp_path / "other.xlsx")


# ---- external choice lists ------------------------------------------------------------------

FROM_FILE: list[list[Any]] = [
    ["select_one_from_file villages.csv", "village", "村", "Village", None, "yes"],
    ["select_multiple_from_file crops.xml", "crops", "作物", "Crops"],
    ["select_one_from_file towns.csv", "town", "镇", "Town", None, None, None, None, None, None, None],
]


def _media(tmp_path: Path, *, towns: bool = False) -> Path:
    media = tmp_path / "media"
    media.mkdir(exist_ok=True)
    (media / "villages.csv").write_bytes(
        "name,label::Chinese (zh),label::English (en)\nv1,东村,East village\nv 2,西村,West village\n".encode(
            "utf-8-sig"
        )
    )
    (media / "crops.xml").write_text(
        "<root><item><name>rice</name><label>水稻</label></item>"
        "<item><name>corn</name><label>玉米</label></item></root>",
        encoding="utf-8",
    )
    if towns:
        (media / "towns.csv").write_text("code,town\nt1,Town one\n", encoding="utf-8")
    return media


def test_select_from_file_reads_csv_and_xml_from_media(tmp_path: Path) -> None:
    form = make_form(tmp_path / "ff.xlsx", FROM_FILE)
    result = import_xlsform(form, media_dir=_media(tmp_path))
    cl = result.checklist
    village, crops = cl.step("village"), cl.step("crops")
    assert village is not None and village.kind is StepKind.CHOICE
    assert [(c.id, c.label.zh_CN, c.label.en) for c in village.choices] == [
        ("v1", "东村", "East village"),
        ("v 2", "西村", "West village"),
    ]
    assert crops is not None and crops.kind is StepKind.MULTI_CHOICE
    assert [c.id for c in crops.choices] == ["rice", "corn"]
    # The missing list is named in the message.
    miss = [p for p in result.dropped if p.row == 4]
    assert miss and "towns.csv" in miss[0].message and "not found" in miss[0].message


def test_select_from_file_parameters_and_missing_media(tmp_path: Path) -> None:
    head = [*SURVEY_HEAD, "parameters"]
    survey = [["select_one_from_file towns.csv", "town", "镇", "Town", *[None] * 7, "value=code label=town"]]
    cl = import_xlsform(make_form(tmp_path / "p.xlsx", survey, head), media_dir=_media(tmp_path, towns=True))
    town = cl.checklist.step("town")
    assert town is not None and [(c.id, c.label.en) for c in town.choices] == [("t1", "Town one")]
    with pytest.raises(XLSFormRefused) as err:
        import_xlsform(make_form(tmp_path / "p.xlsx", survey, head))
    assert "towns.csv" in str(err.value) and "--media" in str(err.value)


def test_cli_partial_strict_and_media(tmp_path: Path) -> None:
    runner = CliRunner()
    form = make_form(tmp_path / "ff.xlsx", FROM_FILE)
    out = tmp_path / "out.yaml"
    res = runner.invoke(app, ["import", str(form), "--media", str(_media(tmp_path)), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "towns.csv" in res.output and "left out" in res.output and "choice 1" in res.output
    check = runner.invoke(app, ["check", str(out)])
    assert check.exit_code == 0, check.output
    strict = runner.invoke(app, ["import", str(form), "--media", str(tmp_path / "media"), "--strict"])
    assert strict.exit_code == 1 and "towns.csv" in strict.output


def test_older_pyxform_spellings_are_read(tmp_path: Path) -> None:
    survey = [["gps", "where", "位置", "Where"], ["add integer prompt", "k", "几个", "How many"],
              ["add text prompt", "who", "谁", "Who"], ["phone number", "tel", "电话", "Phone"]]  # fmt: skip
    cl = import_xlsform(make_form(tmp_path / "old.xlsx", survey), strict=True).checklist
    assert [(s.id, str(s.kind)) for s in cl.steps] == [
        ("where", "location"),
        ("k", "number"),
        ("who", "text"),
        ("tel", "text"),
    ]
    assert cl.steps[1].validation.integer


def test_cli_unwritable_output_is_a_message(tmp_path: Path) -> None:
    form = make_form(tmp_path / "f.xlsx")
    res = CliRunner().invoke(app, ["import", str(form), "-o", str(tmp_path / "missing" / "x.yaml")])
    assert res.exit_code == 1 and "cannot write" in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_a_csv_form_saved_as_xlsx_is_read_by_its_content(tmp_path: Path) -> None:
    renamed = tmp_path / "renamed.xlsx"
    renamed.write_bytes((DATA / "pyxform_utf_csv.csv").read_bytes())
    result = import_xlsform(renamed)
    assert [s.id for s in result.checklist.steps] == ["burger_toppings"]
    assert any(n.construct == "file type" for n in result.notes)


def test_select_from_geojson_and_file_names_of_another_case(tmp_path: Path) -> None:
    import json

    media = tmp_path / "media"
    media.mkdir()
    features = [
        {"type": "Feature", "id": "w1", "geometry": None, "properties": {"title": "Well one"}},
        {"type": "Feature", "geometry": None, "properties": {"id": "w2", "title": "Well two"}},
    ]
    (media / "wells.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    (media / "CROPS.CSV").write_text("name,label\nrice,Rice\n", encoding="utf-8")
    survey = [["select_one_from_file wells.geojson", "well", "井", "Well"],
              ["select_one_from_file crops.csv", "crop", "作物", "Crop"]]  # fmt: skip
    cl = import_xlsform(make_form(tmp_path / "g.xlsx", survey), media_dir=media, strict=True).checklist
    assert [(c.id, c.label.en) for c in cl.steps[0].choices] == [("w1", "Well one"), ("w2", "Well two")]
    assert [c.id for c in cl.steps[1].choices] == ["rice"]
    (media / "wells.geojson").write_text("{not json")
    with pytest.raises(XLSFormRefused) as err:
        import_xlsform(make_form(tmp_path / "g.xlsx", survey), media_dir=media, strict=True)
    assert "wells.geojson unreadable" in str(err.value)


def test_commas_in_multiple_choice_names_are_accepted_as_pyxform_does(tmp_path: Path) -> None:
    choices = [["list_name", "name", "label"], ["c", "a,b", "A or B"], ["c", "d", "D"]]
    survey = [["select_multiple c", "m", "多选", "Pick"]]
    cl = import_xlsform(make_form(tmp_path / "c.xlsx", survey, choices=choices), strict=True).checklist
    state = answer(cl, start(cl), "m", "a,b")
    assert state.answers[-1].value == ["a,b"]
    assert answer(cl, start(cl), "m", ["a,b", "d"]).answers[-1].value == ["a,b", "d"]
