"""Pydantic schema of a checklist definition (what a YAML file in `definitions/` contains)."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from checklists.expr import NAME_RE, Expr, ExprError, compile_expr
from checklists.messages import LocalizedText, lt
from contracts.visits import Decision as Decision

# one enum per meaning: the store's Visit and Finding columns hold these too
from contracts.vocab import FindingCategory as FindingCategory
from contracts.vocab import Outcome as Outcome
from contracts.vocab import Severity as Severity


class StepKind(StrEnum):
    """What kind of answer a step takes."""

    YES_NO = "yes_no"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    NUMBER = "number"
    TEXT = "text"
    PHOTO = "photo"
    LOCATION = "location"
    NOTE = "note"


class CoreMarker(StrEnum):
    """The three gates of 调查必入户、入户必见人、见人必见证; the bot gates these steps on evidence."""

    ENTERED = "entered"
    SEEN_PERSON = "seen_person"
    SEEN_DOCUMENTS = "seen_documents"


CATEGORY_LABELS: Final[dict[FindingCategory, LocalizedText]] = {
    FindingCategory.MERGED_SPLIT_HOUSEHOLD: lt("合户保/分户保", "merged or split household"),
    FindingCategory.FAVOUR: lt("人情保/关系保", "granted through favour or relationship"),
    FindingCategory.NOT_ELIGIBLE: lt("错保", "not eligible"),
    FindingCategory.MISSED: lt("漏保", "eligible but missed"),
    FindingCategory.FUNDS_MISUSE: lt("截留/挪用/虚报冒领", "money withheld, diverted or falsely claimed"),
    FindingCategory.PAID_AFTER_DEATH: lt("死亡未停保", "paid after death"),
    FindingCategory.HOUSEHOLD_SIZE_CHANGED: lt("家庭人口变化", "household size changed"),
    FindingCategory.NOT_NOTICED: lt("未公示", "not publicly noticed"),
    FindingCategory.PROCEDURE: lt("程序不规范", "procedure not followed"),
    FindingCategory.REFUSED_NOT_SEEN: lt("拒绝入户/未见人", "entry refused or person not seen"),
    FindingCategory.DISSATISFIED: lt("群众不满意", "resident dissatisfied"),
    FindingCategory.PRIVACY: lt("泄露隐私", "privacy exposed"),
    FindingCategory.OTHER: lt("其他问题", "other problem"),
}


def category_label(category: FindingCategory, lang: str | None = None) -> str:
    """The category's name as inspectors say it (zh-CN) or in English."""
    return CATEGORY_LABELS[category].get(lang)


OUTCOME_LABELS: Final[dict[Outcome, LocalizedText]] = {
    Outcome.COMPLETED: lt("已完成", "completed"),
    Outcome.REVISIT: lt("需再次走访", "revisit needed"),
    Outcome.REFUSED: lt("拒绝入户", "entry refused"),
    Outcome.NOT_FOUND: lt("查无此户/已搬离", "household not found or moved away"),
}

_ID_RE: Final = re.compile(NAME_RE.pattern)


def _compile_opt(src: str | None) -> Expr | None:
    return None if src is None else compile_expr(src)


def _check_expr(src: str | None) -> str | None:
    if src is None:
        return None
    try:
        compile_expr(src)
    except ExprError as err:
        raise ValueError(f"invalid expression {src!r}: {err}") from err
    return src


def _check_id(v: str) -> str:
    if not _ID_RE.fullmatch(v):
        raise ValueError(f"invalid id {v!r}: use letters, digits, '_', '-', '.'; start with a letter or '_'")
    return v


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


# ODK accepts spaces in the names of a select_one's choices; only a multiple choice (stored as
# space-separated names) needs names without whitespace. Never leading/trailing blanks or control chars.
_CHOICE_ID_RE: Final = re.compile(r"[^\s\x00-\x1f](?:[^\x00-\x1f]{0,198}[^\s\x00-\x1f])?")


class Choice(_Model):
    """One option of a choice or multi_choice step."""

    id: str
    label: LocalizedText
    exclusive: bool = False  # e.g. "none of these": cannot be combined with other options

    @field_validator("id")
    @classmethod
    def _v_id(cls, v: str) -> str:
        # XLSForm choice names are often numeric ("1", "2") and, in a select_one, may contain spaces.
        if not _CHOICE_ID_RE.fullmatch(v):
            raise ValueError(
                f"invalid choice id {v!r}: no leading or trailing blanks, at most 200 characters"
            )
        return v


class Validation(_Model):
    """Checks on an answer's value; which ones apply depends on the step kind."""

    min: float | None = None
    max: float | None = None
    integer: bool = False
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=0)
    pattern: str | None = None
    min_items: int | None = Field(default=None, ge=0)
    max_items: int | None = Field(default=None, ge=0)
    constraint: str | None = None  # an expression over `.` and earlier answers (XLSForm `constraint`)
    message: LocalizedText | None = None  # shown when `constraint` or `pattern` fails

    _v_constraint = field_validator("constraint")(classmethod(lambda cls, v: _check_expr(v)))

    @field_validator("pattern")
    @classmethod
    def _v_pattern(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as err:
                raise ValueError(f"invalid pattern {v!r}: {err}") from err
        return v


class EvidenceRule(_Model):
    """Photos that must accompany an answer, e.g. at least one photo when the answer is 'no'."""

    when: str | None = None  # expression over `.` (this answer) and earlier answers; None = always
    min_photos: int = Field(default=1, ge=1)
    message: LocalizedText | None = None

    _v_when = field_validator("when")(classmethod(lambda cls, v: _check_expr(v)))


class Step(_Model):
    """One question (or note) of a checklist."""

    id: str
    kind: StepKind
    label: LocalizedText
    help: LocalizedText | None = None
    required: bool = True
    when: str | None = None  # the step is asked only if this holds on earlier answers
    choices: list[Choice] = Field(default_factory=list)
    validation: Validation = Field(default_factory=Validation)
    evidence: list[EvidenceRule] = Field(default_factory=list)
    core: CoreMarker | None = None
    section: str | None = None
    repeat: str | None = None  # the repeat (e.g. household members) this step is asked in, once per member
    # number steps: the unit the answer is in (元, 人); typed after the number it is accepted and dropped
    unit: LocalizedText | None = None

    _v_id = field_validator("id")(classmethod(lambda cls, v: _check_id(v)))
    _v_when = field_validator("when")(classmethod(lambda cls, v: _check_expr(v)))

    @model_validator(mode="after")
    def _unit_on_numbers(self) -> Step:
        if self.unit is not None and self.kind is not StepKind.NUMBER:
            raise ValueError(f"step {self.id!r}: only number steps have a unit")
        if self.kind is StepKind.MULTI_CHOICE:
            for c in self.choices:
                if re.search(r"\s", c.id):  # as ODK: a multiple choice is stored as space-separated names
                    raise ValueError(f"step {self.id!r}: multiple-choice id {c.id!r} contains a space")
        return self

    _when: Expr | None = PrivateAttr(default=None)
    _constraint: Expr | None = PrivateAttr(default=None)
    _pattern: re.Pattern[str] | None = PrivateAttr(default=None)
    _choice_ids: dict[str, Choice] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        """Compile expressions once so the engine never re-parses them."""
        self._when = _compile_opt(self.when)
        self._constraint = _compile_opt(self.validation.constraint)
        self._pattern = re.compile(self.validation.pattern) if self.validation.pattern else None
        self._choice_ids = {c.id: c for c in self.choices}

    def unit_words(self) -> tuple[str, ...]:
        """The unit as it may be typed after the number, in either language (none if undeclared)."""
        if self.unit is None:
            return ()
        return tuple(w for w in (self.unit.zh_CN, self.unit.en) if w.strip())

    def choice(self, choice_id: str) -> Choice | None:
        """Return the choice with this id, if any."""
        return self._choice_ids.get(choice_id)

    def condition(self) -> Expr | None:
        """Return the compiled `when` expression."""
        return self._when


class RuleKind(StrEnum):
    """What a rule's hit is: a lead to verify, a proven finding, or a flag on the visit itself.

    A rule yields a `lead` (疑点待核) unless the answers prove the problem; only a `finding` of a
    serious severity alerts supervisors. A `flag` is about the visit's own validity (team too small,
    a cadre present) and never lands on the household or village.
    """

    LEAD = "lead"
    FINDING = "finding"
    FLAG = "flag"


class FindingRule(_Model):
    """A condition on the answers (and the register context) that yields a lead, finding or flag."""

    id: str
    when: str
    kind: RuleKind = RuleKind.LEAD
    category: FindingCategory
    severity: Severity
    message: LocalizedText  # may contain ${step_id} placeholders, filled with the answers
    steps: list[str] = Field(default_factory=list)  # extra steps to cite besides those in `when`

    _v_id = field_validator("id")(classmethod(lambda cls, v: _check_id(v)))
    _v_when = field_validator("when")(classmethod(lambda cls, v: _check_expr(v)))


class Ending(_Model):
    """A condition that ends the checklist early with an outcome (e.g. nobody home → revisit)."""

    id: str
    when: str
    outcome: Outcome
    message: LocalizedText
    decision: Decision = Decision.RECHECK  # the visit's conclusion when it ends here

    _v_id = field_validator("id")(classmethod(lambda cls, v: _check_id(v)))
    _v_when = field_validator("when")(classmethod(lambda cls, v: _check_expr(v)))


class Derived(_Model):
    """A number computed from answers and context (e.g. money short = amount × months − credited)."""

    id: str
    expr: str
    label: LocalizedText | None = None

    _v_id = field_validator("id")(classmethod(lambda cls, v: _check_id(v)))
    _v_expr = field_validator("expr")(classmethod(lambda cls, v: _check_expr(v)))


class ConclusionSpec(_Model):
    """Which steps hold the visit's structured conclusion: the decision and its typed numbers."""

    decision: str  # a choice step whose ids are `Decision` values
    fields: dict[str, str] = Field(default_factory=dict)  # conclusion field → step or derived id


class Section(_Model):
    """A titled group of steps (XLSForm `begin group`)."""

    id: str
    title: LocalizedText


class Repeat(_Model):
    """Steps asked once per member (XLSForm `begin repeat`): `count` times, or while "add another?" is yes."""

    id: str
    title: LocalizedText
    count: str | None = None  # expression over earlier answers (XLSForm `repeat_count`)
    when: str | None = None  # the repeat is entered only if this holds on earlier answers
    max: int = Field(default=30, ge=1, le=200)  # an upper bound on members, counted or added

    _v_id = field_validator("id")(classmethod(lambda cls, v: _check_id(v)))
    _v_count = field_validator("count")(classmethod(lambda cls, v: _check_expr(v)))
    _v_when = field_validator("when")(classmethod(lambda cls, v: _check_expr(v)))


class Checklist(_Model):
    """A versioned checklist: steps in order, findings rules and early endings."""

    id: str
    version: int = Field(ge=1)
    title: LocalizedText
    description: LocalizedText | None = None
    sections: list[Section] = Field(default_factory=list)
    repeats: list[Repeat] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)
    findings: list[FindingRule] = Field(default_factory=list)
    endings: list[Ending] = Field(default_factory=list)
    # names the store supplies from the register and county settings (reg_amount, money_tolerance, …);
    # finding rules and derived numbers may read them, step conditions may not (the bot has none)
    context: list[str] = Field(default_factory=list)
    derived: list[Derived] = Field(default_factory=list)
    conclusion: ConclusionSpec | None = None
    source: str | None = None  # where an imported checklist came from

    _v_id = field_validator("id")(classmethod(lambda cls, v: _check_id(v)))

    _index: dict[str, int] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _unique_ids(self) -> Checklist:
        # Duplicate step ids would make answers ambiguous; they are a schema error, not a lint warning.
        seen: set[str] = set()
        for s in self.steps:
            if s.id in seen:
                raise ValueError(f"duplicate step id {s.id!r}")
            seen.add(s.id)
        # A repeat's steps are one contiguous block; its id names it in expressions (count(${members})).
        done: set[str] = set()
        current: str | None = None
        for s in self.steps:
            if s.repeat != current:
                if current is not None:
                    done.add(current)
                if s.repeat is not None and s.repeat in done:
                    raise ValueError(f"the steps of repeat {s.repeat!r} must be consecutive")
                current = s.repeat
        rids = [r.id for r in self.repeats]
        for r in self.repeats:
            if r.id in seen or rids.count(r.id) > 1:
                raise ValueError(f"repeat id {r.id!r} is also used by a step or another repeat")
            if r.id not in done and r.id != current:
                raise ValueError(f"repeat {r.id!r} has no steps")
        unknown = {s.repeat for s in self.steps if s.repeat is not None} - set(rids)
        if unknown:
            raise ValueError(f"unknown repeat {sorted(unknown)[0]!r}")
        return self

    def model_post_init(self, context: Any, /) -> None:
        """Index steps by id."""
        self._index = {s.id: i for i, s in enumerate(self.steps)}

    @property
    def key(self) -> str:
        """`id@version`, the pinned identity of a checklist."""
        return f"{self.id}@{self.version}"

    def repeat(self, repeat_id: str) -> Repeat | None:
        """Return the repeat with this id, if any."""
        return next((r for r in self.repeats if r.id == repeat_id), None)

    def step(self, step_id: str) -> Step | None:
        """Return the step with this id, if any."""
        i = self._index.get(step_id)
        return None if i is None else self.steps[i]

    def index_of(self, step_id: str) -> int | None:
        """Return the position of a step, if it exists."""
        return self._index.get(step_id)
