"""The pure, deterministic checklist engine shared by the bot (to converse) and the store (to replay).

State is a small JSON-serializable value: the pinned checklist id and version, and the answers in the
order they were given. Everything else (next step, outcome, findings) is recomputed from it, so a
conversation survives a restart and the store never has to trust a client's conclusions.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from checklists.expr import REF_IN_TEMPLATE, Expr, NodeSet, compile_expr, template_refs, truthy
from checklists.messages import (
    ChecklistError,
    LocalizedText,
    catalog_text,
    display_text,
    normalize_lang,
)
from checklists.numbers import parse_number
from checklists.schema import (
    CATEGORY_LABELS,
    OUTCOME_LABELS,
    Checklist,
    CoreMarker,
    FindingCategory,
    Outcome,
    Repeat,
    RuleKind,
    Severity,
    Step,
    StepKind,
)
from contracts.visits import Conclusion, Decision


class Answer(BaseModel):
    """One answer: the step, its canonical value (None = skipped) and evidence ids (photos)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step_id: str
    value: JsonValue = None
    evidence: list[str] = Field(default_factory=list)
    # which member of a repeat (1, 2, ...); None outside repeats, and then left out of the JSON
    item: int | None = Field(default=None, ge=1, exclude_if=lambda v: v is None)


class State(BaseModel):
    """The whole state of a checklist in progress; persist it with `model_dump(mode='json')`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    checklist_id: str
    version: int
    answers: list[Answer] = Field(default_factory=list)

    def values(self) -> dict[str, Any]:
        """Return the answers as a step id → value mapping (a repeat's step: its last member's answer).

        Conditions, constraints and rules see repeats differently; use `current_values()` for those.
        """
        return {a.step_id: a.value for a in self.answers}


class Finding(BaseModel):
    """A problem found, recomputed from the answers by a finding rule."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    category: FindingCategory
    severity: Severity
    step_ids: list[str]
    message: LocalizedText
    kind: RuleKind = RuleKind.LEAD

    def category_label(self, lang: str | None = None) -> str:
        """Return the category's label in `lang`."""
        return CATEGORY_LABELS[self.category].get(lang)


class SummaryItem(BaseModel):
    """One answered step rendered for display."""

    step_id: str
    label: str
    value: str


class Summary(BaseModel):
    """A human-readable account of a checklist in progress or finished."""

    checklist_id: str
    version: int
    title: str
    complete: bool
    outcome: Outcome | None
    outcome_label: str
    items: list[SummaryItem]
    findings: list[str]

    def text(self, lang: str | None = None) -> str:
        """Render the summary as plain text (lines), e.g. for a chat message."""
        lines = [f"{self.title} ({self.checklist_id}@{self.version})"]
        lines += [f"• {i.label}: {i.value}" for i in self.items]
        lines.append(f"{display_text('outcome', lang)}: {self.outcome_label}")
        if self.findings:
            lines.append(f"{display_text('findings', lang)}:")
            lines += [f"  - {f}" for f in self.findings]
        else:
            lines.append(display_text("no_findings", lang))
        return "\n".join(lines)


# ---- compiled runtime -------------------------------------------------------------------------


@dataclass(slots=True)
class _Runtime:
    steps: list[Step]
    conds: list[Expr | None]
    index: dict[str, int]
    endings: list[tuple[Expr, Outcome]]
    findings: list[tuple[Expr, list[str]]]
    repeats: list[Repeat]
    repeat_of: list[int | None]  # per step: the index of its repeat
    blocks: list[tuple[int, int]]  # per repeat: [first, end) step indexes
    add_steps: list[Step]  # per repeat: the "add a member?" question asked when it has no count
    repeat_index: dict[str, int]


_RUNTIMES: dict[int, tuple[Checklist, _Runtime]] = {}


def _add_step(rep: Repeat) -> Step:
    title = {lang: rep.title.get(lang) for lang in ("zh-CN", "en")}
    label = LocalizedText(
        zh_CN=catalog_text("repeat_add", "zh-CN", title=title["zh-CN"]),
        en=catalog_text("repeat_add", "en", title=title["en"]),
    )
    return Step(id=rep.id, kind=StepKind.YES_NO, label=label, required=True)


def _rt(checklist: Checklist) -> _Runtime:
    # Keyed by identity and holding a reference to the checklist, so an id is never reused while cached.
    hit = _RUNTIMES.get(id(checklist))
    if hit is not None and hit[0] is checklist:
        return hit[1]
    index = {s.id: i for i, s in enumerate(checklist.steps)}
    findings: list[tuple[Expr, list[str]]] = []
    for rule in checklist.findings:
        expr = compile_expr(rule.when)
        # Cite the steps the rule reads, those its message quotes, and any it names explicitly.
        quoted = template_refs(rule.message.zh_CN) | template_refs(rule.message.en)
        names = (set(expr.refs) | quoted | set(rule.steps)) & index.keys()
        cited = sorted(names, key=lambda s: index[s])
        findings.append((expr, cited))
    repeat_index = {r.id: n for n, r in enumerate(checklist.repeats)}
    repeat_of = [repeat_index.get(s.repeat) if s.repeat else None for s in checklist.steps]
    blocks = []
    for n in range(len(checklist.repeats)):
        members = [i for i, r in enumerate(repeat_of) if r == n]
        blocks.append((members[0], members[-1] + 1))
    rt = _Runtime(
        steps=list(checklist.steps),
        conds=[s.condition() for s in checklist.steps],
        index=index,
        endings=[(compile_expr(e.when), e.outcome) for e in checklist.endings],
        findings=findings,
        repeats=list(checklist.repeats),
        repeat_of=repeat_of,
        blocks=blocks,
        add_steps=[_add_step(r) for r in checklist.repeats],
        repeat_index=repeat_index,
    )
    if len(_RUNTIMES) > 256:  # imported checklists come and go; keep the cache bounded
        _RUNTIMES.clear()
    _RUNTIMES[id(checklist)] = (checklist, rt)
    return rt


def _check_pinned(checklist: Checklist, state: State) -> None:
    if state.checklist_id != checklist.id or state.version != checklist.version:
        raise ChecklistError(
            "wrong_checklist",
            state=f"{state.checklist_id}@{state.version}",
            checklist=checklist.key,
        )


def _ending(rt: _Runtime, values: Mapping[str, Any]) -> Outcome | None:
    for expr, outcome in rt.endings:
        if expr.test(values):
            return outcome
    return None


@dataclass(slots=True)
class _Values:
    """Answers as expressions see them: scalars outside repeats, a NodeSet per member step."""

    env: dict[str, Any]
    members: dict[str, dict[int, Any]]

    def member(self, rt: _Runtime, r: int, item: int) -> dict[str, Any]:
        """The environment inside member `item` of repeat `r`: its own answers are plain values."""
        env = dict(self.env)
        first, end = rt.blocks[r]
        for s in rt.steps[first:end]:
            env[s.id] = self.members.get(s.id, {}).get(item)
        return env


def _values(rt: _Runtime, answers: Sequence[Answer]) -> _Values:
    env: dict[str, Any] = {}
    if not rt.repeats:
        for a in answers:
            env[a.step_id] = a.value
        return _Values(env, {})
    members: dict[str, dict[int, Any]] = {}
    count = [0] * len(rt.repeats)
    for a in answers:
        r = rt.repeat_index.get(a.step_id)
        if r is not None:
            if a.value == "yes" and a.item is not None:
                count[r] = max(count[r], a.item)
        elif a.item is None:
            env[a.step_id] = a.value
        else:
            members.setdefault(a.step_id, {})[a.item] = a.value
            j = rt.index.get(a.step_id)
            rr = rt.repeat_of[j] if j is not None else None
            if rr is not None:
                count[rr] = max(count[rr], a.item)
    for r, rep in enumerate(rt.repeats):
        env[rep.id] = NodeSet(range(1, count[r] + 1))
        first, end = rt.blocks[r]
        for s in rt.steps[first:end]:
            got = members.get(s.id, {})
            env[s.id] = NodeSet(got.get(k) for k in range(1, count[r] + 1))
    return _Values(env, members)


# A slot is what is asked next: (step index, member) or, for "add a member?", (-1 - repeat, member).
_Slot = tuple[int, int | None]


def _repeat_size(rt: _Runtime, r: int, env: Mapping[str, Any]) -> int | None:
    rep = rt.repeats[r]
    if rep.count is None:
        return None
    raw = compile_expr(rep.count)(env)
    try:
        n = int(float(raw)) if raw is not None and not isinstance(raw, list | dict) else 0
    except (TypeError, ValueError):
        n = 0
    return max(0, min(n, rep.max))


def _in_member(rt: _Runtime, vals: _Values, r: int, item: int, start: int) -> _Slot | None:
    end = rt.blocks[r][1]
    env = vals.member(rt, r, item)
    for j in range(start, end):
        c = rt.conds[j]
        if c is None or truthy(c.fn(env, None)):
            return j, item
    return _after_member(rt, vals, r, item)


def _after_member(rt: _Runtime, vals: _Values, r: int, item: int) -> _Slot | None:
    size = _repeat_size(rt, r, vals.env)
    first, end = rt.blocks[r]
    if size is None:
        return (-1 - r, item + 1) if item < rt.repeats[r].max else _scan(rt, vals, end)
    if item < size:
        return _in_member(rt, vals, r, item + 1, first)
    return _scan(rt, vals, end)


def _scan(rt: _Runtime, vals: _Values, start: int) -> _Slot | None:
    conds = rt.conds
    j = start
    while j < len(conds):
        r = rt.repeat_of[j]
        if r is not None:
            rep = rt.repeats[r]
            first, end = rt.blocks[r]
            if rep.when is not None and not compile_expr(rep.when).test(vals.env):
                j = end
                continue
            size = _repeat_size(rt, r, vals.env)
            if size is None:
                return -1 - r, 1
            if size == 0:
                j = end
                continue
            return _in_member(rt, vals, r, 1, first)
        c = conds[j]
        if c is None or truthy(c.fn(vals.env, None)):
            return j, None
        j += 1
    return None


def _next_slot(rt: _Runtime, answers: Sequence[Answer], vals: _Values) -> _Slot | None:
    if rt.endings and _ending(rt, vals.env) is not None:
        return None
    if not answers:
        return _scan(rt, vals, 0)
    # Answers are always in order (conditions only look backwards), so resume after the last one.
    last = answers[-1]
    r = rt.repeat_index.get(last.step_id)
    if r is not None:  # the answer to "add a member?"
        item = last.item or 1
        if last.value == "yes":
            return _in_member(rt, vals, r, item, rt.blocks[r][0])
        return _scan(rt, vals, rt.blocks[r][1])
    i = rt.index[last.step_id]
    rr = rt.repeat_of[i]
    if rr is None or last.item is None:
        return _scan(rt, vals, i + 1)
    return _in_member(rt, vals, rr, last.item, i + 1)


def _slot_step(rt: _Runtime, slot: _Slot) -> Step:
    pos, _item = slot
    return rt.add_steps[-1 - pos] if pos < 0 else rt.steps[pos]


def _slot_env(rt: _Runtime, slot: _Slot, vals: _Values) -> dict[str, Any]:
    pos, item = slot
    r = rt.repeat_of[pos] if pos >= 0 else None
    return vals.member(rt, r, item) if r is not None and item is not None else vals.env


def _member_label(rt: _Runtime, step: Step, slot: _Slot) -> Step:
    """The step as asked: a member's question says which member it is about."""
    pos, item = slot
    if item is None:
        return step
    rep = rt.repeats[-1 - pos] if pos < 0 else rt.repeats[rt.repeat_of[pos] or 0]
    if pos < 0:
        label = LocalizedText(
            zh_CN=catalog_text("repeat_add_nth", "zh-CN", title=rep.title.get("zh-CN"), n=item),
            en=catalog_text("repeat_add_nth", "en", title=rep.title.get("en"), n=item),
        )
        return step.model_copy(update={"label": label}) if item > 1 else step
    label = LocalizedText(
        zh_CN=catalog_text(
            "repeat_member", "zh-CN", title=rep.title.get("zh-CN"), n=item, label=step.label.zh_CN
        ),
        en=catalog_text("repeat_member", "en", title=rep.title.get("en"), n=item, label=step.label.en),
    )
    return step.model_copy(update={"label": label})


# ---- public API -------------------------------------------------------------------------------


def start(checklist: Checklist) -> State:
    """Start a checklist: an empty state pinned to this checklist's id and version."""
    return State(checklist_id=checklist.id, version=checklist.version)


def next_step(checklist: Checklist, state: State) -> Step | None:
    """Return the next step to ask, or None when finished; a repeat's step names the member it asks about."""
    _check_pinned(checklist, state)
    rt = _rt(checklist)
    slot = _next_slot(rt, state.answers, _values(rt, state.answers))
    return None if slot is None else _member_label(rt, _slot_step(rt, slot), slot)


def current_member(checklist: Checklist, state: State) -> int | None:
    """Which member of a repeat the next step is about (1, 2, ...), or None outside repeats."""
    _check_pinned(checklist, state)
    rt = _rt(checklist)
    slot = _next_slot(rt, state.answers, _values(rt, state.answers))
    return None if slot is None else slot[1]


def current_values(checklist: Checklist, state: State) -> dict[str, Any]:
    """The answers as the next step's condition and constraint see them (inside a repeat: its member's)."""
    _check_pinned(checklist, state)
    rt = _rt(checklist)
    vals = _values(rt, state.answers)
    slot = _next_slot(rt, state.answers, vals)
    return vals.env if slot is None else _slot_env(rt, slot, vals)


def is_complete(checklist: Checklist, state: State) -> bool:
    """True when no step remains to be asked (finished normally or ended early)."""
    return next_step(checklist, state) is None


def outcome(checklist: Checklist, state: State) -> Outcome | None:
    """Return how the checklist ended, or None while it is still in progress."""
    _check_pinned(checklist, state)
    rt = _rt(checklist)
    vals = _values(rt, state.answers)
    ended = _ending(rt, vals.env)
    if ended is not None:
        return ended
    return Outcome.COMPLETED if _next_slot(rt, state.answers, vals) is None else None


def answer(
    checklist: Checklist,
    state: State,
    step_id: str,
    raw_value: Any,
    lang: str | None = None,
    *,
    evidence: Sequence[str] = (),
    item: int | None = None,
) -> State:
    """Validate and record the answer to the current step; raises ChecklistError (in `lang`) if invalid.

    Inside a repeat the answer is for the member being asked; `item`, when given (a replay), must be it.
    """
    _check_pinned(checklist, state)
    rt = _rt(checklist)
    vals = _values(rt, state.answers)
    slot = _next_slot(rt, state.answers, vals)
    if slot is None:
        raise ChecklistError("finished", lang=lang, step_id=step_id)
    step = _slot_step(rt, slot)
    if step.id != step_id or (item is not None and item != slot[1]):
        raise ChecklistError("not_current_step", lang=lang, step_id=step_id, expected=step.id, step=step_id)
    values = _slot_env(rt, slot, vals)
    value = parse_value(step, raw_value, values, lang)
    ev = _check_evidence(step, value, evidence, values, lang)
    return State(
        checklist_id=state.checklist_id,
        version=state.version,
        answers=[*state.answers, Answer(step_id=step.id, value=value, evidence=ev, item=slot[1])],
    )


def back(checklist: Checklist, state: State) -> State:
    """Undo the last answer; answers that no longer apply are dropped."""
    _check_pinned(checklist, state)
    if not state.answers:
        raise ChecklistError("nothing_to_undo")
    return _prune(checklist, state.answers[:-1])


def _prune(checklist: Checklist, answers: Sequence[Answer]) -> State:
    # Walk the answers as the engine would ask them and keep only those that still apply, in order.
    rt = _rt(checklist)
    kept: list[Answer] = []
    for a in answers:
        if a.step_id not in rt.index and a.step_id not in rt.repeat_index:
            continue
        slot = _next_slot(rt, kept, _values(rt, kept))
        if slot is None:
            break
        if _slot_step(rt, slot).id == a.step_id and slot[1] == a.item:
            kept.append(a)
    return State(checklist_id=checklist.id, version=checklist.version, answers=kept)


def replay(checklist: Checklist, answers: Iterable[Answer | Mapping[str, Any]]) -> State:
    """Re-run stored answers through the engine; raises on any invalid or out-of-order answer."""
    state = start(checklist)
    for n, a in enumerate(answers):
        if not isinstance(a, Answer):
            try:
                a = Answer.model_validate(a)
            except ValueError as err:
                raise ChecklistError("bad_answer_record", index=n + 1) from err
        state = answer(checklist, state, a.step_id, a.value, evidence=a.evidence, item=a.item)
    return state


def rule_env(checklist: Checklist, state: State, context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What rules see: the answers, the declared context (None where not given) and derived numbers."""
    rt = _rt(checklist)
    env = dict(_values(rt, state.answers).env)
    ctx = context or {}
    for name in checklist.context:
        if name not in rt.index:
            env[name] = ctx.get(name)
    for d in checklist.derived:
        raw = compile_expr(d.expr)(env)
        ok = isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw)
        env[d.id] = round(raw, 2) if ok else None
    return env


def findings(checklist: Checklist, state: State, context: Mapping[str, Any] | None = None) -> list[Finding]:
    """Recompute leads, findings and visit flags from the answers (never from a client's list).

    `context` holds the register and county values the checklist declares (the store supplies
    them); a rule that reads a missing one does not fire.
    """
    _check_pinned(checklist, state)
    rt = _rt(checklist)
    values = rule_env(checklist, state, context)
    out: list[Finding] = []
    for rule, (expr, cited) in zip(checklist.findings, rt.findings, strict=True):
        if expr.test(values):
            out.append(
                Finding(
                    rule_id=rule.id,
                    category=rule.category,
                    severity=rule.severity,
                    step_ids=cited,
                    kind=rule.kind,
                    message=LocalizedText(
                        zh_CN=_fill(rule.message.zh_CN, checklist, values, "zh-CN"),
                        en=_fill(rule.message.en, checklist, values, "en"),
                    ),
                )
            )
    return out


def conclusion(
    checklist: Checklist, state: State, context: Mapping[str, Any] | None = None
) -> Conclusion | None:
    """The visit's structured conclusion: the decision step's answer (or the early ending's) and
    its typed numbers; None while the checklist is in progress or declares no conclusion."""
    spec = checklist.conclusion
    if spec is None or outcome(checklist, state) is None:
        return None
    env = rule_env(checklist, state, context)
    decision: Any = env.get(spec.decision)
    if decision is None:
        rt = _rt(checklist)
        ended = next(
            (e for e, (x, _o) in zip(checklist.endings, rt.endings, strict=True) if x.test(env)), None
        )
        decision = ended.decision if ended is not None else Decision.RECHECK
    fields: dict[str, Any] = {}
    for name, ref in spec.fields.items():
        v = env.get(ref)
        if v is not None and not isinstance(v, list | dict):
            fields[name] = v
    return Conclusion.model_validate({"decision": decision, **fields})


def summary(
    checklist: Checklist,
    state: State,
    lang: str | None = None,
    *,
    context: Mapping[str, Any] | None = None,
) -> Summary:
    """Summarize answers, outcome and findings (with the register `context`, when known) in `lang`."""
    lang = normalize_lang(lang)
    oc = outcome(checklist, state)
    items = []
    rt = _rt(checklist)
    for a in state.answers:
        step = checklist.step(a.step_id)
        if step is None or step.kind is StepKind.NOTE:
            continue
        text = display_value(step, a.value, lang)
        if a.evidence and step.kind is not StepKind.PHOTO:
            text += f" ({display_text('evidence', lang, count=len(a.evidence))})"
        label = step.label.get(lang)
        if a.item is not None:
            label = _member_label(rt, step, (rt.index[step.id], a.item)).label.get(lang)
        items.append(SummaryItem(step_id=step.id, label=label, value=text))
    found = [f"[{f.category_label(lang)}] {f.message.get(lang)}" for f in findings(checklist, state, context)]
    return Summary(
        checklist_id=checklist.id,
        version=checklist.version,
        title=checklist.title.get(lang),
        complete=oc is not None,
        outcome=oc,
        outcome_label=OUTCOME_LABELS[oc].get(lang) if oc else display_text("in_progress", lang),
        items=items,
        findings=found,
    )


def core_status(checklist: Checklist, state: State) -> dict[CoreMarker, bool | None]:
    """For each core gate (entered, seen_person, seen_documents): True/False if answered yes/no, else None."""
    values = state.values()
    out: dict[CoreMarker, bool | None] = dict.fromkeys(CoreMarker)
    for step in checklist.steps:
        if step.core is not None and step.id in values and values[step.id] is not None:
            out[step.core] = values[step.id] == "yes"
    return out


# ---- values -----------------------------------------------------------------------------------

_YES = frozenset({"yes", "y", "true", "1", "是", "是的", "对", "有", "已", "ok"})
_NO = frozenset({"no", "n", "false", "0", "否", "不", "不是", "没有", "无", "未"})


def _is_blank(raw: Any) -> bool:
    return (
        raw is None
        or (isinstance(raw, str) and not raw.strip())
        or (isinstance(raw, list | tuple) and not raw)
    )


def parse_value(
    step: Step, raw: Any, values: Mapping[str, Any] | None = None, lang: str | None = None
) -> Any:
    """Validate a raw answer for `step` and return its canonical JSON value (None = skipped)."""
    values = values if values is not None else {}
    if step.kind is StepKind.NOTE:
        return None  # a note is acknowledged, it has no value
    if _is_blank(raw):
        if step.required:
            raise ChecklistError("required", lang=lang, step_id=step.id)
        return None
    kind = step.kind
    if kind is StepKind.YES_NO:
        value: Any = _parse_yes_no(step, raw, lang)
    elif kind is StepKind.CHOICE:
        value = _parse_choice(step, raw, lang)
    elif kind is StepKind.MULTI_CHOICE:
        value = _parse_multi(step, raw, lang)
    elif kind is StepKind.NUMBER:
        value = _parse_number(step, raw, lang)
    elif kind is StepKind.TEXT:
        value = _parse_text(step, raw, lang)
    elif kind is StepKind.PHOTO:
        value = _parse_photos(step, raw, lang)
    else:
        value = _parse_location(step, raw, lang)
    c = step._constraint
    if c is not None and not c.test(values, value):
        v = step.validation
        raise ChecklistError("constraint_failed", lang=lang, step_id=step.id, text=v.message)
    return value


def _norm(raw: Any) -> str:
    # NFKC folds full-width digits and letters typed on Chinese keyboards.
    return unicodedata.normalize("NFKC", str(raw)).strip()


def _parse_yes_no(step: Step, raw: Any, lang: str | None) -> str:
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    s = _norm(raw).lower()
    if s in _YES:
        return "yes"
    if s in _NO:
        return "no"
    raise ChecklistError("not_yes_no", lang=lang, step_id=step.id)


def _match_choice(step: Step, raw: Any, lang: str | None) -> str:
    s = _norm(raw)
    if step.choice(s) is not None:
        return s
    low = s.lower()
    for c in step.choices:
        if low in (c.id.lower(), c.label.zh_CN.lower(), c.label.en.lower()):
            return c.id
    sep = display_text("list_sep", lang)
    raise ChecklistError(
        "unknown_choice",
        lang=lang,
        step_id=step.id,
        value=s[:40],
        options=sep.join(c.label.get(lang) for c in step.choices),
    )


def _parse_choice(step: Step, raw: Any, lang: str | None) -> str:
    if isinstance(raw, bool | list | dict | tuple):
        raise ChecklistError("unknown_choice", lang=lang, step_id=step.id, value=str(raw)[:40], options="")
    return _match_choice(step, raw, lang)


def _parse_multi(step: Step, raw: Any, lang: str | None) -> list[str]:
    if isinstance(raw, str) and step.choice(_norm(raw)) is not None:
        parts = [_norm(raw)]  # one choice whose name has a comma
    elif isinstance(raw, str):
        parts = [p for p in _norm(raw).replace("，", ",").replace("、", ",").replace(",", " ").split() if p]
    elif isinstance(raw, list | tuple):
        parts = list(raw)
    else:
        raise ChecklistError("not_a_list", lang=lang, step_id=step.id)
    chosen: set[str] = set()
    for p in parts:
        if not isinstance(p, str):
            raise ChecklistError("not_a_list", lang=lang, step_id=step.id)
        chosen.add(_match_choice(step, p, lang))
    # Canonical order is the order of the choices, so replay and comparisons are stable.
    ordered = [c.id for c in step.choices if c.id in chosen]
    if len(ordered) > 1:
        for c in step.choices:
            if c.exclusive and c.id in chosen:
                raise ChecklistError("exclusive_choice", lang=lang, step_id=step.id, choice=c.label.get(lang))
    v = step.validation
    lo = v.min_items if v.min_items is not None else 1
    if len(ordered) < lo:
        raise ChecklistError("too_few_choices", lang=lang, step_id=step.id, min=lo)
    if v.max_items is not None and len(ordered) > v.max_items:
        raise ChecklistError("too_many_choices", lang=lang, step_id=step.id, max=v.max_items)
    return ordered


def _fmt_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _parse_number(step: Step, raw: Any, lang: str | None) -> int | float:
    v = step.validation
    # One strict parser for every typed number (checklists/numbers.py); the bot uses the same one.
    num = parse_number(
        raw,
        integer=v.integer,
        negative=v.min is None or v.min < 0,
        units=step.unit_words(),
        lang=lang,
        step_id=step.id,
    )
    # Bounds are compared as decimals written the way the checklist wrote them: 0.1 is not below "0.1".
    if v.min is not None and num < Decimal(repr(v.min)):
        raise ChecklistError("too_small", lang=lang, step_id=step.id, min=_fmt_num(v.min))
    if v.max is not None and num > Decimal(repr(v.max)):
        raise ChecklistError("too_large", lang=lang, step_id=step.id, max=_fmt_num(v.max))
    # Answers are JSON: integers stay int, decimals become the float nearest the (at most 15-digit) text.
    if v.integer or (isinstance(raw, int) and not isinstance(raw, bool)):
        return int(num)
    return float(num)


def _parse_text(step: Step, raw: Any, lang: str | None) -> str:
    if isinstance(raw, bool | list | dict | tuple):
        raise ChecklistError("not_text", lang=lang, step_id=step.id)
    s = unicodedata.normalize("NFC", str(raw)).strip()
    v = step.validation
    if v.min_length is not None and len(s) < v.min_length:
        raise ChecklistError("too_short", lang=lang, step_id=step.id, min=v.min_length)
    max_len = v.max_length if v.max_length is not None else 2000  # a chat message, not a document
    if len(s) > max_len:
        raise ChecklistError("too_long", lang=lang, step_id=step.id, max=max_len)
    if step._pattern is not None and not step._pattern.fullmatch(s):
        raise ChecklistError("pattern_mismatch", lang=lang, step_id=step.id, text=v.message)
    return s


def _evidence_ids(raw: Any) -> list[str] | None:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple):
        return None
    ids: list[str] = []
    for x in raw:
        if not isinstance(x, str) or not x.strip() or len(x) > 200:
            return None
        ids.append(x.strip())
    return ids


def _parse_photos(step: Step, raw: Any, lang: str | None) -> list[str]:
    ids = _evidence_ids(raw)
    if ids is None:
        raise ChecklistError("not_photos", lang=lang, step_id=step.id)
    ids = list(dict.fromkeys(ids))  # the same photo sent twice counts once
    v = step.validation
    lo = v.min_items if v.min_items is not None else 1
    if len(ids) < lo:
        raise ChecklistError("too_few_photos", lang=lang, step_id=step.id, min=lo)
    if v.max_items is not None and len(ids) > v.max_items:
        raise ChecklistError("too_many_photos", lang=lang, step_id=step.id, max=v.max_items)
    return ids


def _parse_location(step: Step, raw: Any, lang: str | None) -> dict[str, float]:
    lat: Any = None
    lon: Any = None
    if isinstance(raw, Mapping):
        lat, lon = raw.get("lat"), raw.get("lon")
    elif isinstance(raw, list | tuple) and len(raw) == 2:
        lat, lon = raw
    elif isinstance(raw, str):
        parts = _norm(raw).replace("，", ",").replace(",", " ").split()
        if len(parts) >= 2:
            lat, lon = parts[0], parts[1]
    try:
        if isinstance(lat, bool) or isinstance(lon, bool):
            raise ValueError
        flat, flon = float(lat), float(lon)
    except (TypeError, ValueError):
        raise ChecklistError("not_location", lang=lang, step_id=step.id) from None
    if not (math.isfinite(flat) and math.isfinite(flon) and -90 <= flat <= 90 and -180 <= flon <= 180):
        raise ChecklistError("not_location", lang=lang, step_id=step.id)
    if flat == 0 and flon == 0:
        raise ChecklistError("not_location", lang=lang, step_id=step.id)  # (0,0) is a missing fix
    return {"lat": flat, "lon": flon}


def _check_evidence(
    step: Step, value: Any, evidence: Sequence[str], values: Mapping[str, Any], lang: str | None
) -> list[str]:
    ids = _evidence_ids(list(evidence))
    if ids is None:
        raise ChecklistError("bad_evidence", lang=lang, step_id=step.id)
    ids = list(dict.fromkeys(ids))
    for rule in step.evidence:
        if rule.when is not None and not compile_expr(rule.when).test(values, value):
            continue
        if len(ids) < rule.min_photos:
            text = rule.message if rule.message is not None else None
            raise ChecklistError(
                "evidence_required", lang=lang, step_id=step.id, text=text, min=rule.min_photos
            )
    return ids


def required_evidence(checklist: Checklist, state: State, step_id: str, raw_value: Any) -> int:
    """How many evidence photos the current step needs with this answer (0 if none); for the bot's gating."""
    step = checklist.step(step_id)
    if step is None:
        return 0
    values = current_values(checklist, state)
    try:
        value = parse_value(step, raw_value, values)
    except ChecklistError:
        return 0
    need = 0
    for rule in step.evidence:
        if rule.when is None or compile_expr(rule.when).test(values, value):
            need = max(need, rule.min_photos)
    return need


def display_value(step: Step, value: Any, lang: str | None = None) -> str:
    """Render an answer value for people, in `lang`."""
    if isinstance(value, NodeSet):
        sep = display_text("list_sep", lang)
        return sep.join(display_value(step, v, lang) for v in value if v is not None)
    if value is None:
        return display_text("skipped", lang)
    kind = step.kind
    if kind is StepKind.YES_NO:
        return display_text("yes" if value == "yes" else "no", lang)
    if kind is StepKind.CHOICE:
        c = step.choice(str(value))
        return c.label.get(lang) if c else str(value)
    if kind is StepKind.MULTI_CHOICE and isinstance(value, list):
        sep = display_text("list_sep", lang)
        return sep.join((c.label.get(lang) if (c := step.choice(str(v))) else str(v)) for v in value)
    if kind is StepKind.PHOTO and isinstance(value, list):
        return display_text("photos", lang, count=len(value))
    if kind is StepKind.LOCATION and isinstance(value, dict):
        return f"{value.get('lat'):.6f}, {value.get('lon'):.6f}"
    if isinstance(value, float):
        return _fmt_num(value)
    return str(value)


def _fill(template: str, checklist: Checklist, values: Mapping[str, Any], lang: str) -> str:
    def sub(m: Any) -> str:
        sid = m.group(1)
        step = checklist.step(sid)
        if step is None:
            v = values.get(sid)
            if v is None:
                return str(m.group(0))
            return _fmt_num(v) if isinstance(v, float) else str(v)
        return display_value(step, values.get(sid), lang)

    return REF_IN_TEMPLATE.sub(sub, template)
