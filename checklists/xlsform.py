"""Import an ODK/Kobo XLSForm as a Feijian checklist, refusing what cannot be represented faithfully.

pyxform reads the workbook (xlsx, xls, csv or markdown; sheet names case-insensitive) and provides the
XLSForm aliases; the interpretation is ours so that every refusal can name the sheet row and the
construct. Supported: select_one, select_multiple, integer, decimal, text, note, image/photo,
geopoint, begin/end group (with `relevant`), required (yes/no/true/false), relevant and constraint
in the expression subset of `checklists.expr` (comparisons, and/or/not, selected(), count-selected(),
string-length(), regex()), constraint_message, hints, and labels in any number of languages
(`label::Chinese (zh)`, `label::English (en)`, `label::english`, `LABEL::EN`, ...). Metadata rows
(start, end, today, deviceid, ...) carry no question and are skipped with a note; presentation-only
columns (appearance, default, parameters, media) are ignored with a note. Everything else
(repeats, calculate, choice_filter, external or file-based selects, date/time, audio, video, file,
barcode, ...) refuses the whole form with one problem per row, never a silent drop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError
from pyxform import aliases, constants
from pyxform.errors import PyXFormError
from pyxform.xls2json_backends import get_xlsform

from checklists.expr import NAME_RE, ExprError, compile_expr
from checklists.lint import lint_checklist
from checklists.messages import LocalizedText
from checklists.schema import Checklist, Choice, Section, Step, StepKind, Validation

METADATA_TYPES: Final = frozenset(
    {
        "start",
        "end",
        "today",
        "deviceid",
        "imei",
        "username",
        "phonenumber",
        "simserial",
        "subscriberid",
        "email",
        "audit",
        "start-geopoint",
        "uri:deviceid",
        "uri:username",
        "uri:email",
        "uri:phonenumber",
        "uri:subscriberid",
        "uri:simserial",
    }
)
_SIMPLE_TYPES: Final[dict[str, tuple[StepKind, bool]]] = {
    "integer": (StepKind.NUMBER, True),
    "int": (StepKind.NUMBER, True),
    "decimal": (StepKind.NUMBER, False),
    "text": (StepKind.TEXT, False),
    "string": (StepKind.TEXT, False),
    "note": (StepKind.NOTE, False),
    "image": (StepKind.PHOTO, False),
    "photo": (StepKind.PHOTO, False),  # pyxform's own alias for image
    "add image prompt": (StepKind.PHOTO, False),
    "add photo prompt": (StepKind.PHOTO, False),
    "geopoint": (StepKind.LOCATION, False),
    "location": (StepKind.LOCATION, False),
}
_GROUP_RE: Final = re.compile(r"(begin|end)[ _]?(group|repeat|loop|lgroup|looped group)")
# Survey columns and their canonical names (pyxform accepts these spellings too).
_COLUMN_ALIASES: Final = {
    "relevance": "relevant",
    "constraining_message": "constraint_message",
    "requiredmsg": "required_message",
    "calculate": "calculation",
    "caption": "label",
    "count": "repeat_count",
    "jr:count": "repeat_count",
    "readonly": "read_only",
}
_TRANSLATABLE: Final = frozenset({"label", "hint", "constraint_message", "required_message"})
_HANDLED: Final = frozenset({"type", "name", "required", "relevant", "constraint"}) | _TRANSLATABLE
_REFUSED_COLUMNS: Final = {
    "calculation": "calculation",
    "choice_filter": "choice_filter (cascading selects)",
    "repeat_count": "repeat_count",
    "trigger": "trigger",
}
_IGNORED_COLUMNS: Final = frozenset(
    {
        "appearance",
        "default",
        "parameters",
        "image",
        "big-image",
        "audio",
        "video",
        "media::image",
        "media::audio",
        "media::video",
        "guidance_hint",
        "autoplay",
        "rows",
    }
)
_DATETIME_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """A construct the importer refused (or, as a note, ignored): sheet, row, column and what it was."""

    sheet: str
    row: int | None
    column: str | None
    construct: str
    message: str

    def __str__(self) -> str:
        """Render as `survey row 12 (relevant): construct: message`."""
        where = self.sheet + (f" row {self.row}" if self.row is not None else "")
        if self.column:
            where += f" ({self.column})"
        return f"{where}: {self.construct}: {self.message}"


class XLSFormRefused(Exception):
    """The form uses constructs Feijian cannot represent; `problems` names each of them."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"XLSForm refused ({len(problems)} problem(s)):\n{lines}")


@dataclass(slots=True)
class ImportResult:
    """An imported checklist plus notes on what was skipped or ignored (never silently)."""

    checklist: Checklist
    notes: list[ImportProblem] = field(default_factory=list)


def _lang_slot(tag: str | None) -> str:
    """Classify a language tag as 'zh-CN', 'en', or 'other' ('default' for an untagged column)."""
    if tag is None:
        return "default"
    t = tag.strip().lower()
    m = re.search(r"\(\s*([a-z]{2,3})(?:[-_][a-z0-9]+)*\s*\)", t)
    code = m.group(1) if m else re.split(r"[-_\s(]", t, maxsplit=1)[0]
    if code in ("zh", "zho", "chi", "chinese", "中文", "汉语", "简体中文", "繁體中文", "繁体中文"):
        return "zh-CN"
    if code in ("en", "eng", "english"):
        return "en"
    if "chinese" in t or "中文" in t:
        return "zh-CN"
    if "english" in t:
        return "en"
    return "other"


def _split_col(key: str) -> tuple[str, str | None]:
    base, sep, lang = key.partition("::")
    col = base.strip().lower()
    col = _COLUMN_ALIASES.get(col, col)
    return col, (lang.strip() if sep else None)


class _Importer:
    def __init__(self, source: str | Path | bytes, checklist_id: str | None, version: int | None) -> None:
        self.source = source
        self.checklist_id = checklist_id
        self.version = version
        self.problems: list[ImportProblem] = []
        self.notes: list[ImportProblem] = []
        self.default_slot = "default"
        self.missing_lang: dict[str, list[int]] = {"zh-CN": [], "en": []}
        self.ignored_cols: dict[str, list[int]] = {}
        self.bad_choice_names: dict[str, list[tuple[int, str]]] = {}

    def refuse(
        self, sheet: str, row: int | None, construct: str, message: str, column: str | None = None
    ) -> None:
        self.problems.append(
            ImportProblem(sheet=sheet, row=row, column=column, construct=construct, message=message)
        )

    def note(
        self, sheet: str, row: int | None, construct: str, message: str, column: str | None = None
    ) -> None:
        self.notes.append(
            ImportProblem(sheet=sheet, row=row, column=column, construct=construct, message=message)
        )

    # -- texts ---------------------------------------------------------------------------------

    def text(self, row: dict[str, Any], col: str, rownum: int, track: bool = True) -> LocalizedText | None:
        slots: dict[str, str] = {}
        for key, val in row.items():
            c, lang = _split_col(key)
            if c != col or val is None or not str(val).strip():
                continue
            slot = self.default_slot if lang is None else _lang_slot(lang)
            slots.setdefault(slot, str(val).strip())
        if not slots:
            return None
        zh = slots.get("zh-CN")
        en = slots.get("en")
        fallback = slots.get("default") or en or zh or slots.get("other", "")
        if track:
            if not zh:
                self.missing_lang["zh-CN"].append(rownum)
            if not en:
                self.missing_lang["en"].append(rownum)
        return LocalizedText(zh_CN=zh or fallback, en=en or slots.get("default") or zh or fallback)

    # -- main ----------------------------------------------------------------------------------

    def run(self) -> ImportResult:
        try:
            data = get_xlsform(self.source)
        except (PyXFormError, OSError, ValueError) as err:
            self.refuse("file", None, "unreadable workbook", str(err))
            raise XLSFormRefused(self.problems) from err
        settings = {_split_col(k)[0]: v for k, v in ((data.settings or [{}]) or [{}])[0].items()}
        if settings.get("default_language"):
            self.default_slot = _lang_slot(str(settings["default_language"]))
        survey = list(data.survey or [])
        if not any(survey):
            self.refuse("survey", None, "no survey", "the workbook has no survey sheet or it is empty")
            raise XLSFormRefused(self.problems)
        for sheet in ("entities", "osm"):
            rows = getattr(data, sheet, None) or []
            if any(rows):
                self.refuse(sheet, None, f"{sheet} sheet", f"the {sheet} sheet is not supported")
        choices = self.read_choices(list(data.choices or []))
        steps, sections, rows_of = self.read_survey(survey, choices)
        cid, version, title = self.identity(settings)
        if self.problems:
            raise XLSFormRefused(self.problems)
        if not steps:
            self.refuse("survey", None, "no questions", "the form has no question Feijian can ask")
            raise XLSFormRefused(self.problems)
        for lang, rownums in self.missing_lang.items():
            if rownums:
                self.note(
                    "survey",
                    rownums[0],
                    f"missing {lang} text",
                    f"{len(rownums)} row(s) have no {lang} label or hint; the other language's text is used",
                )
        for col, rownums in self.ignored_cols.items():
            self.note(
                "survey", rownums[0], f"column {col}", f"ignored on {len(rownums)} row(s) (presentation only)"
            )
        name = Path(self.source).name if isinstance(self.source, str | Path) else "upload"
        try:
            cl = Checklist(
                id=cid, version=version, title=title, sections=sections, steps=steps, source=f"xlsform:{name}"
            )
        except ValidationError as err:
            for e in err.errors():
                self.refuse("survey", None, "invalid form", f"{'.'.join(map(str, e['loc']))}: {e['msg']}")
            raise XLSFormRefused(self.problems) from err
        for p in lint_checklist(cl):
            if p.code == "missing_translation":
                continue
            sid = p.where.split(".")[1] if p.where.startswith("steps.") else None
            self.refuse(
                "survey", rows_of.get(sid or ""), p.code.replace("_", " "), p.message, column="relevant"
            )
        if self.problems:
            raise XLSFormRefused(self.problems)
        return ImportResult(checklist=cl, notes=self.notes)

    def identity(self, settings: dict[str, Any]) -> tuple[str, int, LocalizedText]:
        stem = Path(self.source).stem if isinstance(self.source, str | Path) else "imported_form"
        form_id = str(settings.get("form_id") or settings.get("id_string") or "").strip()
        if self.checklist_id:
            cid = self.checklist_id
        elif form_id and not _DATETIME_RE.match(form_id):
            cid = form_id
        else:
            if form_id:
                self.note(
                    "settings", 2, "form_id", f"form_id {form_id!r} looks like a date; the file name is used"
                )
            cid = stem
        cid = re.sub(r"[^a-z0-9_]+", "_", cid.lower()).strip("_") or "imported_form"
        if cid[0].isdigit():
            cid = "form_" + cid
        if self.version is not None:
            version = self.version
        else:
            raw = str(settings.get("version") or "").strip()
            version = int(raw) if raw.isdigit() and 0 < int(raw) < 2**31 else 1
            if raw and version == 1 and raw != "1":
                self.note(
                    "settings", 2, "version", f"version {raw!r} is not a whole number; version 1 is used"
                )
        title_raw = str(settings.get("form_title") or settings.get("title") or cid).strip()
        return cid, version, LocalizedText(zh_CN=title_raw, en=title_raw)

    def read_choices(self, rows: list[dict[str, Any]]) -> dict[str, list[Choice]]:
        lists: dict[str, list[Choice]] = {}
        seen: dict[tuple[str, str], int] = {}
        for n, row in enumerate(rows, start=2):
            if not row:
                continue
            cols = {_split_col(k)[0]: v for k, v in row.items()}
            list_name = str(cols.get("list_name") or cols.get("list name") or "").strip()
            name = str(cols.get("name") or cols.get("value") or "").strip()
            if not list_name or not name:
                self.refuse("choices", n, "choice row", "a choice needs list_name and name")
                continue
            if (list_name, name) in seen:
                self.refuse(
                    "choices",
                    n,
                    "duplicate choice",
                    f"{name!r} appears twice in list {list_name!r} (also row {seen[(list_name, name)]})",
                )
                continue
            seen[(list_name, name)] = n
            if re.search(r"[\s,]", name):
                # Only a problem if a question uses the list; remembered and checked there.
                self.bad_choice_names.setdefault(list_name, []).append((n, name))
                continue
            label = self.text(row, "label", n, track=False)
            if label is None:
                self.note(
                    "choices", n, "choice without label", f"choice {name!r} has no label; its name is shown"
                )
                label = LocalizedText(zh_CN=name, en=name)
            lists.setdefault(list_name, []).append(Choice(id=name, label=label))
        return lists

    def read_survey(
        self, rows: list[dict[str, Any]], choices: dict[str, list[Choice]]
    ) -> tuple[list[Step], list[Section], dict[str, int]]:
        steps: list[Step] = []
        sections: list[Section] = []
        stack: list[tuple[str, int, str | None, str | None]] = []  # kind, row, condition, section id
        names: dict[str, int] = {}
        imported: set[str] = set()
        skipped: dict[str, str] = {}
        rows_of: dict[str, int] = {}
        for n, row in enumerate(rows, start=2):
            if not row:
                continue
            cols: dict[str, Any] = {}
            for key, val in row.items():
                c, _lang = _split_col(key)
                cols.setdefault(c, val)
            raw_type = " ".join(str(cols.get("type") or "").split())
            name = str(cols.get("name") or "").strip()
            tl = raw_type.lower()
            if not raw_type:
                if name or any(k in cols for k in ("label", "relevant")):
                    self.refuse("survey", n, "missing type", "row has content but no type", column="type")
                continue
            m = _GROUP_RE.fullmatch(tl)
            if m:
                self.group(
                    m.group(1), m.group(2), n, name, row, cols, stack, sections, imported, skipped, steps
                )
                continue
            if tl in METADATA_TYPES:
                self.note("survey", n, f"metadata {tl}", "metadata is not a question; skipped")
                if name:
                    skipped[name] = f"metadata {tl}"
                continue
            spec = self.question_type(raw_type, tl, n, choices)
            if name:
                if name in names:
                    self.refuse(
                        "survey", n, "duplicate name", f"name {name!r} is also used on row {names[name]}"
                    )
                    continue
                names[name] = n
            if spec is None:
                if name:
                    skipped[name] = raw_type
                continue
            kind, integer, step_choices = spec
            if not name:
                if kind is StepKind.NOTE:
                    name = f"note_row{n}"
                else:
                    self.refuse(
                        "survey", n, "missing name", f"{raw_type} question without a name", column="name"
                    )
                    continue
            if not NAME_RE.fullmatch(name):
                self.refuse(
                    "survey", n, "invalid name", f"name {name!r} is not a valid identifier", column="name"
                )
                continue
            step = self.question(n, name, kind, integer, step_choices, row, cols, stack, imported, skipped)
            if step is not None:
                steps.append(step)
                imported.add(name)
                rows_of[name] = n
        for open_kind, rownum, _c, _s in stack:
            self.refuse("survey", rownum, f"begin {open_kind}", f"begin {open_kind} without a matching end")
        return steps, sections, rows_of

    def group(
        self,
        which: str,
        kind: str,
        n: int,
        name: str,
        row: dict[str, Any],
        cols: dict[str, Any],
        stack: list[tuple[str, int, str | None, str | None]],
        sections: list[Section],
        imported: set[str],
        skipped: dict[str, str],
        steps: list[Step],
    ) -> None:
        kind = "group" if kind == "group" else "repeat"
        if which == "end":
            if not stack or stack[-1][0] != kind:
                self.refuse("survey", n, f"end {kind}", f"end {kind} without a matching begin {kind}")
                return
            stack.pop()
            return
        if kind == "repeat":
            self.refuse("survey", n, "repeat", f"begin repeat {name!r}: repeated sections are not supported")
            stack.append((kind, n, None, stack[-1][3] if stack else None))
            return
        cond = None
        if cols.get("relevant") is not None:
            cond = self.expression(str(cols["relevant"]), n, "relevant", imported, skipped, None)
        for col in cols:
            if col in _REFUSED_COLUMNS:
                self.refuse("survey", n, _REFUSED_COLUMNS[col], f"{col} is not supported", column=col)
        section_id = None
        label = self.text(row, "label", n, track=False)
        if name and NAME_RE.fullmatch(name):
            section_id = name if name not in {s.id for s in sections} else f"{name}_{n}"
            sections.append(Section(id=section_id, title=label or LocalizedText(zh_CN=name, en=name)))
        stack.append((kind, n, cond, section_id if section_id else (stack[-1][3] if stack else None)))

    def question_type(
        self, raw_type: str, tl: str, n: int, choices: dict[str, list[Choice]]
    ) -> tuple[StepKind, bool, list[Choice]] | None:
        if tl in _SIMPLE_TYPES:
            kind, integer = _SIMPLE_TYPES[tl]
            return kind, integer, []
        for alias in sorted(aliases.select, key=len, reverse=True):
            if tl == alias or tl.startswith(alias + " "):
                target = aliases.select[alias]
                rest = raw_type[len(alias) :].strip()
                if alias in aliases.select_from_file or target not in (
                    constants.SELECT_ONE,
                    constants.SELECT_ALL_THAT_APPLY,
                ):
                    self.refuse(
                        "survey", n, alias, f"question type {raw_type!r} is not supported", column="type"
                    )
                    return None
                parts = rest.split()
                if len(parts) == 2 and parts[1].lower() == "or_other":
                    self.refuse(
                        "survey", n, "or_other", "select ... or_other is not supported", column="type"
                    )
                    return None
                if len(parts) != 1:
                    self.refuse(
                        "survey", n, alias, f"{raw_type!r}: expected one choice list name", column="type"
                    )
                    return None
                for crow, cname in self.bad_choice_names.pop(parts[0], []):
                    self.refuse("choices", crow, "choice name", f"{cname!r} contains spaces or commas")
                if parts[0] not in choices:
                    self.refuse("survey", n, alias, f"choice list {parts[0]!r} is not on the choices sheet")
                    return None
                kind = StepKind.CHOICE if target == constants.SELECT_ONE else StepKind.MULTI_CHOICE
                return kind, False, choices[parts[0]]
        self.refuse("survey", n, raw_type, f"question type {raw_type!r} is not supported", column="type")
        return None

    def expression(
        self,
        src: str,
        n: int,
        column: str,
        imported: set[str],
        skipped: dict[str, str],
        self_name: str | None,
    ) -> str | None:
        if self_name is not None:
            # `${me}` inside my own constraint means the value being checked.
            src = re.sub(r"\$\{\s*" + re.escape(self_name) + r"\s*\}", ".", src)
        try:
            expr = compile_expr(src)
        except ExprError as err:
            self.refuse("survey", n, f"{column} expression", f"{src!r}: {err}", column=column)
            return None
        ok = True
        for ref in sorted(expr.refs):
            if ref in imported:
                continue
            ok = False
            if ref in skipped:
                why = f"${{{ref}}} ({skipped[ref]}) is not imported"
            else:
                why = f"${{{ref}}} is not an earlier question"
            self.refuse("survey", n, f"{column} reference", f"{src!r}: {why}", column=column)
        if expr.uses_dot and column == "relevant":
            self.refuse(
                "survey", n, "relevant expression", f"{src!r}: '.' is only meaningful in a constraint"
            )
            ok = False
        return src if ok else None

    def question(
        self,
        n: int,
        name: str,
        kind: StepKind,
        integer: bool,
        step_choices: list[Choice],
        row: dict[str, Any],
        cols: dict[str, Any],
        stack: list[tuple[str, int, str | None, str | None]],
        imported: set[str],
        skipped: dict[str, str],
    ) -> Step | None:
        ok = True
        for col in cols:
            if col in _HANDLED:
                continue
            if col in _REFUSED_COLUMNS:
                self.refuse("survey", n, _REFUSED_COLUMNS[col], f"{col} is not supported", column=col)
                ok = False
            elif col == "read_only" and str(cols[col]).strip().lower() in ("yes", "true", "true()"):
                self.refuse("survey", n, "read_only", "read-only questions cannot be answered", column=col)
                ok = False
            elif (
                col == "appearance"
                and kind is StepKind.PHOTO
                and str(cols[col]).strip().lower() in ("draw", "annotate")
            ):
                self.refuse(
                    "survey",
                    n,
                    f"image appearance {cols[col]}",
                    "drawing on or annotating an image is not supported",
                )
                ok = False
            else:
                self.ignored_cols.setdefault(
                    col if col in _IGNORED_COLUMNS else f"{col} (unknown)", []
                ).append(n)
        required = False
        if cols.get("required") is not None:
            raw = str(cols["required"]).strip().lstrip("=").strip()
            flag = aliases.yes_no.get(raw, aliases.yes_no.get(raw.lower()))
            if flag is None:
                self.refuse("survey", n, "required expression", f"required {raw!r}: only yes/no is supported")
                ok = False
            else:
                required = bool(flag)
        conds = [c for (_k, _r, c, _s) in stack if c is not None]
        if cols.get("relevant") is not None:
            rel = self.expression(str(cols["relevant"]), n, "relevant", imported, skipped, None)
            if rel is None:
                ok = False
            else:
                conds.append(rel)
        constraint = None
        if cols.get("constraint") is not None:
            constraint = self.expression(str(cols["constraint"]), n, "constraint", imported, skipped, name)
            ok = ok and constraint is not None
        label = self.text(row, "label", n)
        if label is None:
            if kind is StepKind.NOTE:
                self.note("survey", n, "note without text", "a note with no label is skipped")
                return None
            self.note("survey", n, "question without label", f"{name!r} has no label; its name is shown")
            label = LocalizedText(zh_CN=name, en=name)
        if not ok:
            return None
        when = None
        if conds:
            when = conds[0] if len(conds) == 1 else " and ".join(f"({c})" for c in conds)
        validation = Validation(
            integer=integer,
            constraint=constraint,
            message=self.text(row, "constraint_message", n, track=False),
            # XLSForm has no lower bound on a select_multiple; an empty selection is "not answered".
            min_items=1 if kind in (StepKind.MULTI_CHOICE, StepKind.PHOTO) else None,
            max_items=1 if kind is StepKind.PHOTO else None,
        )
        return Step(
            id=name,
            kind=kind,
            label=label,
            help=self.text(row, "hint", n, track=False),
            required=required and kind is not StepKind.NOTE,
            when=when,
            choices=step_choices,
            validation=validation,
            section=stack[-1][3] if stack else None,
        )


def import_xlsform(
    source: str | Path | bytes, *, checklist_id: str | None = None, version: int | None = None
) -> ImportResult:
    """Turn an XLSForm into a Checklist, or raise XLSFormRefused naming every unsupported construct."""
    return _Importer(source, checklist_id, version).run()
