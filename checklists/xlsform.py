"""Import an ODK/Kobo XLSForm as a Feijian checklist: import what can be imported, name what cannot.

pyxform reads the workbook (xlsx, xls, csv or markdown; sheet names case-insensitive) and provides the
XLSForm aliases; the interpretation is ours so that every refusal can name the sheet row and the
construct. Supported: select_one, select_multiple, integer, decimal, text, note, image/photo,
geopoint, begin/end group (with `relevant`), begin/end repeat (with or without `repeat_count`; not
nested), required (yes/no/true/false), relevant and constraint
in the expression subset of `checklists.expr` (comparisons, and/or/not, selected(), count-selected(),
string-length(), regex(), count()/sum()/max()/min() over a repeat), constraint_message, hints,
and labels in any number of languages
(`label::Chinese (zh)`, `label::English (en)`, `label::english`, `LABEL::EN`, ...). Metadata rows
(start, end, today, deviceid, ...) carry no question and are skipped with a note; presentation-only
columns (appearance, default, parameters, media) are ignored with a note. Choice lists may come
from a file beside the form (`select_one_from_file`, CSV, XML or GeoJSON, from `media_dir`).
Typographic quotes in expressions are read as plain quotes and HTML is stripped from texts (notes).

Everything else (calculate, date/time, audio, video, file, barcode, unsupported functions, ...) is
a problem with its sheet row. By default the import is partial: the row is left out with a warning
(and so is every step whose condition depends on it), a column that only refines a question
(choice_filter, a constraint we cannot evaluate) is dropped from it, and the rest is imported.
With `strict=True` any problem refuses the whole form. Never a silent drop, never a traceback.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final
from xml.etree import ElementTree

from defusedxml import ElementTree as defused_et
from pydantic import ValidationError
from pyxform import aliases, constants
from pyxform.question_type_dictionary import QUESTION_TYPE_DICT
from pyxform.xls2json_backends import get_xlsform

from checklists.expr import NAME_RE, ExprError, compile_expr
from checklists.lint import lint_checklist
from checklists.messages import LocalizedText
from checklists.schema import Checklist, Choice, Repeat, Section, Step, StepKind, Validation

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
# Columns that refine a question in a way Feijian cannot follow; the question is kept without them.
_REFUSED_COLUMNS: Final = {
    "calculation": ("calculation", "the value is not computed; the inspector answers it"),
    "choice_filter": ("choice_filter (cascading selects)", "every choice of the list is offered"),
    "repeat_count": ("repeat_count", "only a repeat can have a count"),
    "trigger": ("trigger", "the question is not recalculated"),
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


_QUOTES: Final = str.maketrans(
    {"“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'"}
)
_BR_RE: Final = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_TAG_RE: Final = re.compile(r"<\s*/?\s*[A-Za-z][^<>]*>")
_FILE_EXTENSIONS: Final = (".csv", ".xml", ".geojson")


def strip_html(text: str) -> str:
    """Plain text from a label with HTML markup (`<span style=...>`, `<b>`, `<br>`, entities)."""
    out = _TAG_RE.sub("", _BR_RE.sub("\n", text))
    out = html.unescape(out)
    return "\n".join(" ".join(line.split()) for line in out.splitlines()).strip()


def _reader_message(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:300] if text else type(err).__name__


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """A construct the importer refused, left out or ignored: sheet, row, column, what, and its effect."""

    sheet: str
    row: int | None
    column: str | None
    construct: str
    message: str
    effect: str = ""  # in a partial import: what happened instead (row left out, column ignored, ...)

    def __str__(self) -> str:
        """Render as `survey row 12 (relevant): construct: message [effect]`."""
        where = self.sheet + (f" row {self.row}" if self.row is not None else "")
        if self.column:
            where += f" ({self.column})"
        tail = f" [{self.effect}]" if self.effect else ""
        return f"{where}: {self.construct}: {self.message}{tail}"


class XLSFormRefused(Exception):
    """The form cannot be imported (or, strict, uses constructs Feijian cannot represent)."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        # Nothing is imported, so no problem has an effect of its own ("row left out").
        self.problems = [replace(p, effect="") for p in problems]
        problems = self.problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"XLSForm refused ({len(problems)} problem(s)):\n{lines}")


@dataclass(slots=True)
class ImportResult:
    """An imported checklist, notes on what was skipped or ignored, and (partial) what was dropped."""

    checklist: Checklist
    notes: list[ImportProblem] = field(default_factory=list)
    dropped: list[ImportProblem] = field(default_factory=list)

    def kinds(self) -> dict[str, int]:
        """How many steps of each kind were imported (in order of first appearance)."""
        return dict(Counter(str(s.kind) for s in self.checklist.steps))

    def summary(self) -> str:
        """One line: the checklist, its steps by kind and how many rows were dropped or changed."""
        kinds = ", ".join(f"{k} {n}" for k, n in self.kinds().items())
        line = f"{self.checklist.key}: {len(self.checklist.steps)} steps ({kinds})"
        left_out = sum(1 for p in self.dropped if p.effect.endswith("left out"))
        if self.dropped:
            changed = len(self.dropped) - left_out
            line += f"; {len(self.dropped)} problem(s): {left_out} left out, {changed} changed"
        return line


@dataclass(slots=True)
class _Frame:
    """An open group or repeat while reading the survey."""

    kind: str  # "group" or "repeat"
    row: int
    cond: str | None
    section: str | None
    dropped: str | None = None  # why every row inside is left out
    repeat: str | None = None


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
    if not sep and ":" in key and key.split(":", 1)[0].strip().lower() in _TRANSLATABLE:
        base, sep, lang = key.partition(":")  # older forms write `label:English`
    col = base.strip().lower()
    col = _COLUMN_ALIASES.get(col, col)
    return col, (lang.strip() if sep else None)


class _Importer:
    def __init__(
        self,
        source: str | Path | bytes,
        checklist_id: str | None,
        version: int | None,
        strict: bool,
        media_dir: Path | None,
    ) -> None:
        self.source = source
        self.checklist_id = checklist_id
        self.version = version
        self.strict = strict
        self.media_dir = media_dir
        self.problems: list[ImportProblem] = []
        self.notes: list[ImportProblem] = []
        self.default_slot = "default"
        self.missing_lang: dict[str, list[int]] = {"zh-CN": [], "en": []}
        self.ignored_cols: dict[str, list[int]] = {}
        self.html_rows: list[tuple[str, int]] = []
        self.bad_choice_names: dict[str, list[tuple[int, str]]] = {}
        self.repeats: list[Repeat] = []
        self.names: dict[str, int] = {}  # question and repeat names → their row

    def refuse(
        self,
        sheet: str,
        row: int | None,
        construct: str,
        message: str,
        column: str | None = None,
        effect: str = "row left out",
    ) -> None:
        self.problems.append(
            ImportProblem(
                sheet=sheet, row=row, column=column, construct=construct, message=message, effect=effect
            )
        )

    def fatal(self, sheet: str, row: int | None, construct: str, message: str) -> XLSFormRefused:
        self.refuse(sheet, row, construct, message, effect="")
        return XLSFormRefused(self.problems)

    def note(
        self, sheet: str, row: int | None, construct: str, message: str, column: str | None = None
    ) -> None:
        self.notes.append(
            ImportProblem(sheet=sheet, row=row, column=column, construct=construct, message=message)
        )

    # -- texts ---------------------------------------------------------------------------------

    def text(
        self, row: dict[str, Any], col: str, rownum: int, track: bool = True, sheet: str = "survey"
    ) -> LocalizedText | None:
        slots: dict[str, str] = {}
        for key, val in row.items():
            c, lang = _split_col(str(key))
            if c != col or val is None or not str(val).strip():
                continue
            raw = str(val).strip()
            if _TAG_RE.search(raw) or _BR_RE.search(raw):
                self.html_rows.append((sheet, rownum))
                raw = strip_html(raw)
                if not raw:
                    continue
            slot = self.default_slot if lang is None else _lang_slot(lang)
            slots.setdefault(slot, raw)
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
        except Exception as err:  # whatever the reader trips on is a refusal, never a traceback
            data = self.read_by_content()
            if data is None:
                why = f"not a readable XLSForm (.xlsx, .xls, .csv or .md): {_reader_message(err)}"
                raise self.fatal("file", None, "unreadable workbook", why) from err
        settings_rows = [r for r in (data.settings or []) if isinstance(r, dict)]
        settings = {_split_col(str(k))[0]: v for k, v in (settings_rows[0] if settings_rows else {}).items()}
        if settings.get("default_language"):
            self.default_slot = _lang_slot(str(settings["default_language"]))
        survey = [r if isinstance(r, dict) else {} for r in (data.survey or [])]
        if not any(survey):
            raise self.fatal("survey", None, "no survey", "the workbook has no survey sheet or it is empty")
        for sheet in ("entities", "osm"):
            rows = getattr(data, sheet, None) or []
            if any(rows):
                self.refuse(
                    sheet, None, f"{sheet} sheet", f"the {sheet} sheet is not supported", effect="ignored"
                )
        choices = self.read_choices([r if isinstance(r, dict) else {} for r in (data.choices or [])])
        steps, sections, rows_of = self.read_survey(survey, choices)
        cid, version, title = self.identity(settings)
        if self.strict and self.problems:
            raise XLSFormRefused(self.problems)
        self.summarise_notes()
        name = Path(self.source).name if isinstance(self.source, str | Path) else "upload"
        for _ in range(len(steps) + 1):
            if not steps:
                raise self.fatal("survey", None, "no questions", "the form has no question Feijian can ask")
            try:
                cl = Checklist(
                    id=cid,
                    version=version,
                    title=title,
                    sections=sections,
                    repeats=[r for r in self.repeats if any(st.repeat == r.id for st in steps)],
                    steps=steps,
                    source=f"xlsform:{name}",
                )
            except ValidationError as err:
                for e in err.errors():
                    self.refuse("survey", None, "invalid form", f"{'.'.join(map(str, e['loc']))}: {e['msg']}")
                raise XLSFormRefused(self.problems) from err
            drop: set[str] = set()
            for p in lint_checklist(cl):
                if p.code == "missing_translation":
                    continue
                sid = p.where.split(".")[1] if p.where.startswith("steps.") else ""
                self.refuse(
                    "survey", rows_of.get(sid), p.code.replace("_", " "), p.message, column="relevant"
                )
                drop.add(sid)
            if not drop:
                break
            if self.strict or "" in drop:
                raise XLSFormRefused(self.problems)
            steps = self.without(steps, drop, rows_of)
        if self.strict and self.problems:
            raise XLSFormRefused(self.problems)
        return ImportResult(checklist=cl, notes=self.notes, dropped=self.problems)

    def read_by_content(self) -> Any:
        """A file whose name lies about its type (a CSV saved as .xlsx): pyxform sniffs the bytes."""
        if not isinstance(self.source, str | Path):
            return None
        try:
            data = get_xlsform(Path(self.source).read_bytes())
        except Exception:  # not a form by its content either
            return None
        self.note(
            "file", None, "file type", f"{Path(self.source).name} was read by its content, not its name"
        )
        return data

    def without(self, steps: list[Step], drop: set[str], rows_of: dict[str, int]) -> list[Step]:
        """The steps minus `drop` and every step whose condition or constraint reads a dropped one."""
        kept: list[Step] = []
        for s in steps:
            if s.id in drop:
                continue
            refs: set[str] = set()
            for src in (s.when, s.validation.constraint):
                if src is not None:
                    refs |= compile_expr(src).refs
            lost = sorted(refs & drop)
            if lost:
                drop.add(s.id)
                self.refuse(
                    "survey", rows_of.get(s.id), "depends on a left-out step", f"reads ${{{lost[0]}}}"
                )
                continue
            kept.append(s)
        return kept

    def summarise_notes(self) -> None:
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
        if self.html_rows:
            sheet, first = self.html_rows[0]
            self.note(
                sheet,
                first,
                "HTML in labels",
                f"markup stripped from {len(self.html_rows)} text(s); plain text kept",
            )

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
        title_raw = strip_html(str(settings.get("form_title") or settings.get("title") or cid)) or cid
        return cid, version, LocalizedText(zh_CN=title_raw, en=title_raw)

    # -- choices -------------------------------------------------------------------------------

    def choice_rows(
        self, rows: list[dict[str, Any]], sheet: str, value_col: str = "name", label_col: str = "label"
    ) -> list[tuple[int, str, str, Choice]]:
        """(row, list name, choice name, choice) for each usable row; problems for the others."""
        out: list[tuple[int, str, str, Choice]] = []
        seen: dict[tuple[str, str], int] = {}
        for n, row in enumerate(rows, start=2):
            if not row:
                continue
            cols = {_split_col(str(k))[0]: v for k, v in row.items()}
            list_name = str(cols.get("list_name") or cols.get("list name") or "").strip()
            name = " ".join(str(cols.get(value_col) or cols.get("value") or "").split())
            if not name or (not list_name and sheet == "choices"):
                if any(v is not None and str(v).strip() for v in row.values()):
                    self.refuse(sheet, n, "choice row", f"a choice needs list_name and {value_col}")
                continue
            if (list_name, name) in seen:
                self.refuse(
                    sheet,
                    n,
                    "duplicate choice",
                    f"{name!r} appears twice in list {list_name!r} (also row {seen[(list_name, name)]})",
                )
                continue
            seen[(list_name, name)] = n
            if len(name) > 200:
                self.refuse(sheet, n, "choice name", f"{name[:40]!r}... is longer than 200 characters")
                continue
            if label_col != "label":
                row = _relabel(row, label_col)
            label = self.text(row, "label", n, track=False, sheet=sheet)
            if label is None:
                self.note(
                    sheet, n, "choice without label", f"choice {name!r} has no label; its name is shown"
                )
                label = LocalizedText(zh_CN=name, en=name)
            out.append((n, list_name, name, Choice(id=name, label=label)))
        return out

    def read_choices(self, rows: list[dict[str, Any]]) -> dict[str, list[Choice]]:
        lists: dict[str, list[Choice]] = {}
        for n, list_name, name, choice in self.choice_rows(rows, "choices"):
            if re.search(r"\s", name):
                # Allowed in a select_one; a select_multiple using the list reports it (as pyxform does).
                self.bad_choice_names.setdefault(list_name, []).append((n, name))
            lists.setdefault(list_name, []).append(choice)
        return lists

    def file_choices(self, fname: str, n: int, cols: dict[str, Any], multi: bool) -> list[Choice] | None:
        """The choices of a select_..._from_file question, read from `media_dir` (CSV, XML or GeoJSON)."""
        construct = "select_multiple_from_file" if multi else "select_one_from_file"
        if Path(fname).name != fname or Path(fname).suffix.lower() not in _FILE_EXTENSIONS:
            self.refuse(
                "survey",
                n,
                construct,
                f"{fname!r}: a choice list file must be a .csv, .xml or .geojson file name",
            )
            return None
        if self.media_dir is None:
            self.refuse(
                "survey",
                n,
                construct,
                f"choice list file {fname} needed: give the form's media folder (--media DIR)",
            )
            return None
        path = self.media_dir / fname
        if not path.is_file() and self.media_dir.is_dir():
            # Files copied from Windows or a phone often change case: VILLAGES.CSV for villages.csv.
            path = next((f for f in self.media_dir.iterdir() if f.name.lower() == fname.lower()), path)
        if not path.is_file():
            self.refuse("survey", n, construct, f"choice list file {fname} not found in {self.media_dir}")
            return None
        params = dict(
            p.split("=", 1) for p in str(cols.get("parameters") or "").replace(",", " ").split() if "=" in p
        )
        geo = path.suffix.lower() == ".geojson"
        value_col = params.get("value", "id" if geo else "name").strip().lower() or "name"
        label_col = params.get("label", "title" if geo else "label").strip().lower() or "label"
        try:
            raw = path.read_bytes()
            suffix = path.suffix.lower()
            rows = _csv_rows(raw) if suffix == ".csv" else _geojson_rows(raw) if geo else _xml_rows(raw)
        except (OSError, ValueError, ElementTree.ParseError, csv.Error) as err:
            self.refuse(
                "survey", n, construct, f"choice list file {fname} unreadable: {_reader_message(err)}"
            )
            return None
        got = self.choice_rows(rows, fname, value_col, label_col)
        if not got:
            self.refuse(
                "survey", n, construct, f"choice list file {fname} has no choices (column {value_col!r})"
            )
            return None
        out = [c for (_n, _l, _name, c) in got]
        if multi:
            bad = [c.id for c in out if re.search(r"\s", c.id)]
            if bad:
                self.refuse(
                    "survey", n, construct, f"{fname}: choice name {bad[0]!r} has a space (multiple choice)"
                )
                return None
        return out

    # -- survey --------------------------------------------------------------------------------

    def read_survey(
        self, rows: list[dict[str, Any]], choices: dict[str, list[Choice]]
    ) -> tuple[list[Step], list[Section], dict[str, int]]:
        steps: list[Step] = []
        sections: list[Section] = []
        stack: list[_Frame] = []
        names = self.names
        imported: set[str] = set()
        skipped: dict[str, str] = {}
        rows_of: dict[str, int] = {}
        for n, row in enumerate(rows, start=2):
            if not row:
                continue
            cols: dict[str, Any] = {}
            for key, val in row.items():
                c, _lang = _split_col(str(key))
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
                self.group(m.group(1), m.group(2), n, name, row, cols, stack, sections, imported, skipped)
                continue
            outer = next((f.dropped for f in reversed(stack) if f.dropped), None)
            if outer is not None:
                if name:
                    skipped[name] = outer
                continue
            if tl in METADATA_TYPES:
                self.note("survey", n, f"metadata {tl}", "metadata is not a question; skipped")
                if name:
                    skipped[name] = f"metadata {tl}"
                continue
            if name:
                if name in names:
                    self.refuse(
                        "survey", n, "duplicate name", f"name {name!r} is also used on row {names[name]}"
                    )
                    continue
                names[name] = n
            spec = self.question_type(raw_type, tl, n, choices, cols)
            if spec is None:
                if name:
                    skipped[name] = f"{raw_type}, row {n}"
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
                skipped[name] = f"row {n}"
                continue
            step = self.question(n, name, kind, integer, step_choices, row, cols, stack, imported, skipped)
            if step is not None:
                steps.append(step)
                imported.add(name)
                rows_of[name] = n
            else:
                skipped.setdefault(name, f"row {n} left out")
        for f in stack:
            self.refuse(
                "survey",
                f.row,
                f"begin {f.kind}",
                f"begin {f.kind} without a matching end",
                effect="closed at the end",
            )
        return steps, sections, rows_of

    def group(
        self,
        which: str,
        kind: str,
        n: int,
        name: str,
        row: dict[str, Any],
        cols: dict[str, Any],
        stack: list[_Frame],
        sections: list[Section],
        imported: set[str],
        skipped: dict[str, str],
    ) -> None:
        kind = "group" if kind == "group" else "repeat"
        if which == "end":
            if not stack or stack[-1].kind != kind:
                self.refuse(
                    "survey",
                    n,
                    f"end {kind}",
                    f"end {kind} without a matching begin {kind}",
                    effect="ignored",
                )
                return
            stack.pop()
            return
        parent_section = stack[-1].section if stack else None
        if any(f.dropped for f in stack):
            stack.append(
                _Frame(kind, n, None, parent_section, dropped=next(f.dropped for f in stack if f.dropped))
            )
            return
        if kind == "repeat":
            self.repeat(n, name, row, cols, stack, imported, skipped)
            return
        cond = None
        dropped = None
        if cols.get("relevant") is not None:
            cond = self.expression(
                str(cols["relevant"]), n, "relevant", imported, skipped, None, effect="group left out"
            )
            if cond is None:
                dropped = f"inside group {name!r} (row {n}) whose relevant cannot be evaluated"
        for col in cols:
            if col in _REFUSED_COLUMNS:
                construct, effect = _REFUSED_COLUMNS[col]
                self.refuse(
                    "survey",
                    n,
                    construct,
                    f"{col} is not supported: {effect}",
                    column=col,
                    effect="column ignored",
                )
        section_id = None
        label = self.text(row, "label", n, track=False)
        if name and NAME_RE.fullmatch(name):
            section_id = name if name not in {s.id for s in sections} else f"{name}_{n}"
            sections.append(Section(id=section_id, title=label or LocalizedText(zh_CN=name, en=name)))
        stack.append(_Frame(kind, n, cond, section_id or parent_section, dropped=dropped))

    def repeat(
        self,
        n: int,
        name: str,
        row: dict[str, Any],
        cols: dict[str, Any],
        stack: list[_Frame],
        imported: set[str],
        skipped: dict[str, str],
    ) -> None:
        """`begin repeat`: steps asked per member, `repeat_count` times or while "add another?" is yes."""
        parent_section = stack[-1].section if stack else None
        if any(f.repeat for f in stack):
            self.refuse(
                "survey",
                n,
                "nested repeat",
                f"repeat {name!r} inside another repeat",
                effect="repeat left out",
            )
            stack.append(_Frame("repeat", n, None, parent_section, dropped=f"inside nested repeat (row {n})"))
            return
        rid = name if name and NAME_RE.fullmatch(name) and name not in self.names else f"repeat_row{n}"
        self.names.setdefault(rid, n)
        dropped = None
        cond = None
        if cols.get("relevant") is not None:
            cond = self.expression(
                str(cols["relevant"]), n, "relevant", imported, skipped, None, effect="repeat left out"
            )
            if cond is None:
                dropped = f"inside repeat {name!r} (row {n}) whose relevant cannot be evaluated"
        count = None
        raw_count = cols.get("repeat_count")
        if raw_count is not None and str(raw_count).strip():
            count = self.expression(
                str(raw_count), n, "repeat_count", imported, skipped, None, effect="asked as 'add another?'"
            )
        for col in cols:
            if col in _REFUSED_COLUMNS and col != "repeat_count":
                construct, effect = _REFUSED_COLUMNS[col]
                self.refuse(
                    "survey",
                    n,
                    construct,
                    f"{col} is not supported: {effect}",
                    column=col,
                    effect="column ignored",
                )
        conds = [f.cond for f in stack if f.cond is not None] + ([cond] if cond else [])
        when = None
        if conds:
            when = conds[0] if len(conds) == 1 else " and ".join(f"({c})" for c in conds)
        label = self.text(row, "label", n, track=False) or LocalizedText(zh_CN=name or rid, en=name or rid)
        if dropped is None:
            self.repeats.append(Repeat(id=rid, title=label, count=count, when=when))
            imported.add(rid)
        stack.append(_Frame("repeat", n, None, parent_section, dropped=dropped, repeat=rid))

    def question_type(
        self, raw_type: str, tl: str, n: int, choices: dict[str, list[Choice]], cols: dict[str, Any]
    ) -> tuple[StepKind, bool, list[Choice]] | None:
        if tl in _SIMPLE_TYPES:
            kind, integer = _SIMPLE_TYPES[tl]
            return kind, integer, []
        for alias in sorted(aliases.select, key=len, reverse=True):
            if tl == alias or tl.startswith(alias + " "):
                return self.select_type(alias, raw_type, n, choices, cols)
        alias_of = _pyxform_alias(tl)
        if alias_of is not None:
            return alias_of
        self.refuse("survey", n, raw_type, f"question type {raw_type!r} is not supported", column="type")
        return None

    def select_type(
        self, alias: str, raw_type: str, n: int, choices: dict[str, list[Choice]], cols: dict[str, Any]
    ) -> tuple[StepKind, bool, list[Choice]] | None:
        target = aliases.select[alias]
        if (
            target not in (constants.SELECT_ONE, constants.SELECT_ALL_THAT_APPLY)
            or alias == "select_one_external"
        ):
            self.refuse("survey", n, alias, f"question type {raw_type!r} is not supported", column="type")
            return None
        multi = target == constants.SELECT_ALL_THAT_APPLY
        kind = StepKind.MULTI_CHOICE if multi else StepKind.CHOICE
        parts = raw_type[len(alias) :].split()
        if alias in aliases.select_from_file:
            if len(parts) != 1:
                self.refuse("survey", n, alias, f"{raw_type!r}: expected one file name", column="type")
                return None
            from_file = self.file_choices(parts[0], n, cols, multi)
            return None if from_file is None else (kind, False, from_file)
        tail = [x.lower() for x in parts[1:]]
        other = tail in (["or_other"], ["or", "specify", "other"])
        if not parts or (len(parts) != 1 and not other):
            self.refuse("survey", n, alias, f"{raw_type!r}: expected one choice list name", column="type")
            return None
        if parts[0] not in choices:
            self.refuse("survey", n, alias, f"choice list {parts[0]!r} is not on the choices sheet")
            return None
        bad = self.bad_choice_names.get(parts[0], []) if multi else []
        if bad:
            crow, cname = bad[0]
            self.refuse(
                "survey",
                n,
                "choice name",
                f"{cname!r} (choices row {crow}) has a space; ODK refuses it in a select_multiple",
            )
            return None
        listed = list(choices[parts[0]])
        if other:
            self.refuse(
                "survey",
                n,
                "or_other",
                "the 'specify other' text question is not added",
                column="type",
                effect="imported with an 'other' choice",
            )
            if all(c.id != "other" for c in listed):
                listed.append(Choice(id="other", label=LocalizedText(zh_CN="其他", en="Other")))
        return kind, False, listed

    def expression(
        self,
        src: str,
        n: int,
        column: str,
        imported: set[str],
        skipped: dict[str, str],
        self_name: str | None,
        effect: str = "row left out",
    ) -> str | None:
        fixed = src.translate(_QUOTES)
        if fixed != src:
            self.note("survey", n, "typographic quotes", f"{src!r} read as {fixed!r}", column=column)
            src = fixed
        src = " ".join(src.split())
        if self_name is not None:
            # `${me}` inside my own constraint means the value being checked.
            src = re.sub(r"\$\{\s*" + re.escape(self_name) + r"\s*\}", ".", src)
        try:
            expr = compile_expr(src)
        except ExprError as err:
            self.refuse("survey", n, f"{column} expression", f"{src!r}: {err}", column=column, effect=effect)
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
            self.refuse("survey", n, f"{column} reference", f"{src!r}: {why}", column=column, effect=effect)
        if expr.uses_dot and column == "relevant":
            self.refuse(
                "survey",
                n,
                "relevant expression",
                f"{src!r}: '.' is only meaningful in a constraint",
                column=column,
                effect=effect,
            )
            ok = False
        return src if ok else None

    def other_columns(self, n: int, kind: StepKind, cols: dict[str, Any]) -> bool:
        """Report columns we do not carry over; False when the question cannot be answered at all."""
        ok = True
        for col in cols:
            if col in _HANDLED or col == "parameters":
                continue
            if col in _REFUSED_COLUMNS:
                construct, effect = _REFUSED_COLUMNS[col]
                self.refuse(
                    "survey",
                    n,
                    construct,
                    f"{col} is not supported: {effect}",
                    column=col,
                    effect="column ignored",
                )
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
        return ok

    def question(
        self,
        n: int,
        name: str,
        kind: StepKind,
        integer: bool,
        step_choices: list[Choice],
        row: dict[str, Any],
        cols: dict[str, Any],
        stack: list[_Frame],
        imported: set[str],
        skipped: dict[str, str],
    ) -> Step | None:
        ok = self.other_columns(n, kind, cols)
        required = False
        if cols.get("required") is not None:
            raw = str(cols["required"]).strip().lstrip("=").strip()
            flag = aliases.yes_no.get(raw, aliases.yes_no.get(raw.lower()))
            if flag is None:
                self.refuse(
                    "survey",
                    n,
                    "required expression",
                    f"required {raw!r}: only yes/no is supported",
                    column="required",
                    effect="asked as optional",
                )
            else:
                required = bool(flag)
        conds = [f.cond for f in stack if f.cond is not None]
        if cols.get("relevant") is not None:
            rel = self.expression(str(cols["relevant"]), n, "relevant", imported, skipped, None)
            if rel is None:
                ok = False
            else:
                conds.append(rel)
        constraint = None
        if cols.get("constraint") is not None and str(cols["constraint"]).strip():
            constraint = self.expression(
                str(cols["constraint"]), n, "constraint", imported, skipped, name, effect="constraint dropped"
            )
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
            message=self.text(row, "constraint_message", n, track=False) if constraint else None,
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
            section=stack[-1].section if stack else None,
            repeat=next((f.repeat for f in reversed(stack) if f.repeat), None),
        )


def _pyxform_alias(tl: str) -> tuple[StepKind, bool, list[Choice]] | None:
    """An older or longer spelling pyxform accepts ("gps", "q integer", "add text prompt", ...)."""
    spec = QUESTION_TYPE_DICT.get(tl)
    if not isinstance(spec, dict):
        return None
    bind, control = spec.get("bind") or {}, spec.get("control") or {}
    tag, btype = control.get("tag"), bind.get("type")
    if tag == "input" and btype == "int":
        return StepKind.NUMBER, True, []
    if tag == "input" and btype == "decimal":
        return StepKind.NUMBER, False, []
    if tag == "input" and btype == "geopoint":
        return StepKind.LOCATION, False, []
    if tag == "input" and btype == "string" and "calculate" not in tl:
        return (StepKind.NOTE if bind.get("readonly") == "true()" else StepKind.TEXT), False, []
    if tag == "upload" and str(control.get("mediatype", "")).startswith("image/"):
        return StepKind.PHOTO, False, []
    return None


def _relabel(row: dict[str, Any], label_col: str) -> dict[str, Any]:
    """A row whose `label_col` (from `parameters: label=...`) is read as its label."""
    out: dict[str, Any] = {}
    for key, val in row.items():
        k = str(key)
        base, sep, lang = k.partition("::")
        if base.strip().lower() == label_col:
            out["label" + sep + lang] = val
        elif base.strip().lower() != "label":
            out[k] = val
    return out


def _csv_rows(raw: bytes) -> list[dict[str, Any]]:
    """Rows of a CSV choice list (UTF-8, with or without BOM), header first as ODK expects."""
    text = raw.decode("utf-8-sig")
    return [dict(r) for r in csv.DictReader(io.StringIO(text)) if r]


def _geojson_rows(raw: bytes) -> list[dict[str, Any]]:
    """Rows of a GeoJSON list: each feature's properties, its `id` from the feature when not a property."""
    doc = json.loads(raw.decode("utf-8-sig"))
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        raise ValueError("a GeoJSON choice list needs a FeatureCollection with features")
    rows: list[dict[str, Any]] = []
    for f in features:
        props = f.get("properties") if isinstance(f, dict) else None
        if not isinstance(props, dict):
            continue
        row = {str(k): v for k, v in props.items() if not isinstance(v, dict | list)}
        if "id" not in row and f.get("id") is not None:
            row["id"] = f["id"]
        rows.append(row)
    return rows


def _xml_rows(raw: bytes) -> list[dict[str, Any]]:
    """Rows of an ODK external XML list: `<root><item><name>..</name><label>..</label></item>...</root>`."""
    root = defused_et.fromstring(raw)  # entities and DTDs refused (ValueError)
    return [{child.tag: (child.text or "").strip() for child in item} for item in root]


def import_xlsform(
    source: str | Path | bytes,
    *,
    checklist_id: str | None = None,
    version: int | None = None,
    strict: bool = False,
    media_dir: str | Path | None = None,
) -> ImportResult:
    """Turn an XLSForm into a Checklist, leaving out (and naming) what cannot be carried over.

    `strict=True` refuses the whole form on the first kind of problem instead (XLSFormRefused names
    every one). A form with nothing usable, or a file that is not a readable form, is always refused.
    """
    media = Path(media_dir) if media_dir is not None else None
    return _Importer(source, checklist_id, version, strict, media).run()
