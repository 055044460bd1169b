"""The ledger as rows for people: the XLSX in the county offices' layout, streamed.

One query reads every column a row needs (the item, its household, the region, unit and user names and
the confirmed findings' texts, by outer joins) as plain values in list order (deadline, id), streamed
from the database a batch at a time (a server-side cursor on PostgreSQL), so an export of any size
holds one batch in memory and builds no ORM objects. The workbook is openpyxl's write-only one; the
sheet's rows are written as ready-made XML between the head and tail that openpyxl writes, which is
the same XML openpyxl would write cell by cell (inline strings, dates as numbers in a date style)
at a small part of the cost.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Generator, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import IO, Any

from lxml.etree import LxmlSyntaxError, xmlfile
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.xml.constants import SHEET_MAIN_NS
from sqlalchemy import String, func, type_coerce
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from contracts.ledger import OPEN_STATES, LedgerRoute, LedgerState
from contracts.vocab import FindingCategory
from models.household import Household
from models.ledger import LedgerItem
from models.region import Region
from models.user import User
from models.visit import Finding, FindingReview
from services import audit, ledger
from services.cipher import get_cipher
from services.context import Actor
from services.ledger_queries import LedgerFilter, scoped_query
from services.messages import translate
from services.pii import PiiError, PiiKeyring, mask_id
from services.rounds import local_today

BATCH = 1000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

COLUMNS = (
    "ledger_col_number",
    "ledger_col_category",
    "ledger_col_description",
    "ledger_col_region",
    "ledger_col_head",
    "ledger_col_register",
    "ledger_col_id_number",
    "ledger_col_unit",
    "ledger_col_person",
    "ledger_col_route",
    "ledger_col_measures",
    "ledger_col_deadline",
    "ledger_col_state",
    "ledger_col_overdue",
    "ledger_col_closed",
    "ledger_col_to_recover",
    "ledger_col_recovered",
)
WIDTHS = (8, 16, 40, 24, 10, 14, 20, 20, 10, 12, 40, 12, 12, 8, 12, 14, 14)

_VILLAGE, _TOWNSHIP, _UNIT = aliased(Region), aliased(Region), aliased(Region)
_OPEN = frozenset(s.value for s in OPEN_STATES)

# (position in a query row) the item's and household's columns, then the joined names and finding text
(_ID, _NUMBER, _CATEGORY, _VILLAGE_CODE, _UNIT_CODE, _USER_ID, _ROUTE, _MEASURES, _DEADLINE, _STATE,
 _CLOSED_AT, _TO_RECOVER, _RECOVERED, _HEAD, _REGISTER, _ID_ENC, _TOWNSHIP_CODE, _VILLAGE_NAME,
 _TOWNSHIP_NAME, _UNIT_NAME, _PERSON, _TEXT) = range(22)  # fmt: skip

_ROW_COLUMNS = (
    col(LedgerItem.id),
    col(LedgerItem.number),
    type_coerce(col(LedgerItem.category), String),  # the enums' values as stored: no enum per row
    col(LedgerItem.village_code),
    col(LedgerItem.responsible_region_code),
    col(LedgerItem.responsible_user_id),
    type_coerce(col(LedgerItem.route), String),
    col(LedgerItem.measures),
    col(LedgerItem.deadline),
    type_coerce(col(LedgerItem.state), String),
    col(LedgerItem.closed_at),
    col(LedgerItem.money_to_recover),
    col(LedgerItem.money_recovered),
    col(Household.head_name),
    col(Household.register_no),
    col(Household.head_id_enc),
    col(Household.township_code),
    col(_VILLAGE.name),
    col(_TOWNSHIP.name),
    col(_UNIT.name),
    col(User.name),
)


@dataclass(frozen=True)
class ItemRow:
    """One ledger item as the exports and notices show it (personal numbers already masked)."""

    id: uuid.UUID
    number: int
    category: FindingCategory
    description: str
    village_code: str
    region_name: str
    head_name: str
    register_no: str
    id_masked: str
    unit_code: str
    unit_name: str
    person: str
    route: LedgerRoute
    measures: str
    deadline: date
    state: LedgerState
    overdue: bool
    closed_on: date | None
    money_to_recover: Decimal
    money_recovered: Decimal


def escape_cell(value: Any) -> Any:
    """A text that a spreadsheet would run as a formula (= + - @, or a leading tab/CR) gets a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@lru_cache(maxsize=256)
def label(kind: str, value: str, lang: str | None) -> str:
    """The shown name of a state, route or category in the language."""
    return translate(f"{kind}_{value}" if kind else value, lang)


def _rows_query(actor: Actor, flt: LedgerFilter, today: date, lang: str | None, extra: Any) -> Any:
    """The filtered items with every shown column, one row per item and confirmed finding, list order."""
    text = col(Finding.message_en) if lang == "en" else col(Finding.message_zh)
    q = scoped_query(actor, flt, today).with_only_columns(*_ROW_COLUMNS, text)
    if extra is not None:
        q = extra(q)
    return (
        q.outerjoin(_VILLAGE, col(_VILLAGE.code) == col(LedgerItem.village_code))
        .outerjoin(_TOWNSHIP, col(_TOWNSHIP.code) == col(Household.township_code))
        .outerjoin(_UNIT, col(_UNIT.code) == col(LedgerItem.responsible_region_code))
        .outerjoin(User, col(User.id) == col(LedgerItem.responsible_user_id))
        .outerjoin(
            Finding,
            (col(Finding.ledger_item_id) == col(LedgerItem.id))
            & (col(Finding.review) != FindingReview.dismissed),
        )
        .order_by(col(LedgerItem.deadline), col(LedgerItem.id), col(Finding.created_at), col(Finding.id))
    )


def _batches(
    session: Session,
    actor: Actor,
    flt: LedgerFilter,
    lang: str | None,
    today: date,
    batch: int,
    extra: Callable[[Any], Any] | None,
) -> Iterator[list[tuple[Any, str]]]:
    """(query row, its findings' texts joined) per item, `batch` items at a time, streamed."""
    actor.require(*ledger.ACTING)
    q = _rows_query(actor, flt, today, lang, extra)
    # plain rows from the connection (no ORM result layer), fetched from a server-side cursor
    stream = q.execution_options(stream_results=True, max_row_buffer=max(batch, 100))
    session.flush()  # what the ORM would do before a query of its own
    result = session.connection().execute(stream)
    try:
        out: list[tuple[Any, str]] = []
        current: Any = None
        texts: list[str] = []
        for row in result:
            if current is not None and row[_ID] == current[_ID]:
                if row[_TEXT] and row[_TEXT] not in texts:
                    texts.append(row[_TEXT])
                continue
            if current is not None:
                out.append((current, "；".join(texts)))
                if len(out) >= batch:
                    yield out
                    out = []
            current, texts = row, [row[_TEXT]] if row[_TEXT] else []
        if current is not None:
            out.append((current, "；".join(texts)))
        if out:
            yield out
    finally:
        result.close()


def _masked(keyring: PiiKeyring, token: str | None) -> str:
    if not token:
        return ""
    try:
        return mask_id(keyring.decrypt(token)) or ""
    except PiiError:
        return ""


def _region_name(r: Any) -> str:
    """ "township/village" by name (a code without a region row shows as the code)."""
    village = r[_VILLAGE_NAME] or r[_VILLAGE_CODE]
    township = r[_TOWNSHIP_NAME] or r[_TOWNSHIP_CODE] or ""
    return f"{township}/{village}" if township != village else village


def _closed_on(at: datetime | None) -> date | None:
    return at.date() if at is not None else None


def iter_items(
    session: Session,
    actor: Actor,
    flt: LedgerFilter,
    lang: str | None = None,
    today: date | None = None,
    batch: int = BATCH,
    extra: Callable[[Any], Any] | None = None,
) -> Iterator[list[ItemRow]]:
    """The filtered items the actor may see in list order, a batch at a time (streamed, never all)."""
    today = today or local_today()
    keyring = get_cipher()
    for rows in _batches(session, actor, flt, lang, today, batch, extra):
        yield [
            ItemRow(
                id=r[_ID],
                number=r[_NUMBER],
                category=FindingCategory(r[_CATEGORY]),
                description=description,
                village_code=r[_VILLAGE_CODE],
                region_name=_region_name(r),
                head_name=r[_HEAD],
                register_no=r[_REGISTER],
                id_masked=_masked(keyring, r[_ID_ENC]),
                unit_code=r[_UNIT_CODE],
                unit_name=r[_UNIT_NAME] or r[_UNIT_CODE] or "",
                person=r[_PERSON] or "",
                route=LedgerRoute(r[_ROUTE]),
                measures=r[_MEASURES] or "",
                deadline=r[_DEADLINE],
                state=LedgerState(r[_STATE]),
                overdue=r[_STATE] in _OPEN and r[_DEADLINE] < today,
                closed_on=_closed_on(r[_CLOSED_AT]),
                money_to_recover=r[_TO_RECOVER],
                money_recovered=r[_RECOVERED],
            )
            for r, description in rows
        ]


def count_items(session: Session, actor: Actor, flt: LedgerFilter, today: date | None = None) -> int:
    """How many items an export with this filter writes (for a progress bar)."""
    actor.require(*ledger.ACTING)
    q = scoped_query(actor, flt, today or local_today()).with_only_columns(col(LedgerItem.id)).subquery()
    return int(session.exec(select(func.count()).select_from(q)).one())


def header(lang: str | None) -> list[str]:
    """The sheet's header row in the language."""
    return [translate(code, lang) for code in COLUMNS]


def _sheet_cells(r: Any, description: str, keyring: PiiKeyring, today: date, lang: str | None) -> list[Any]:
    """One item as the cells of the county layout (texts escaped against formula injection on writing)."""
    state = r[_STATE]
    return [
        r[_NUMBER],
        label("category", r[_CATEGORY], lang),
        description,
        _region_name(r),
        r[_HEAD],
        r[_REGISTER],
        _masked(keyring, r[_ID_ENC]),
        r[_UNIT_NAME] or r[_UNIT_CODE] or "",
        r[_PERSON] or "",
        label("ledger_route", r[_ROUTE], lang),
        r[_MEASURES] or "",
        r[_DEADLINE],
        label("ledger_state", state, lang),
        label("", "yes" if state in _OPEN and r[_DEADLINE] < today else "no", lang),
        _closed_on(r[_CLOSED_AT]),
        r[_TO_RECOVER],
        r[_RECOVERED],
    ]


# XML 1.0 has no place for most control characters (openpyxl refuses them); `&`, `<`, `>` as entities.
_XML_TEXT = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
    | {c: None for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF)}
)
_EXCEL_EPOCH = date(1899, 12, 30).toordinal()
MAX_CELL_TEXT = 32767  # what a spreadsheet cell holds


_XML_SPECIAL = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_FORMULA_CHARS = frozenset(FORMULA_STARTS)


def row_xml(number: int, values: list[Any], date_style: int) -> str:
    """A sheet row as OOXML, as openpyxl writes it: inline strings (escaped against formula injection,
    at most a cell's length, markup as entities, control characters dropped), numbers, dates as
    serial days in the date style; an empty text or None is no cell."""
    parts = [f'<row r="{number}">']
    for letter, value in zip(_LETTERS, values, strict=False):
        kind = type(value)
        if kind is date:
            serial = value.toordinal() - _EXCEL_EPOCH
            parts.append(f'<c r="{letter}{number}" s="{date_style}"><v>{serial}</v></c>')
        elif kind is int or kind is Decimal or kind is float:
            parts.append(f'<c r="{letter}{number}"><v>{value}</v></c>')
        elif value is not None:
            text = value if kind is str else str(value)
            if not text:
                continue
            if text[0] in _FORMULA_CHARS:
                text = "'" + text
            if len(text) > MAX_CELL_TEXT:
                text = text[:MAX_CELL_TEXT]
            if _XML_SPECIAL.search(text) is not None:
                text = text.translate(_XML_TEXT)
                if not text:
                    continue
            space = ' xml:space="preserve"' if text[0].isspace() or text[-1].isspace() else ""
            parts.append(f'<c r="{letter}{number}" t="inlineStr"><is><t{space}>{text}</t></is></c>')
    parts.append("</row>")
    return "".join(parts)


_LETTERS = [get_column_letter(i) for i in range(1, len(COLUMNS) + 1)]


class _RowsWriter(WorksheetWriter):
    """openpyxl's sheet writer, on a file it owns, so that rows can be written into it as XML."""

    fh: IO[bytes]

    def get_stream(self) -> Iterator[Any]:
        # openpyxl's own stream, only with the file opened here
        with open(self.out, "wb") as fh, xmlfile(fh) as xf:
            self.fh = fh
            with xf.element("worksheet", xmlns=SHEET_MAIN_NS):
                try:
                    while True:
                        el = yield
                        if el is True:
                            yield xf
                        elif el is not None:
                            xf.write(el)
                except GeneratorExit:
                    pass


class XmlRowsSheet(WriteOnlyWorksheet):
    """A write-only sheet that takes its rows as ready-made XML (`write_xml`), in order."""

    _writer: Any = None
    _rows: Any = None

    def _get_writer(self) -> None:
        if self._writer is None:
            self._writer = _RowsWriter(self)
            self._writer.write_top()

    def _write_rows(self) -> Generator[None, bytes, None]:
        xf = self._writer.xf.send(True)
        with xf.element("sheetData"):
            xf.flush()  # the sheetData tag is in the file before the first row
            try:
                while True:
                    self._writer.fh.write((yield))
            except GeneratorExit:
                pass
        self._writer.xf.send(None)

    def write_xml(self, rows: str) -> None:
        """Appends rows (`row_xml`) to the sheet data."""
        self._get_writer()
        if self._rows is None:
            self._rows = self._write_rows()
            next(self._rows)
        self._rows.send(rows.encode())

    def abandon(self) -> None:
        """Closes the rows, then the sheet's stream, in that order, after a failed export (left to the
        garbage collector they close in any order and lxml complains about each)."""
        for gen in (self._rows, getattr(self._writer, "xf", None)):
            if gen is not None:
                with suppress(LxmlSyntaxError):
                    gen.close()
        self._rows = None

    def date_style(self) -> int:
        """The workbook's style id for a date cell (as openpyxl gives a date it is handed)."""
        return int(WriteOnlyCell(self, value=date(2000, 1, 1)).style_id)


def export_xlsx(
    session: Session,
    actor: Actor,
    flt: LedgerFilter,
    out: str | IO[bytes],
    lang: str | None = None,
    today: date | None = None,
    on_progress: Callable[[int], None] | None = None,
    batch: int = BATCH,
) -> int:
    """Writes the filtered ledger as an XLSX workbook to `out`; returns the number of rows (audited)."""
    today = today or local_today()
    wb = Workbook(write_only=True)
    ws = XmlRowsSheet(wb, translate("ledger_sheet_title", lang))
    wb._add_sheet(ws)
    for i, width in enumerate(WIDTHS):
        ws.column_dimensions[_LETTERS[i]].width = width
    date_style = ws.date_style()
    ws.write_xml(row_xml(1, header(lang), date_style))
    keyring = get_cipher()
    written = 0
    try:
        for rows in _batches(session, actor, flt, lang, today, batch, None):
            ws.write_xml(
                "".join(
                    row_xml(written + i + 2, _sheet_cells(r, description, keyring, today, lang), date_style)
                    for i, (r, description) in enumerate(rows)
                )
            )
            written += len(rows)
            if on_progress is not None:
                on_progress(len(rows))
    except BaseException:
        ws.abandon()
        raise
    wb.save(out)
    audit.record(
        session,
        actor,
        "ledger.export",
        "ledger_item",
        None,
        count=written,
        filters={k: v for k, v in vars(flt).items() if v is not None},
    )
    return written
