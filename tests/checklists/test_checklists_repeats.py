"""Repeats: steps asked once per member, with a count or "add another?", rules over the members."""

from __future__ import annotations

from pathlib import Path

import pytest
from checklists_testkit import members_checklist, walk
from test_checklists_xlsform import make_form

from checklists import (
    Answer,
    ChecklistError,
    answer,
    back,
    current_member,
    findings,
    is_complete,
    lint_checklist,
    next_step,
    parse_checklist,
    replay,
    start,
    summary,
)
from checklists.xlsform import import_xlsform


def test_add_another_asks_each_member_and_rules_read_all_members() -> None:
    cl = members_checklist()
    assert lint_checklist(cl) == []
    s = answer(cl, start(cl), "size", 2)
    ask = next_step(cl, s)
    assert ask is not None and ask.id == "members" and ask.kind == "yes_no"
    s = answer(cl, s, "members", "yes")
    ask = next_step(cl, s)
    assert (
        ask is not None and ask.id == "name" and "1" in ask.label.en and "household members" in ask.label.en
    )
    s = answer(cl, answer(cl, s, "name", "张三"), "age", 85)
    assert next_step(cl, s).id == "cared"  # type: ignore[union-attr]
    s = answer(cl, s, "cared", "no")
    add2 = next_step(cl, s)
    assert add2 is not None and add2.id == "members" and "2" in add2.label.en
    s = answer(cl, s, "members", "yes")
    assert current_member(cl, s) == 2
    s = answer(cl, answer(cl, s, "name", "李四"), "age", 30)
    assert next_step(cl, s).id == "members"  # type: ignore[union-attr]  # no "cared" for a 30-year-old
    s = answer(cl, s, "members", "no")
    s = answer(cl, s, "remarks", "")
    assert is_complete(cl, s)
    got = [(a.step_id, a.item) for a in s.answers if a.item]
    assert got == [("members", 1), ("name", 1), ("age", 1), ("cared", 1),
                   ("members", 2), ("name", 2), ("age", 2), ("members", 3)]  # fmt: skip
    assert [f.rule_id for f in findings(cl, s)] == ["uncared"]
    text = summary(cl, s, "en").text("en")
    assert "household members 2: Name: 李四" in text
    # The store's replay of the stored JSON gives the same state; an answer for the wrong member is refused.
    stored = [a.model_dump(mode="json") for a in s.answers]
    assert "item" not in stored[0] and stored[1]["item"] == 1
    assert replay(cl, stored) == s
    bad = [*stored[:6], {**stored[6], "item": 1}]
    with pytest.raises(ChecklistError):
        replay(cl, bad)
    # Back across a member boundary.
    undone = back(cl, back(cl, s))
    assert next_step(cl, undone).id == "members" and current_member(cl, undone) == 3  # type: ignore[union-attr]


def test_counted_repeat_asks_exactly_count_members() -> None:
    cl = members_checklist(count="${size}")
    assert lint_checklist(cl) == []
    s = walk(cl, {"size": 3, "age": 40})
    assert [a.item for a in s.answers if a.step_id == "name"] == [1, 2, 3]
    assert all(a.step_id != "members" for a in s.answers)
    assert findings(cl, s) == []
    none = walk(cl, {"size": 0})
    assert [a.step_id for a in none.answers] == ["size", "remarks"]
    assert [f.rule_id for f in findings(cl, none)] == []


def test_a_rule_over_members_fires_for_any_member() -> None:
    cl = members_checklist(count="${size}")
    s = answer(cl, start(cl), "size", 2)
    for name, age, cared in (("a", 90, "yes"), ("b", 85, "no")):
        s = answer(cl, answer(cl, s, "name", name), "age", age)
        s = answer(cl, s, "cared", cared)
    s = answer(cl, s, "remarks", "")
    assert [f.rule_id for f in findings(cl, s)] == ["uncared"]


def test_schema_keeps_repeats_consistent() -> None:
    good = members_checklist().model_dump(mode="json", by_alias=True)
    split = {**good, "steps": [good["steps"][1], good["steps"][0], *good["steps"][2:]]}
    with pytest.raises(ValueError, match="consecutive"):
        parse_checklist(split)
    with pytest.raises(ValueError, match="unknown repeat"):
        parse_checklist({**good, "repeats": []})


def test_xlsform_repeat_with_and_without_count(tmp_path: Path) -> None:
    head = ["type", "name", "label::Chinese (zh)", "label::English (en)", "relevant", "repeat_count"]
    survey = [
        ["integer", "n", "人数", "People"],
        ["begin repeat", "person", "成员", "Member", None, "${n}"],
        ["text", "pname", "姓名", "Name"],
        ["integer", "page", "年龄", "Age"],
        ["text", "school", "学校", "School", "${page} < 18"],
        ["end repeat"],
        ["begin repeat", "visitor", "访客", "Visitor"],
        ["text", "vname", "访客姓名", "Visitor name"],
        ["end repeat"],
        ["note", "done", "共有 ${n} 人", "Done", "count(${person}) > 0"],
    ]
    result = import_xlsform(make_form(tmp_path / "rep.xlsx", survey, head))
    cl = result.checklist
    assert result.dropped == []
    assert [(r.id, r.count) for r in cl.repeats] == [("person", "${n}"), ("visitor", None)]
    assert cl.step("school").repeat == "person" and cl.step("school").when == "${page} < 18"  # type: ignore[union-attr]
    assert lint_checklist(cl) == []
    s = walk(cl, {"n": 2, "page": 10, "visitor": "no"})
    assert [a.item for a in s.answers if a.step_id == "school"] == [1, 2]
    assert is_complete(cl, s) and s.answers[-1].step_id == "done"
    assert isinstance(s.answers[0], Answer)


def test_xlsform_nested_repeat_and_name_clash_are_reported(tmp_path: Path) -> None:
    head = ["type", "name", "label"]
    survey = [
        ["begin repeat", "p", "P"],
        ["text", "b", "B"],
        ["begin repeat", "inner", "Inner"],
        ["text", "c", "C"],
        ["end repeat"],
        ["end repeat"],
        ["text", "p", "again p"],
    ]
    result = import_xlsform(make_form(tmp_path / "n.xlsx", survey, head, [["list_name", "name", "label"]]))
    assert [s.id for s in result.checklist.steps] == ["b"]
    assert [(p.row, p.construct) for p in result.dropped] == [(4, "nested repeat"), (8, "duplicate name")]
    assert is_complete(result.checklist, walk(result.checklist))
