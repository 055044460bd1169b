"""Helpers shared by the checklist tests: generate valid answers and walk a checklist to its end."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from checklists import (
    Checklist,
    ChecklistError,
    State,
    Step,
    StepKind,
    answer,
    current_member,
    next_step,
    parse_checklist,
    parse_value,
    start,
)


def candidates(step: Step) -> Iterator[Any]:
    """Plausible raw answers for a step, most ordinary first."""
    k = step.kind
    v = step.validation
    if k is StepKind.YES_NO:
        yield from ("yes", "no")
    elif k is StepKind.CHOICE:
        yield from (c.id for c in step.choices)
    elif k is StepKind.MULTI_CHOICE:
        yield from ([c.id] for c in step.choices)
    elif k is StepKind.NUMBER:
        for x in (2, v.min, v.max, 0, 1, 5, 20, 100, -1):
            if x is not None:
                yield int(x) if v.integer else x
    elif k is StepKind.TEXT:
        yield "x" * max(v.min_length or 0, 4)
        yield "0123456789"
        yield from ("1234", "2026-03", "2026-06-30")  # patterned: ID last four, a year-month, a date
    elif k is StepKind.PHOTO:
        yield ["photo-1"]
    elif k is StepKind.LOCATION:
        yield {"lat": 30.5, "lon": 110.25}
    else:
        yield None


def valid_value(step: Step, state: State) -> Any:
    """The first candidate the engine accepts for this step (raises if none does)."""
    values = state.values()
    for raw in candidates(step):
        try:
            parse_value(step, raw, values)
        except ChecklistError:
            continue
        return raw
    if not step.required:
        return None
    raise AssertionError(f"no valid candidate for {step.id}")


def walk(cl: Checklist, script: Mapping[str, Any] | None = None, max_steps: int = 500) -> State:
    """Answer every step: scripted values where given, else a valid default; always 2 evidence photos."""
    script = script or {}
    state = start(cl)
    for _ in range(max_steps):
        step = next_step(cl, state)
        if step is None:
            return state
        if step.id in script:
            raw = script[step.id]
        elif cl.repeat(step.id) is not None:  # "add a member?": one member, then stop
            raw = "yes" if current_member(cl, state) == 1 else "no"
        else:
            raw = valid_value(step, state)
        state = answer(cl, state, step.id, raw, evidence=["ev-1", "ev-2"])
    raise AssertionError("checklist did not finish")


def _text(zh: str, en: str) -> dict[str, str]:
    return {"zh-CN": zh, "en": en}


def members_checklist(count: str | None = None) -> Checklist:
    steps: list[dict[str, Any]] = [
        {"id": "size", "kind": "number", "label": _text("家庭人数", "Size"), "validation": {"integer": True}},
        {"id": "name", "kind": "text", "label": _text("姓名", "Name"), "repeat": "members"},
        {"id": "age", "kind": "number", "label": _text("年龄", "Age"), "repeat": "members"},
        {"id": "cared", "kind": "yes_no", "label": _text("有人照料吗", "Cared for?"), "repeat": "members",
         "when": "${age} >= 80"},
        {"id": "remarks", "kind": "text", "label": _text("备注", "Remarks"), "required": False},
    ]  # fmt: skip
    repeat: dict[str, Any] = {"id": "members", "title": _text("家庭成员", "household members")}
    if count:
        repeat["count"] = count
    return parse_checklist(
        {
            "id": "members_demo",
            "version": 1,
            "title": _text("成员", "Members"),
            "repeats": [repeat],
            "steps": steps,
            "findings": [
                {
                    "id": "uncared",
                    "when": "${cared} = 'no'",
                    "category": "other",
                    "severity": "high",
                    "message": _text("有高龄成员无人照料", "an elderly member has no care"),
                },
                {
                    "id": "size_mismatch",
                    "when": "count(${members}) != ${size}",
                    "category": "other",
                    "severity": "low",
                    "message": _text("人数不符", "size does not match the members"),
                },
            ],
        }
    )
