"""Feijian checklists: YAML definitions, a pure deterministic engine, XLSForm import and lint.

This package is pure: no web framework, messenger or database imports. The bot uses it to converse,
the store uses it to replay a finished visit and recompute its findings.

Public API (all functions are pure; `State` is immutable and JSON-serializable):

    load_checklist(checklist_id, version=None) -> Checklist     # latest shipped version unless pinned
    list_checklists(all_versions=False) -> list[ChecklistInfo]
    start(checklist) -> State                                   # pins checklist id + version
    next_step(checklist, state) -> Step | None                  # None once finished or ended early
    answer(checklist, state, step_id, raw_value, lang=None, *, evidence=()) -> State
        # raises ChecklistError; err.message(lang) gives zh-CN (default) or en text
    back(checklist, state) -> State                             # undo the last answer
    is_complete(checklist, state) -> bool
    outcome(checklist, state) -> Outcome | None                 # completed / revisit / refused / not_found
    summary(checklist, state, lang=None) -> Summary             # Summary.text(lang) renders it
    findings(checklist, state, context=None) -> list[Finding]  # kind (lead/finding/flag), category,
        # severity, step ids, zh-CN/en message; `context`: the register and county values declared
    conclusion(checklist, state, context=None) -> Conclusion | None   # 符合/调档/清退/补发/再核/移送纪检
    replay(checklist, answers) -> State            # the store's re-validation; raises on a bad answer
    core_status(checklist, state) -> dict[CoreMarker, bool | None]
    required_evidence(checklist, state, step_id, raw_value) -> int   # photos the bot must collect first

Answer values: yes_no → "yes"/"no"; choice → choice id; multi_choice → list of ids in choice order;
number → int or float; text → str; photo → list of evidence ids; location → {"lat": .., "lon": ..};
note → None; a skipped optional step → None. Evidence photos for a step (e.g. "a photo when the
answer is no") travel beside the value as `evidence=[ids]`; the engine checks counts, not bytes.

Steps marked `core` (entered, seen_person, seen_documents) are the gates of
调查必入户、入户必见人、见人必见证 in `home_visit`; the bot should require their evidence.

Typed numbers go through one strict parser, `parse_number(raw, integer=, negative=, units=)` (also
behind `answer` for number steps): ASCII or full-width digits, one point, the step's `unit` after the
number; exponents, digit grouping, NaN/inf are refused, and a decimal comma ("3,5") raises
`AmbiguousNumber` (a ChecklistError whose `candidate` is 3.5) for the conversation to confirm.

Also: `import_xlsform(path)` (ODK/Kobo XLSForm → Checklist, refusing what it cannot represent) and
`lint_checklist` / `lint_paths` (the checks behind `feijian checklists check`).
"""

from checklists.engine import (
    Answer,
    Finding,
    State,
    Summary,
    SummaryItem,
    answer,
    back,
    conclusion,
    core_status,
    current_member,
    current_values,
    display_value,
    findings,
    is_complete,
    next_step,
    outcome,
    parse_value,
    replay,
    required_evidence,
    rule_env,
    start,
    summary,
)
from checklists.lint import Problem, lint_checklist, lint_paths
from checklists.messages import ChecklistError, Lang, LocalizedText, normalize_lang
from checklists.numbers import AmbiguousNumber, canonical_number, parse_number
from checklists.registry import (
    ChecklistInfo,
    dump_checklist_yaml,
    list_checklists,
    load_checklist,
    load_checklist_file,
    parse_checklist,
)
from checklists.schema import (
    CATEGORY_LABELS,
    OUTCOME_LABELS,
    Checklist,
    Choice,
    CoreMarker,
    Ending,
    EvidenceRule,
    FindingCategory,
    FindingRule,
    Outcome,
    Repeat,
    RuleKind,
    Severity,
    Step,
    StepKind,
    Validation,
    category_label,
)

__all__ = [
    "CATEGORY_LABELS",
    "OUTCOME_LABELS",
    "AmbiguousNumber",
    "Answer",
    "Checklist",
    "ChecklistError",
    "ChecklistInfo",
    "Choice",
    "CoreMarker",
    "Ending",
    "EvidenceRule",
    "Finding",
    "FindingCategory",
    "FindingRule",
    "Lang",
    "LocalizedText",
    "Outcome",
    "Problem",
    "Repeat",
    "RuleKind",
    "Severity",
    "State",
    "Step",
    "StepKind",
    "Summary",
    "SummaryItem",
    "Validation",
    "answer",
    "back",
    "canonical_number",
    "category_label",
    "conclusion",
    "core_status",
    "current_member",
    "current_values",
    "display_value",
    "dump_checklist_yaml",
    "findings",
    "is_complete",
    "lint_checklist",
    "lint_paths",
    "list_checklists",
    "load_checklist",
    "load_checklist_file",
    "next_step",
    "normalize_lang",
    "outcome",
    "parse_checklist",
    "parse_number",
    "parse_value",
    "replay",
    "required_evidence",
    "rule_env",
    "start",
    "summary",
]
