"""Township-level and panel checks with the county's thresholds from the context, not the YAML."""

from __future__ import annotations

from checklists_testkit import walk

from checklists import RuleKind, findings, load_checklist

COUNTY = {"panel_min_members": 20, "panel_quorum_num": 2, "panel_quorum_den": 3}


def _ids(cl: object, state: object, ctx: dict[str, object]) -> list[str]:
    return [f.rule_id for f in findings(cl, state, ctx)]  # type: ignore[arg-type]


def test_panel_size_and_quorum_follow_the_county() -> None:
    cl = load_checklist("village_panel")
    state = walk(
        cl,
        {
            "panel_exists": "yes",
            "members_total": 15,
            "resident_reps": 10,
            "attendance": 10,
            "votes_recorded": "yes",
            "record_signed": "yes",
            "cadre_relatives_recused": "yes",
        },
    )
    assert _ids(cl, state, COUNTY) == ["panel_too_small"]
    # a county that accepts 15 members and a simple majority
    assert _ids(cl, state, {"panel_min_members": 15, "panel_quorum_num": 1, "panel_quorum_den": 2}) == []
    # 10 of 15 is exactly two thirds: not short
    strict = {**COUNTY, "panel_min_members": 15}
    assert _ids(cl, state, strict) == []


def test_township_review_is_asked_once_and_files_each_check_the_arithmetic() -> None:
    review = load_checklist("township_review")
    state = walk(
        review,
        {
            "township_name": "林东镇",
            "files_sampled": 10,
            "reviews_overdue": 2,
            "reports_stale": 0,
            "subsidy_miscomputed": 0,
            "relatives_register": "yes",
            "death_data_compared": "no",
            "payment_socialized": "yes",
        },
    )
    found = findings(review, state, {"review_cadence_months": 12})
    assert [(f.rule_id, f.kind) for f in found] == [
        ("reviews_overdue", RuleKind.FINDING),
        ("no_death_comparison", RuleKind.FINDING),
    ]
    assert "2 份超过 12 个月未复核" in found[0].message.get("zh-CN")
    assert found[1].category == "procedure"  # a missing comparison is a procedure gap, not 死亡未停保
    files = load_checklist("township_files")
    assert files.step("relatives_register") is None and files.step("death_data_compared") is None
    script = {"file_ref": "A-001", "cadre_relative_case": "no", "file_income_pp": 300, "file_covered": 2}
    right = walk(files, {**script, "file_amount": 920})
    wrong = walk(files, {**script, "file_amount": 1200})
    ctx = {"local_standard": 760.0, "money_tolerance": 30.0}
    assert _ids(files, right, ctx) == []
    fired = findings(files, wrong, ctx)
    assert [(f.rule_id, f.kind) for f in fired] == [("subsidy_miscomputed", RuleKind.LEAD)]
    assert "应为 920 元" in fired[0].message.get("zh-CN")


def test_notice_board_records_the_sign_off_date() -> None:
    cl = load_checklist("notice_board")
    base = {"board_exists": "yes", "lists_beneficiaries": "yes", "lists_leavers": "yes"}
    base |= {"shows_hotline": "yes", "is_current": "current", "kept_one_year": "yes"}
    base |= {"privacy_exposed": "no"}
    dated = walk(cl, {**base, "notice_date": "2026-06-30"})
    assert findings(cl, dated) == []
    undated = walk(cl, {**base, "notice_date": "无"})
    assert [(f.rule_id, f.kind) for f in findings(cl, undated)] == [("notice_undated", RuleKind.FINDING)]
    step = cl.step("notice_date")
    assert step is not None
    from checklists import ChecklistError, parse_value

    try:
        parse_value(step, "六月底")
    except ChecklistError as err:
        assert "年-月-日" in err.message("zh-CN")
    else:
        raise AssertionError("a date in words is refused")
