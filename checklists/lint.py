"""Lint for checklist definitions: the problems a schema alone cannot see.

Reports unknown or forward step references, steps that can never be asked, finding rules and
endings that can never fire, duplicate ids and missing translations. Reachability is decided by
enumerating the answers each referenced step can take (its choices, and for numbers and texts the
literals the expression compares against), so it is exact for yes/no and choice steps and a sound
approximation elsewhere; when the search space is too large the rule is assumed reachable.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from checklists.expr import Expr, NodeSet, compile_expr, template_refs
from checklists.messages import LocalizedText
from checklists.schema import Checklist, Step, StepKind

_MAX_COMBINATIONS = 20_000


class Problem(BaseModel):
    """One lint problem: a code, a message naming the place, and the file if known."""

    code: str
    message: str
    where: str = ""
    file: str | None = None

    def __str__(self) -> str:
        """Render as `file: where: [code] message`."""
        prefix = f"{self.file}: " if self.file else ""
        loc = f"{self.where}: " if self.where else ""
        return f"{prefix}{loc}[{self.code}] {self.message}"


def _domain(step: Step | None, literals: Iterable[Any], reachable: bool) -> list[Any]:
    if step is None or not reachable:
        return [None]
    lits = list(literals)
    kind = step.kind
    if kind is StepKind.YES_NO:
        return [None, "yes", "no"]
    if kind is StepKind.CHOICE:
        return [None, *(c.id for c in step.choices)]
    if kind is StepKind.MULTI_CHOICE:
        ids = [c.id for c in step.choices]
        if len(ids) <= 5:
            subsets = [list(s) for r in range(1, len(ids) + 1) for s in itertools.combinations(ids, r)]
            return [None, *subsets]
        return [None, *([i] for i in ids), ids]
    if kind is StepKind.NUMBER:
        nums: set[float] = {0.0, 1.0}
        for x in lits:
            if isinstance(x, int | float) and not isinstance(x, bool):
                nums |= {float(x) - 1, float(x), float(x) + 1}
            elif isinstance(x, str):
                try:
                    f = float(x)
                except ValueError:
                    continue
                nums |= {f - 1, f, f + 1}
        v = step.validation
        for b in (v.min, v.max):
            if b is not None:
                nums.add(float(b))
        if v.min is not None:
            nums = {n for n in nums if n >= v.min}
        if v.max is not None:
            nums = {n for n in nums if n <= v.max}
        return [None, *sorted(nums)]
    if kind is StepKind.TEXT:
        return [None, "x", *(x for x in lits if isinstance(x, str) and x)]
    if kind is StepKind.PHOTO:
        return [None, ["photo-1"]]
    if kind is StepKind.LOCATION:
        return [None, {"lat": 30.0, "lon": 110.0}]
    return [None]


def _ref_domain(checklist: Checklist, ref: str, expr: Expr, reachable: dict[str, bool]) -> list[Any]:
    if checklist.step(ref) is None and (
        ref in checklist.context or any(d.id == ref for d in checklist.derived)
    ):  # a register value or a derived number: any literal the rule compares with, or around it
        nums = {float(x) + k for x in expr.literals if isinstance(x, int | float) for k in (-1, 0, 1)}
        strs = [x for x in expr.literals if isinstance(x, str)]
        return [None, 0.0, 1.0, 1000.0, -1000.0, "yes", "no", *sorted(nums), *strs]
    rep = checklist.repeat(ref)
    if rep is not None:  # a repeat: its members, as count(${members}) sees them
        return [NodeSet(range(1, k + 1)) for k in sorted({0, 1, 2, 3, 5, 10, rep.max})]
    step = checklist.step(ref)
    base = _domain(step, expr.literals, reachable.get(ref, False))
    if step is None or step.repeat is None:
        return base
    # A member's step: one value inside its member, a NodeSet over members outside the repeat.
    some = tuple(v for v in base if v is not None)
    return [*base, NodeSet(), *(NodeSet((v,)) for v in some), NodeSet(some * 30)]


def satisfiable(
    expr: Expr, checklist: Checklist, reachable: dict[str, bool], dot_step: Step | None = None
) -> bool:
    """Can `expr` be true for some answers? (True when undecidable within the search budget.)"""
    refs = sorted(expr.refs)
    domains = [_ref_domain(checklist, r, expr, reachable) for r in refs]
    if expr.uses_dot:
        domains.append(_domain(dot_step, expr.literals, True)[1:] if dot_step else [None])
    size = 1
    for d in domains:
        size *= max(1, len(d))
        if size > _MAX_COMBINATIONS:
            return True
    for combo in itertools.product(*domains):
        env = dict(zip(refs, combo, strict=False))
        dot = combo[-1] if expr.uses_dot else None
        if expr.test(env, dot):
            return True
    return False


def _texts(checklist: Checklist) -> Iterable[tuple[str, LocalizedText]]:
    yield "title", checklist.title
    if checklist.description is not None:
        yield "description", checklist.description
    for sec in checklist.sections:
        yield f"sections.{sec.id}.title", sec.title
    for rep in checklist.repeats:
        yield f"repeats.{rep.id}.title", rep.title
    for s in checklist.steps:
        yield f"steps.{s.id}.label", s.label
        if s.help is not None:
            yield f"steps.{s.id}.help", s.help
        for c in s.choices:
            yield f"steps.{s.id}.choices.{c.id}", c.label
        if s.validation.message is not None:
            yield f"steps.{s.id}.validation.message", s.validation.message
        for n, ev in enumerate(s.evidence):
            if ev.message is not None:
                yield f"steps.{s.id}.evidence[{n}].message", ev.message
    for f in checklist.findings:
        yield f"findings.{f.id}.message", f.message
    for e in checklist.endings:
        yield f"endings.{e.id}.message", e.message


def lint_checklist(checklist: Checklist, file: str | None = None) -> list[Problem]:
    """Return every problem found in one (schema-valid) checklist."""
    out: list[Problem] = []

    def add(code: str, where: str, message: str) -> None:
        out.append(Problem(code=code, where=where, message=message, file=file))

    index = {s.id: i for i, s in enumerate(checklist.steps)}
    for rep in checklist.repeats:  # a repeat is known from its first step on
        index.setdefault(rep.id, next(i for i, s in enumerate(checklist.steps) if s.repeat == rep.id))

    # Translations.
    for where, text in _texts(checklist):
        for lang in text.missing():
            add("missing_translation", where, f"missing {lang} text")

    # Duplicate ids among findings, endings, choices, sections; core gates used twice.
    for kind, ids in (
        ("finding", [f.id for f in checklist.findings]),
        ("ending", [e.id for e in checklist.endings]),
        ("section", [s.id for s in checklist.sections]),
    ):
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            add("duplicate_id", f"{kind}s.{dup}", f"duplicate {kind} id {dup!r}")
    section_ids = {s.id for s in checklist.sections}
    cores: dict[str, str] = {}
    for s in checklist.steps:
        cids = [c.id for c in s.choices]
        for dup in sorted({i for i in cids if cids.count(i) > 1}):
            add("duplicate_id", f"steps.{s.id}.choices", f"duplicate choice id {dup!r}")
        if s.kind in (StepKind.CHOICE, StepKind.MULTI_CHOICE) and not s.choices:
            add("no_choices", f"steps.{s.id}", f"{s.kind} step without choices")
        if s.kind not in (StepKind.CHOICE, StepKind.MULTI_CHOICE) and s.choices:
            add("stray_choices", f"steps.{s.id}", f"{s.kind} step has choices")
        if s.section is not None and s.section not in section_ids:
            add("unknown_section", f"steps.{s.id}.section", f"unknown section {s.section!r}")
        if s.core is not None:
            if s.core in cores:
                add("duplicate_core", f"steps.{s.id}.core", f"core gate {s.core} also on {cores[s.core]!r}")
            cores[s.core] = s.id
            if s.kind is not StepKind.YES_NO:
                add("core_not_yes_no", f"steps.{s.id}.core", "a core gate must be a yes_no step")
        v = s.validation
        if v.min is not None and v.max is not None and v.min > v.max:
            add("empty_range", f"steps.{s.id}.validation", f"min {v.min} > max {v.max}")

    # References: every ${id} must name a step; conditions may only look backwards. Rules (before is
    # None) may also read the declared context and derived numbers.
    known = set(checklist.context) | {d.id for d in checklist.derived}

    def check_refs(expr: Expr, where: str, before: int | None) -> None:
        for ref in sorted(expr.refs):
            j = index.get(ref)
            if j is None and before is None and ref in known:
                continue
            if j is None:
                add("unknown_reference", where, f"refers to unknown step ${{{ref}}}")
            elif before is not None and j >= before:
                what = "itself" if j == before else "a later step"
                add(
                    "forward_reference", where, f"refers to {what} ${{{ref}}}; only earlier answers are known"
                )

    for i, s in enumerate(checklist.steps):
        if s.when is not None:
            check_refs(compile_expr(s.when), f"steps.{s.id}.when", i)
        if s.validation.constraint is not None:
            check_refs(compile_expr(s.validation.constraint), f"steps.{s.id}.validation.constraint", i)
        for n, ev in enumerate(s.evidence):
            if ev.when is not None:
                check_refs(compile_expr(ev.when), f"steps.{s.id}.evidence[{n}].when", i)
    for f in checklist.findings:
        check_refs(compile_expr(f.when), f"findings.{f.id}.when", None)
        for ref in f.steps:
            if ref not in index:
                add("unknown_reference", f"findings.{f.id}.steps", f"cites unknown step {ref!r}")
        for lang_text in (f.message.zh_CN, f.message.en):
            for ref in sorted(template_refs(lang_text)):
                if ref not in index and ref not in known:
                    add(
                        "unknown_reference",
                        f"findings.{f.id}.message",
                        f"template refers to unknown ${{{ref}}}",
                    )
    for e in checklist.endings:
        check_refs(compile_expr(e.when), f"endings.{e.id}.when", len(checklist.steps))
    for d in checklist.derived:
        check_refs(compile_expr(d.expr), f"derived.{d.id}", None)
    for rep in checklist.repeats:
        for src in (rep.count, rep.when):
            if src is not None:
                check_refs(compile_expr(src), f"repeats.{rep.id}", index[rep.id])

    # Reachability, in step order so a step that can never be asked counts as always unanswered.
    reachable: dict[str, bool] = {}
    for s in checklist.steps:
        ok = True
        if s.when is not None:
            ok = satisfiable(compile_expr(s.when), checklist, reachable)
            if not ok:
                add("unreachable_step", f"steps.{s.id}", f"condition can never hold: {s.when}")
        reachable[s.id] = ok
        for n, ev in enumerate(s.evidence):
            if ok and ev.when is not None and not satisfiable(compile_expr(ev.when), checklist, reachable, s):
                add(
                    "evidence_never_applies",
                    f"steps.{s.id}.evidence[{n}]",
                    f"condition can never hold: {ev.when}",
                )
    for f in checklist.findings:
        if not satisfiable(compile_expr(f.when), checklist, reachable):
            add("finding_never_fires", f"findings.{f.id}", f"condition can never hold: {f.when}")
    for e in checklist.endings:
        if not satisfiable(compile_expr(e.when), checklist, reachable):
            add("ending_never_fires", f"endings.{e.id}", f"condition can never hold: {e.when}")
    return out


def _expand(paths: Sequence[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
        else:
            files.append(p)
    return files


def lint_paths(paths: Sequence[str | Path]) -> tuple[list[Checklist], list[Problem]]:
    """Load and lint definition files (directories: every *.yaml); return checklists and problems."""
    loaded: list[Checklist] = []
    problems: list[Problem] = []
    seen: dict[tuple[str, int], str] = {}
    for path in _expand(paths):
        name = str(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as err:
            problems.append(Problem(code="unreadable", message=str(err).splitlines()[0], file=name))
            continue
        try:
            cl = Checklist.model_validate(data)
        except ValidationError as err:
            for e in err.errors():
                where = ".".join(str(x) for x in e["loc"])
                problems.append(Problem(code="schema", where=where, message=e["msg"], file=name))
            continue
        key = (cl.id, cl.version)
        if key in seen:
            problems.append(
                Problem(
                    code="duplicate_checklist", message=f"{cl.key} is also defined in {seen[key]}", file=name
                )
            )
        seen[key] = name
        loaded.append(cl)
        problems += lint_checklist(cl, file=name)
    return loaded, problems
