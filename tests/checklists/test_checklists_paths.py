"""The paths inspectors really take through the shipped checklists (home_visit version 1 here; version 2
is pinned by the household case table in test_household_cases.py)."""

from __future__ import annotations

import json

import pytest
from checklists_testkit import walk

from checklists import (
    ChecklistError,
    CoreMarker,
    FindingCategory,
    Outcome,
    State,
    answer,
    back,
    core_status,
    findings,
    is_complete,
    list_checklists,
    load_checklist,
    next_step,
    outcome,
    replay,
    start,
    summary,
)

FINE = {
    "inspectors_count": 2,
    "household_status": "home",
    "entered": "yes",
    "who_present": ["beneficiary", "spouse"],
    "seen_beneficiary": "yes",
    "documents_seen": "yes",
    "documents_match": "yes",
    "members_registered": 3,
    "members_living": 3,
    "names_match": "yes",
    "able_to_work": "no",
    "health": ["chronic_illness"],
    "income_sources": ["allowances"],
    "income_vs_register": "consistent",
    "supporters": "no",
    "housing": "own_poor",
    "other_property": "no",
    "durables": ["none"],
    "business_activity": "no",
    "spending_unusual": "no",
    "living_vs_tier": "fits",
    "card_holder": "household",
    "payment_method": "bank",
    "amount_registered": 620,
    "amount_received": 620,
    "asked_to_return": "no",
    "cadre_relative": "no",
    "paid_favour": "no",
    "saw_public_notice": "yes",
    "knows_hotline": "yes",
    "satisfaction": "satisfied",
    "remarks": "",
    "interviewee_signed": "yes",
}


def home() -> object:
    return load_checklist("home_visit", 1)


def categories(cl: object, state: State) -> set[FindingCategory]:
    return {f.category for f in findings(cl, state)}  # type: ignore[arg-type]


def test_catalog_lists_the_five_checklists() -> None:
    ids = {c.id for c in list_checklists()}
    assert ids == {"home_visit", "notice_board", "village_panel", "township_files", "township_review"}
    assert all(c.title_zh and c.title_en for c in list_checklists())


def test_home_visit_all_fine() -> None:
    cl = load_checklist("home_visit", 1)
    state = walk(cl, FINE)
    assert is_complete(cl, state)
    assert outcome(cl, state) is Outcome.COMPLETED
    assert findings(cl, state) == []
    assert core_status(cl, state) == {
        CoreMarker.ENTERED: True,
        CoreMarker.SEEN_PERSON: True,
        CoreMarker.SEEN_DOCUMENTS: True,
    }
    asked = [a.step_id for a in state.answers]
    # Depth only where a problem shows: no follow-up questions on a clean visit.
    for follow_up in (
        "refusal_reason",
        "absence_reason",
        "member_differences",
        "card_holder_detail",
        "income_detail",
    ):
        assert follow_up not in asked
    assert replay(cl, [a.model_dump() for a in state.answers]) == state
    text = summary(cl, state, "zh-CN").text("zh-CN")
    assert "入户核查" in text and "未发现问题" in text
    assert "No findings" in summary(cl, state, "en").text("en")


def test_home_visit_not_home_is_a_revisit_not_a_failure() -> None:
    cl = load_checklist("home_visit", 1)
    state = walk(cl, {"household_status": "not_home"})
    assert outcome(cl, state) is Outcome.REVISIT
    assert findings(cl, state) == []
    assert [a.step_id for a in state.answers] == ["arrival_location", "inspectors_count", "household_status"]


def test_not_home_needs_a_photo_of_the_door() -> None:
    cl = load_checklist("home_visit", 1)
    state = start(cl)
    state = answer(cl, state, "arrival_location", "30.1, 110.2")
    state = answer(cl, state, "inspectors_count", "２")  # full-width digit from a Chinese keyboard
    with pytest.raises(ChecklistError) as err:
        answer(cl, state, "household_status", "not_home", "en")
    assert err.value.code == "evidence_required"
    assert "photo" in err.value.message("en") and "照片" in err.value.message("zh-CN")
    done = answer(cl, state, "household_status", "无人在家", evidence=["door.jpg"])
    assert outcome(cl, done) is Outcome.REVISIT


def test_home_visit_entry_refused_ends_with_outcome_and_finding() -> None:
    cl = load_checklist("home_visit", 1)
    state = walk(cl, {"household_status": "home", "entered": "no", "refusal_reason": "户主不让进门"})
    assert outcome(cl, state) is Outcome.REFUSED
    fs = findings(cl, state)
    assert [f.rule_id for f in fs] == ["entry_refused"]
    assert fs[0].category is FindingCategory.REFUSED_NOT_SEEN
    assert "户主不让进门" in fs[0].message.get("zh-CN")
    assert fs[0].step_ids == ["entered", "refusal_reason"]
    assert core_status(cl, state)[CoreMarker.ENTERED] is False


def test_home_visit_extra_member_points_at_merged_household() -> None:
    cl = load_checklist("home_visit", 1)
    script = dict(
        FINE, members_living=4, member_differences=["extra_person"], member_difference_detail="女婿张三常住"
    )
    state = walk(cl, script)
    fs = findings(cl, state)
    assert [f.rule_id for f in fs] == ["merged_or_split_household"]
    assert fs[0].category is FindingCategory.MERGED_SPLIT_HOUSEHOLD
    assert "登记 3 人，实际 4 人" in fs[0].message.get("zh-CN")
    assert {"members_registered", "members_living", "member_differences"} <= set(fs[0].step_ids)


def test_home_visit_cadre_holds_the_bank_card() -> None:
    cl = load_checklist("home_visit", 1)
    script = dict(FINE, card_holder="cadre", card_holder_detail="村会计李某代管", amount_received=300)
    state = walk(cl, script)
    ids = {f.rule_id for f in findings(cl, state)}
    assert ids == {"card_held_by_cadre", "amount_short"}
    assert categories(cl, state) == {FindingCategory.FUNDS_MISUSE}
    # The shortfall needs a photo of the passbook: without evidence the answer is refused.
    rows = [a.model_dump() for a in state.answers]
    rows = [dict(r, evidence=[]) if r["step_id"] == "amount_received" else r for r in rows]
    with pytest.raises(ChecklistError) as err:
        replay(cl, rows)
    assert err.value.code == "evidence_required" and err.value.step_id == "amount_received"


def test_person_not_seen_and_deceased() -> None:
    cl = load_checklist("home_visit", 1)
    state = walk(cl, dict(FINE, seen_beneficiary="no", absence_reason="deceased", death_date="2024年3月"))
    assert {f.rule_id for f in findings(cl, state)} == {"beneficiary_deceased"}
    assert categories(cl, state) == {FindingCategory.PAID_AFTER_DEATH}
    state = walk(cl, dict(FINE, seen_beneficiary="no", absence_reason="working_away"))
    assert {f.rule_id for f in findings(cl, state)} == {"person_not_seen", "working_away"}


def test_household_not_found_is_a_false_claim_finding() -> None:
    cl = load_checklist("home_visit", 1)
    state = walk(cl, {"household_status": "not_found"})
    assert outcome(cl, state) is Outcome.NOT_FOUND
    assert [f.category for f in findings(cl, state)] == [FindingCategory.FUNDS_MISUSE]


def test_back_drops_answers_that_no_longer_apply_and_resumes() -> None:
    cl = load_checklist("home_visit", 1)
    state = walk(cl, {"household_status": "home", "entered": "no", "refusal_reason": "不让进"})
    assert next_step(cl, state) is None
    state = back(cl, state)  # undo the refusal reason: the checklist is open again
    assert next_step(cl, state).id == "refusal_reason"  # type: ignore[union-attr]
    state = back(cl, state)
    assert next_step(cl, state).id == "entered"  # type: ignore[union-attr]
    state = answer(cl, state, "entered", "yes", evidence=["inside.jpg"])
    assert next_step(cl, state).id == "who_present"  # type: ignore[union-attr]
    with pytest.raises(ChecklistError) as err:
        back(cl, start(cl))
    assert err.value.code == "nothing_to_undo"


def test_state_is_json_and_pinned() -> None:
    cl = load_checklist("home_visit", 1)
    state = walk(cl, FINE)
    blob = json.dumps(state.model_dump(mode="json"), ensure_ascii=False)
    again = State.model_validate(json.loads(blob))
    assert again == state
    other = load_checklist("notice_board")
    with pytest.raises(ChecklistError) as err:
        next_step(other, state)
    assert err.value.code == "wrong_checklist"
    with pytest.raises(ChecklistError):
        load_checklist("home_visit", 99)


def test_out_of_order_and_finished_answers_are_refused() -> None:
    cl = load_checklist("home_visit", 1)
    state = start(cl)
    with pytest.raises(ChecklistError) as err:
        answer(cl, state, "entered", "yes", "en")
    assert err.value.code == "not_current_step"
    assert "arrival_location" in err.value.message("en")
    done = walk(cl, {"household_status": "not_home"})
    with pytest.raises(ChecklistError) as err:
        answer(cl, done, "entered", "yes")
    assert err.value.code == "finished"


def test_replay_refuses_tampered_answers() -> None:
    cl = load_checklist("home_visit", 1)
    state = walk(cl, dict(FINE, card_holder="cadre", card_holder_detail="村会计代管"))
    rows = [a.model_dump() for a in state.answers]
    # A client that drops the awkward answer: the next one is out of order.
    dropped = [r for r in rows if r["step_id"] != "card_holder_detail"]
    with pytest.raises(ChecklistError):
        replay(cl, dropped)
    # A client that rewrites a value to something invalid.
    bad = [dict(r, value="maybe") if r["step_id"] == "card_holder" else r for r in rows]
    with pytest.raises(ChecklistError):
        replay(cl, bad)
    # A client that strips the evidence of entry.
    stripped = [dict(r, evidence=[]) if r["step_id"] == "entered" else r for r in rows]
    with pytest.raises(ChecklistError) as err:
        replay(cl, stripped)
    assert err.value.code == "evidence_required"
    with pytest.raises(ChecklistError):
        replay(cl, [{"step": "x"}])


def test_notice_board_paths() -> None:
    cl = load_checklist("notice_board", 1)
    fine = walk(
        cl,
        {
            "board_exists": "yes",
            "lists_beneficiaries": "yes",
            "lists_leavers": "yes",
            "shows_hotline": "yes",
            "is_current": "current",
            "kept_one_year": "yes",
            "privacy_exposed": "no",
        },
    )
    assert findings(cl, fine) == []
    missing = walk(cl, {"board_exists": "no", "no_board_detail": "说还没贴"})
    assert [f.rule_id for f in findings(cl, missing)] == ["no_notice"]
    assert "board_photo" not in {a.step_id for a in missing.answers}


def test_village_panel_paths() -> None:
    cl = load_checklist("village_panel", 1)
    fine = walk(
        cl,
        {
            "panel_exists": "yes",
            "members_total": 21,
            "resident_reps": 15,
            "attendance": 18,
            "votes_recorded": "yes",
            "record_signed": "yes",
            "cadre_relatives_recused": "yes",
        },
    )
    assert findings(cl, fine) == []
    small = walk(
        cl,
        {
            "panel_exists": "yes",
            "members_total": 12,
            "resident_reps": 6,
            "attendance": 6,
            "votes_recorded": "yes",
            "record_signed": "no",
            "cadre_relatives_recused": "not_applicable",
        },
    )
    assert {f.rule_id for f in findings(cl, small)} == {
        "panel_too_small",
        "too_few_residents",
        "no_quorum",
        "record_not_signed",
    }
    s = start(cl)
    s = answer(cl, s, "panel_exists", "yes")
    s = answer(cl, s, "members_total", 10)
    with pytest.raises(ChecklistError) as err:
        answer(cl, s, "resident_reps", 11, "zh-CN")
    assert "不能多于" in err.value.message()


def test_township_files_paths() -> None:
    cl = load_checklist("township_files", 1)
    fine = walk(cl, {"file_ref": "A-001", "cadre_relative_case": "no"})
    assert findings(cl, fine) == []
    bad = walk(
        cl,
        {
            "file_ref": "A-002",
            "doc_deliberation": "no",
            "payment_socialized": "no",
            "cadre_relative_case": "unregistered",
        },
    )
    cats = {f.category for f in findings(cl, bad)}
    assert cats == {FindingCategory.PROCEDURE, FindingCategory.FUNDS_MISUSE, FindingCategory.FAVOUR}
    assert any("A-002" in f.message.get("en") for f in findings(cl, bad))
