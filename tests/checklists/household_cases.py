"""Realistic households for the home visit: the answers a team records, and exactly what each must produce.

Shared by the engine test (tests/checklists/test_household_cases.py) and the store's replay test
(tests/services/test_visit_cases.py). A script answers every prompt the checklist asks: a step the
engine asks that the script does not answer fails the walk, so the table also pins the skip logic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from checklists import Checklist, State, answer, current_member, next_step, start

# The register and county values the store supplies (see services/register_context.py).
REGISTER: dict[str, Any] = {
    "reg_covered": 3,
    "reg_amount": 620.0,
    "reg_cadre_relative": "no",
    "reg_id_last4": "0427",
    "reg_review_months": 5,
    "review_cadence_months": 12,
    "money_tolerance": 30.0,
    "vehicle_value_limit": 50000.0,
    "local_standard": 760.0,
}

CLEAN: dict[str, Any] = {
    "arrival_location": {"lat": 43.98, "lon": 119.38},
    "inspectors_count": 2,
    "household_status": "home",
    "entered": "yes",
    "who_present": ["head", "family"],
    "seen_head": "yes",
    "documents_seen": "yes",
    "id_last4": "0427",
    "people_living": 3,
    "people_covered": 3,
    "changes": [],
    "working_members": 0,
    "health": ["chronic_illness"],
    "income_sources": ["none"],
    "housing": "own_poor",
    "other_property": "no",
    "vehicles": ["motorcycle"],
    "living_level": "hard",
    "money_record": "passbook",
    "months_checked": 6,
    "short_months": 0,
    "total_credited": 3720,
    "card_holder": "household",
    "asked_to_return": "no",
    "cadre_relative": "no",
    "paid_favour": "no",
    "saw_public_notice": "yes",
    "last_recheck": "within_6m",
    "changes_reported": "no_change",
    "aid_received": ["medical"],
    "nearby_uncovered": "no",
    "satisfaction": "satisfied",
    "interviewee_signed": "yes",
    "signed_form_photo": ["form-1"],
    "conclusion": "eligible",
}


def _with(**kw: Any) -> dict[str, Any]:
    return {**CLEAN, **kw}


def _without(script: Mapping[str, Any], *steps: str) -> dict[str, Any]:
    return {k: v for k, v in script.items() if k not in steps}


@dataclass(frozen=True)
class Case:
    """A household as visited and what the visit must yield (rule ids in checklist order)."""

    name: str
    script: Mapping[str, Any]
    outcome: str
    findings: list[str] = field(default_factory=list)  # proven: to the ledger, serious ones alert
    leads: list[str] = field(default_factory=list)  # 疑点待核: to review first
    flags: list[str] = field(default_factory=list)  # the visit's own validity
    conclusion: Mapping[str, Any] = field(default_factory=lambda: {"decision": "eligible"})
    register: Mapping[str, Any] = field(default_factory=lambda: REGISTER)


CASES: list[Case] = [
    Case(
        "clean household",
        CLEAN,
        "completed",
        conclusion={"decision": "eligible", "months_short": 0, "amount_short": 0},
    ),
    Case(
        # head in hospital, grandson at university, son working with an old van, passbook not at
        # hand, 不清楚 on whether the family is related to a cadre: an eligible household
        "eligible with normal absences",
        _without(
            _with(
                who_present=["family"],
                seen_head="no",
                absence_reason="hospital",
                documents_seen="no",
                documents_missing_reason="with_head",
                changes=[{"change_relation": "grandchild", "change_reason": "school"}],
                people_living=4,
                people_covered=3,
                working_members=1,
                working_now=1,
                work_income_month=1500,
                income_sources=["wages", "farming"],
                land_mu=12,
                livestock_units=8,
                vehicles=["truck"],
                vehicle_value=8000,
                vehicle_owner="covered_member",
                money_record="none",
                cadre_relative="unknown",
            ),
            "id_last4",
            "months_checked",
            "short_months",
            "total_credited",
        ),
        "completed",
        flags=["documents_not_checked", "money_not_verified"],
    ),
    Case(
        "real withholding",
        _with(
            short_months=6,
            total_credited=2520,
            gap_reason="withheld",
            card_holder="cadre",
            card_holder_detail="村会计李某代管，说是统一保管",
            conclusion="refer",
            overpaid_months=0,
            back_pay_amount=1200,
        ),
        "completed",
        findings=["money_withheld"],
        leads=["card_held_by_cadre"],
        conclusion={
            "decision": "refer",
            "overpaid_months": 0,
            "back_pay_amount": 1200,
            "months_short": 6,
            "amount_short": 1200,
        },
    ),
    Case(
        "paid after death",
        _with(
            who_present=["family"],
            seen_head="no",
            absence_reason="deceased",
            death_month="2026-03",
            people_living=2,
            conclusion="remove",
            overpaid_months=8,
            overpaid_amount=4960,
        ),
        "completed",
        findings=["paid_after_death"],
        conclusion={
            "decision": "remove",
            "overpaid_months": 8,
            "overpaid_amount": 4960,
            "months_short": 0,
            "amount_short": 0,
        },
    ),
    Case(
        "granted through favour",
        _with(
            housing="own_good",
            vehicles=["car"],
            vehicle_value=150000,
            vehicle_owner="covered_member",
            living_level="comfortable",
            cadre_relative="yes",
            conclusion="recheck",
        ),
        "completed",
        leads=["vehicle_above_limit", "living_well_off", "cadre_relative_unregistered"],
        conclusion={"decision": "recheck", "months_short": 0, "amount_short": 0},
    ),
    Case(
        "cadre relative, registered",
        _with(cadre_relative="yes"),
        "completed",
        register={**REGISTER, "reg_cadre_relative": "yes"},
        conclusion={"decision": "eligible", "months_short": 0, "amount_short": 0},
    ),
    Case(
        "a household missed nearby",
        _with(nearby_uncovered="yes", nearby_detail="东邻王某，独居老人，重度残疾，未申请"),
        "completed",
        leads=["nearby_missed"],
        conclusion={"decision": "eligible", "months_short": 0, "amount_short": 0},
    ),
    Case(
        "moved away",
        {
            "arrival_location": {"lat": 43.98, "lon": 119.38},
            "inspectors_count": 2,
            "household_status": "moved",
            "moved_to": "2026年5月随女儿搬到旗里，邻居和村主任证实",
        },
        "not_found",
        leads=["household_moved"],
        conclusion={"decision": "recheck"},
    ),
    Case(
        "nobody home",
        {
            "arrival_location": {"lat": 43.98, "lon": 119.38},
            "inspectors_count": 2,
            "household_status": "not_home",
            "neighbour_says": "lives_here",
        },
        "revisit",
        conclusion={"decision": "recheck"},
    ),
    Case(
        "a cadre present: sensitive questions skipped",
        _without(
            _with(who_present=["head", "village_cadre"]),
            "asked_to_return",
            "cadre_relative",
            "paid_favour",
            "satisfaction",
        ),
        "completed",
        flags=["cadre_present"],
        conclusion={"decision": "eligible", "months_short": 0, "amount_short": 0},
    ),
    Case(
        "one inspector, guardian keeps the card",
        _with(inspectors_count=1, card_holder="guardian", who_present=["head", "guardian"]),
        "completed",
        flags=["team_too_small"],
        conclusion={"decision": "eligible", "months_short": 0, "amount_short": 0},
    ),
    Case(
        "single-person household, a standard change within tolerance",
        _with(
            people_living=1,
            people_covered=1,
            short_months=2,
            total_credited=3680,
            gap_reason="standard_changed",
        ),
        "completed",
        register={**REGISTER, "reg_covered": 1},
        conclusion={"decision": "eligible", "months_short": 2, "amount_short": 40},
    ),
    Case(
        "money short for no clear reason, review overdue",
        _with(short_months=3, total_credited=2790, gap_reason="unknown", conclusion="recheck"),
        "completed",
        leads=["money_short", "review_overdue"],
        register={**REGISTER, "reg_review_months": 20},
        conclusion={"decision": "recheck", "months_short": 3, "amount_short": 930},
    ),
]


def play(cl: Checklist, script: Mapping[str, Any]) -> tuple[State, int]:
    """Answer exactly the prompts the engine asks from the script; returns the state and the prompt count.

    `changes` lists the members of the repeat; every other step must be in the script.
    """
    state = start(cl)
    prompts = 0
    members = list(script.get("changes", []))
    while (step := next_step(cl, state)) is not None:
        prompts += 1
        if cl.repeat(step.id) is not None:
            item = current_member(cl, state) or 1
            raw: Any = "yes" if item <= len(members) else "no"
        elif step.repeat is not None:
            item = current_member(cl, state) or 1
            raw = members[item - 1][step.id]
        else:
            assert step.id in script, f"the engine asks {step.id!r}, which the case does not answer"
            raw = script[step.id]
        state = answer(cl, state, step.id, raw, evidence=["ev-1"])
    return state, prompts
