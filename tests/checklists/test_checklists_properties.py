"""Property tests: any mix of valid and invalid answers keeps the engine consistent and replayable."""

from __future__ import annotations

from typing import Any

from checklists_testkit import candidates
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checklists import (
    Checklist,
    ChecklistError,
    Outcome,
    State,
    answer,
    back,
    findings,
    list_checklists,
    load_checklist,
    next_step,
    outcome,
    replay,
)
from checklists.expr import compile_expr

CHECKLISTS = {c.id: load_checklist(c.id) for c in list_checklists()}

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10**7),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["yes", "no", "是", "否", "", " ", "12", "-1", "1e400", "30.5,110.2", "0,0", "none car"]),
    st.lists(st.one_of(st.text(max_size=6), st.integers()), max_size=4),
    st.dictionaries(
        st.sampled_from(["lat", "lon", "x"]), st.one_of(st.floats(-200, 200), st.text(max_size=3))
    ),
)
actions = st.lists(
    st.one_of(
        st.tuples(st.just("valid"), st.integers(0, 9), st.booleans()),
        st.tuples(st.just("raw"), junk, st.booleans()),
        st.tuples(st.just("back"), st.none(), st.booleans()),
        st.tuples(st.just("wrong_step"), st.sampled_from(["entered", "remarks", "nope"]), st.booleans()),
    ),
    max_size=90,
)


def check_consistent(cl: Checklist, state: State) -> None:
    """Independently of the engine: every answered step was askable, every skipped one was not."""
    values: dict[str, Any] = {}
    pos = 0
    order = {s.id: i for i, s in enumerate(cl.steps)}
    for a in state.answers:
        if a.step_id not in order or a.item is not None:
            continue  # a repeat's members: tests/checklists/test_checklists_repeats.py checks those
        j = order[a.step_id]
        assert j >= pos, "answers out of step order"
        for s in cl.steps[pos:j]:
            if s.repeat is not None:
                continue
            assert s.when is not None and not compile_expr(s.when).test(values), (
                f"{s.id} was skipped but askable"
            )
        step = cl.steps[j]
        assert step.when is None or compile_expr(step.when).test(values), (
            f"{step.id} asked though its condition is false"
        )
        if step.required and step.kind.value != "note":
            assert a.value is not None, f"required {step.id} left empty"
        for e in cl.endings:
            assert not compile_expr(e.when).test(values), "answer recorded after the checklist ended"
        values[a.step_id] = a.value
        pos = j + 1
    nxt = next_step(cl, state)
    if nxt is not None:
        assert nxt.when is None or compile_expr(nxt.when).test(values)
        assert nxt.id not in values
    elif outcome(cl, state) is Outcome.COMPLETED:
        # Finished normally: nothing after the last answer is askable, so no required step is missing.
        for s in cl.steps[pos:]:
            assert s.when is not None and not compile_expr(s.when).test(values), f"{s.id} never asked"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(CHECKLISTS)), acts=actions)
def test_engine_is_total_consistent_and_replayable(name: str, acts: list[tuple[str, Any, bool]]) -> None:
    cl = CHECKLISTS[name]
    state = State(checklist_id=cl.id, version=cl.version)
    for kind, arg, with_evidence in acts:
        step = next_step(cl, state)
        evidence = ["e-1", "e-2"] if with_evidence else []
        try:
            if kind == "back":
                state = back(cl, state)
            elif step is None:
                continue
            elif kind == "valid":
                options = list(candidates(step))
                state = answer(cl, state, step.id, options[arg % len(options)], "en", evidence=evidence)
            elif kind == "raw":
                state = answer(cl, state, step.id, arg, "zh-CN", evidence=evidence)
            else:
                state = answer(cl, state, str(arg), "yes", evidence=evidence)
        except ChecklistError as err:
            # Every refusal must be explainable in both languages.
            assert err.message("zh-CN") and err.message("en")
        check_consistent(cl, state)
    # Finish the visit with valid answers and evidence: it always terminates.
    for _ in range(len(cl.steps) + 1):
        step = next_step(cl, state)
        if step is None:
            break
        # "add another member?": no, so a repeat cannot outlast the bound
        for raw in ["no"] if cl.repeat(step.id) is not None else candidates(step):
            try:
                state = answer(cl, state, step.id, raw, evidence=["e-1", "e-2"])
                break
            except ChecklistError:
                continue
        else:
            raise AssertionError(f"no valid answer accepted for {step.id}")
    assert next_step(cl, state) is None
    check_consistent(cl, state)
    # The store's check: replaying the stored answers reproduces the state and the findings.
    stored = [a.model_dump(mode="json") for a in state.answers]
    again = replay(cl, stored)
    assert again == state
    assert findings(cl, again) == findings(cl, state)
    assert State.model_validate_json(state.model_dump_json()) == state
