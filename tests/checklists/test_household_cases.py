"""The household case table on the engine: exact leads, findings, flags and conclusion per case."""

from __future__ import annotations

import pytest
from household_cases import CASES, CLEAN, REGISTER, Case, play

from checklists import RuleKind, conclusion, findings, load_checklist, outcome, summary

HOME = load_checklist("home_visit")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_yields_exactly_its_leads_findings_flags_and_conclusion(case: Case) -> None:
    state, _ = play(HOME, case.script)
    assert outcome(HOME, state) == case.outcome
    # every answer given was asked: nothing in the script is left over
    given = {a.step_id for a in state.answers} | {"changes"}
    assert set(case.script) <= given, set(case.script) - given
    found = findings(HOME, state, case.register)
    by_kind = {k: [f.rule_id for f in found if f.kind is k] for k in RuleKind}
    assert by_kind[RuleKind.FINDING] == case.findings
    assert by_kind[RuleKind.LEAD] == case.leads
    assert by_kind[RuleKind.FLAG] == case.flags
    got = conclusion(HOME, state, case.register)
    assert got is not None
    assert got.model_dump(mode="json", exclude_none=True) == dict(case.conclusion)


def test_a_clean_visit_stays_within_35_prompts() -> None:
    _, prompts = play(HOME, CLEAN)
    assert prompts <= 35, prompts


def test_money_short_states_months_and_total() -> None:
    case = next(c for c in CASES if c.name.startswith("money short"))
    state, _ = play(HOME, case.script)
    lead = next(f for f in findings(HOME, state, case.register) if f.rule_id == "money_short")
    assert "应发 3720 元，到账 2790 元，少 930 元（3 个月不足）" in lead.message.get("zh-CN")
    assert "930 yuan short (3 months short)" in lead.message.get("en")


def test_the_tolerance_comes_from_the_context_not_the_checklist() -> None:
    case = next(c for c in CASES if c.name.startswith("single-person"))
    state, _ = play(HOME, case.script)
    assert not findings(HOME, state, case.register)
    strict = {**case.register, "money_tolerance": 0.0}
    assert [f.rule_id for f in findings(HOME, state, strict)] == ["money_short"]


def test_without_a_register_no_comparison_fires() -> None:
    state, _ = play(HOME, {**CLEAN, "people_covered": 5, "id_last4": "9999"})
    assert findings(HOME, state) == []
    fired = {f.rule_id for f in findings(HOME, state, REGISTER)}
    assert fired == {"covered_differs", "id_mismatch"}


def test_summary_shows_the_register_comparisons() -> None:
    case = next(c for c in CASES if c.name == "granted through favour")
    state, _ = play(HOME, case.script)
    text = summary(HOME, state, "zh-CN", context=case.register).text("zh-CN")
    assert "超过本县规定 50000 元" in text


def test_version_1_still_loads_for_pinned_visits() -> None:
    old = load_checklist("home_visit", 1)
    assert old.step("members_registered") is not None
    assert HOME.version == 2 and HOME.step("members_registered") is None
