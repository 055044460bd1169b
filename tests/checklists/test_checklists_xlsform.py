"""XLSForm import: a bilingual form imports and runs; refusals name row and construct; shared forms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from checklists_testkit import walk
from openpyxl import Workbook

from checklists import (
    ChecklistError,
    StepKind,
    answer,
    dump_checklist_yaml,
    is_complete,
    lint_checklist,
    next_step,
    parse_checklist,
    start,
)
from checklists.xlsform import XLSFormRefused, import_xlsform

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "testdata"
XLSFORMS = sorted((SHARED / "xlsform").glob("*.xls*")) if (SHARED / "xlsform").is_dir() else []

SURVEY_HEAD = ["type", "name", "label::Chinese (zh)", "label::English (en)", "hint::English (en)",
               "required", "relevant", "constraint", "constraint_message::Chinese (zh)",
               "constraint_message::English (en)", "appearance"]  # fmt: skip
SURVEY: list[list[Any]] = [
    ["start", "start"],
    ["select_one yn", "home", "家中有人吗？", "Anyone home?", None, "yes"],
    ["begin group", "inside", "入户", "Inside", None, None, "${home} = 'yes'"],
    [
        "integer",
        "members",
        "家庭人数",
        "Members",
        "count them",
        "TRUE()",
        None,
        ". >= 1 and . <= 20",
        "人数应在1到20之间",
        "Between 1 and 20",
    ],
    ["decimal", "income", "月收入", "Monthly income", None, "yes", None, ". >= 0"],
    [
        "select_multiple assets",
        "assets",
        "财产",
        "Assets",
        None,
        "yes",
        None,
        "not(selected(., 'none') and count-selected(.) > 1)",
    ],
    ["text", "car_owner", "车主", "Car owner", None, "yes", "selected(${assets}, 'car')"],
    ["note", "thanks", "谢谢", "Thanks"],
    ["image", "house", "房屋照片", "House photo", None, "yes", None, None, None, None, "signature"],
    ["geopoint", "where", "位置", "Location", None, "no"],
    ["end group"],
    ["text", "remarks", "备注", "Remarks"],
]
CHOICES = [
    ["list_name", "name", "label::Chinese (zh)", "label::English (en)"],
    ["yn", "yes", "是", "Yes"],
    ["yn", "no", "否", "No"],
    ["assets", "car", "汽车", "Car"],
    ["assets", "house", "房产", "House"],
    ["assets", "none", "无", "None"],
]


def make_form(
    path: Path,
    survey: list[list[Any]] = SURVEY,
    head: list[str] = SURVEY_HEAD,
    choices: list[list[Any]] = CHOICES,
    sheet_names: tuple[str, str, str] = ("survey", "choices", "settings"),
    settings: list[list[Any]] | None = None,
) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet_names[0]
    ws.append(head)
    for row in survey:
        ws.append(row)
    wc = wb.create_sheet(sheet_names[1])
    for row in choices:
        wc.append(row)
    wset = wb.create_sheet(sheet_names[2])
    for row in settings or [
        ["form_title", "form_id", "version"],
        ["入户核查（导入）", "household_check", "3"],
    ]:
        wset.append(row)
    wb.save(path)
    return path


def test_bilingual_form_imports_and_runs(tmp_path: Path) -> None:
    result = import_xlsform(make_form(tmp_path / "form.xlsx"))
    cl = result.checklist
    assert (cl.id, cl.version) == ("household_check", 3)
    assert [s.id for s in cl.steps] == ["home", "members", "income", "assets", "car_owner", "thanks", "house",
                                        "where", "remarks"]  # fmt: skip
    members = cl.step("members")
    assert members is not None and members.kind is StepKind.NUMBER and members.validation.integer
    assert members.label.zh_CN == "家庭人数" and members.label.en == "Members"
    assert members.required and members.section == "inside" and members.when == "${home} = 'yes'"
    car = cl.step("car_owner")
    assert car is not None and car.when == "(${home} = 'yes') and (selected(${assets}, 'car'))"
    assert cl.step("where").kind is StepKind.LOCATION  # type: ignore[union-attr]
    assert not cl.step("remarks").required  # type: ignore[union-attr]
    assert lint_checklist(cl) == []
    assert any(n.construct == "metadata start" for n in result.notes)
    assert any("appearance" in n.construct for n in result.notes)
    # Runs to completion, and the constraint message comes from the form in both languages.
    state = start(cl)
    state = answer(cl, state, "home", "yes")
    with pytest.raises(ChecklistError) as err:
        answer(cl, state, "members", 25, "en")
    assert err.value.message("en") == "Between 1 and 20"
    assert err.value.message("zh-CN") == "人数应在1到20之间"
    with pytest.raises(ChecklistError):
        answer(cl, answer(cl, answer(cl, state, "members", 2), "income", 0), "assets", ["none", "car"])
    done = walk(cl, {"home": "yes", "assets": ["car"]})
    assert is_complete(cl, done) and "car_owner" in {a.step_id for a in done.answers}
    skipped = walk(cl, {"home": "no"})
    assert [a.step_id for a in skipped.answers] == ["home", "remarks"]
    # The YAML written by `feijian checklists import` loads back to the same checklist.
    import yaml

    assert parse_checklist(yaml.safe_load(dump_checklist_yaml(cl))) == cl


def test_upper_case_sheets_and_columns(tmp_path: Path) -> None:
    head = ["TYPE", "NAME", "LABEL::EN", "LABEL::ZH", "REQUIRED"]
    survey = [["select_one yn", "ok", "OK?", "好吗？", "yes"], ["INTEGER", "n", "How many?", "几个？"]]
    choices = [
        ["LIST_NAME", "NAME", "LABEL::EN", "LABEL::ZH"],
        ["yn", "yes", "Yes", "是"],
        ["yn", "no", "No", "否"],
    ]
    path = make_form(tmp_path / "upper.xlsx", survey, head, choices, ("SURVEY", "CHOICES", "SETTINGS"),
                     [["FORM_ID"], ["Upper"]])  # fmt: skip
    cl = import_xlsform(path).checklist
    assert cl.id == "upper" and [s.id for s in cl.steps] == ["ok", "n"]
    assert cl.steps[0].label.zh_CN == "好吗？" and cl.steps[0].choices[0].label.en == "Yes"
    assert is_complete(cl, walk(cl))


def test_single_language_fills_both_with_a_note(tmp_path: Path) -> None:
    path = make_form(
        tmp_path / "en.xlsx", [["text", "who", "Who?"]], ["type", "name", "label"], [["list_name"]]
    )
    result = import_xlsform(path)
    assert result.checklist.steps[0].label.zh_CN == "Who?"
    assert any(n.construct == "missing zh-CN text" for n in result.notes)


@pytest.mark.parametrize(
    ("row", "construct", "column"),
    [
        (["calculate", "c", "c", "c", None, None, None, None, None, None, None], "calculate", "type"),
        (["date", "d", "日期", "Date"], "date", "type"),
        (["select_one yn or_other", "o", "o", "o"], "or_other", "type"),
        (["text", "t", "t", "t", None, None, "now() > 1"], "relevant expression", "relevant"),
        (["select_one_from_file a.csv", "f", "f", "f"], "select_one_from_file", None),
        (["text", "t", "t", "t", None, None, "${later} = 'x'"], "relevant reference", "relevant"),
        (["text", "t", "t", "t", None, None, "if(${home}, 1, 0)"], "relevant expression", "relevant"),
        (["text", "t", "t", "t", None, "${home} = 'yes'"], "required expression", None),
        (["text", "home", "dup", "dup"], "duplicate name", None),
        (["select_one nolist", "s", "s", "s"], "select_one", None),
    ],
)
def test_unsupported_constructs_are_refused_with_row(
    tmp_path: Path, row: list[Any], construct: str, column: str | None
) -> None:
    survey = [*SURVEY[:2], row, ["text", "later", "后", "Later"]]
    with pytest.raises(XLSFormRefused) as err:
        import_xlsform(make_form(tmp_path / "bad.xlsx", survey), strict=True)
    problems = err.value.problems
    hit = [p for p in problems if p.construct == construct]
    assert hit, [str(p) for p in problems]
    assert hit[0].sheet == "survey" and hit[0].row == 4
    if column:
        assert hit[0].column == column
    assert "row 4" in str(err.value)


def test_choice_filter_and_unused_columns_are_named(tmp_path: Path) -> None:
    head = [*SURVEY_HEAD, "choice_filter"]
    survey = [*SURVEY[:2], ["select_one yn", "x", "x", "x", None, None, None, None, None, None, None, "a=1"]]
    with pytest.raises(XLSFormRefused) as err:
        import_xlsform(make_form(tmp_path / "cf.xlsx", survey, head), strict=True)
    assert [(p.row, p.column) for p in err.value.problems] == [(4, "choice_filter")]


def test_unreadable_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "nope.xlsx"
    bad.write_bytes(b"not a workbook")
    with pytest.raises(XLSFormRefused) as err:
        import_xlsform(bad)
    assert err.value.problems[0].construct == "unreadable workbook"


@pytest.mark.skipif(not XLSFORMS, reason=f"shared test forms not found under {SHARED / 'xlsform'}")
@pytest.mark.parametrize("path", XLSFORMS, ids=lambda p: p.name)
def test_every_shared_form_imports_and_runs_or_is_refused_precisely(path: Path) -> None:
    try:
        result = import_xlsform(path, strict=True)
    except XLSFormRefused as err:
        assert err.problems
        for p in err.problems:
            assert p.sheet and p.construct and p.message
            if p.sheet in ("survey", "choices"):
                assert p.row is not None and p.row >= 2, str(p)
        return
    cl = result.checklist
    assert lint_checklist(cl) == []
    state = walk(cl)
    assert is_complete(cl, state) and next_step(cl, state) is None


def _refusal(name: str) -> list[str]:
    path = SHARED / "xlsform" / name
    if not path.exists():
        pytest.skip(f"{path} not present")
    with pytest.raises(XLSFormRefused) as err:
        import_xlsform(path, strict=True)
    return [str(p) for p in err.value.problems]


def test_known_shared_forms_name_their_constructs() -> None:
    if not XLSFORMS:
        pytest.skip("shared test forms not present")
    kobo = _refusal("kobodocs_media_question_types.xlsx")
    assert any("row 11" in p and "duplicate name" in p and "'CV'" in p for p in kobo)
    assert any("row 3" in p and "audio" in p for p in kobo)
    case = _refusal("pyxform_case_insensitivity.xlsx")
    assert any("row 3" in p and "select_one_external" in p for p in case)
    assert any("row 4" in p and "osm" in p for p in case)
    assert not any("row 2" in p for p in case)  # the plain select_one is fine
    hot = _refusal("hotosm_waste_collection.xlsx")
    assert any("row 72" in p and "audio" in p for p in hot)
