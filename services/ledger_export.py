"""The ledger as rows for people: the XLSX in the county offices' layout, streamed in keyset batches.

Rows are read as plain column tuples (no ORM objects kept in the session), a batch at a time in list
order (deadline, id), so an export of any size holds one batch in memory; openpyxl's write-only
workbook spools the sheet to a temporary file as rows are appended.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import IO, Any

from openpyxl import Workbook
from sqlalchemy import func
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
from services.ledger_queries import LedgerFilter, after, scoped_query
from services.messages import translate
from services.pii import PiiError, mask_id
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

_ROW_COLUMNS = (
    col(LedgerItem.id),
    col(LedgerItem.number),
    col(LedgerItem.category),
    col(LedgerItem.village_code),
    col(LedgerItem.responsible_region_code),
    col(LedgerItem.responsible_user_id),
    col(LedgerItem.route),
    col(LedgerItem.measures),
    col(LedgerItem.deadline),
    col(LedgerItem.state),
    col(LedgerItem.closed_at),
    col(LedgerItem.money_to_recover),
    col(LedgerItem.money_recovered),
    col(Household.head_name),
    col(Household.register_no),
    col(Household.head_id_enc),
    col(Household.township_code),
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


class _Names:
    """Region and user names, looked up once per code or id for a whole export."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.regions: dict[str, str] = {}
        self.users: dict[uuid.UUID, str] = {}

    def load(self, regions: set[str], users: set[uuid.UUID]) -> None:
        """Fetches the names a batch needs and this export has not seen yet (one query each)."""
        missing = [c for c in regions if c and c not in self.regions]
        if missing:
            found = self.session.exec(
                select(col(Region.code), col(Region.name)).where(col(Region.code).in_(missing))
            ).all()
            self.regions.update(dict(found))
            self.regions.update({c: c for c in missing if c not in self.regions})
        wanted = [u for u in users if u not in self.users]
        if wanted:
            rows = self.session.exec(select(col(User.id), col(User.name)).where(col(User.id).in_(wanted)))
            self.users.update(dict(rows.all()))
            self.users.update({u: "" for u in wanted if u not in self.users})

    def region(self, code: str | None) -> str:
        return self.regions.get(code, code) if code else ""

    def user(self, user_id: uuid.UUID | None) -> str:
        return self.users.get(user_id, "") if user_id is not None else ""


def _descriptions(session: Session, ids: Sequence[uuid.UUID], lang: str | None) -> dict[uuid.UUID, str]:
    """The confirmed findings' texts of a batch of items, one query, joined per item."""
    text = col(Finding.message_en) if lang == "en" else col(Finding.message_zh)
    rows = session.exec(
        select(col(Finding.ledger_item_id), text)
        .where(col(Finding.ledger_item_id).in_(list(ids)))
        .where(col(Finding.review) != FindingReview.dismissed)
        .order_by(col(Finding.created_at), col(Finding.id))
    ).all()
    out: dict[uuid.UUID, list[str]] = {}
    for item_id, message in rows:
        if item_id is not None and message and message not in out.setdefault(item_id, []):
            out[item_id].append(message)
    return {k: "；".join(v) for k, v in out.items()}


def _masked(token: str | None) -> str:
    if not token:
        return ""
    try:
        return mask_id(get_cipher().decrypt(token)) or ""
    except PiiError:
        return ""


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
    """The filtered items the actor may see in list order, a batch at a time (keyset, never all)."""
    actor.require(*ledger.ACTING)
    today = today or local_today()
    base = scoped_query(actor, flt, today).with_only_columns(*_ROW_COLUMNS)
    if extra is not None:
        base = extra(base)
    names = _Names(session)
    last: tuple[date, uuid.UUID] | None = None
    while True:
        q = base if last is None else after(base, *last)
        rows = session.exec(q.order_by(col(LedgerItem.deadline), col(LedgerItem.id)).limit(batch)).all()
        if not rows:
            return
        texts = _descriptions(session, [r[0] for r in rows], lang)
        names.load({c for r in rows for c in (r[3], r[4], r[16])}, {r[5] for r in rows if r[5] is not None})
        out = []
        for r in rows:
            village, township = names.region(r[3]), names.region(r[16])
            out.append(
                ItemRow(
                    id=r[0],
                    number=r[1],
                    category=r[2],
                    description=texts.get(r[0], ""),
                    village_code=r[3],
                    region_name=f"{township}/{village}" if township != village else village,
                    head_name=r[13],
                    register_no=r[14],
                    id_masked=_masked(r[15]),
                    unit_code=r[4],
                    unit_name=names.region(r[4]),
                    person=names.user(r[5]),
                    route=r[6],
                    measures=r[7] or "",
                    deadline=r[8],
                    state=r[9],
                    overdue=r[9] in OPEN_STATES and r[8] < today,
                    closed_on=_closed_on(r[10]),
                    money_to_recover=r[11],
                    money_recovered=r[12],
                )
            )
        yield out
        if len(rows) < batch:
            return
        last = (rows[-1][8], rows[-1][0])


def count_items(session: Session, actor: Actor, flt: LedgerFilter, today: date | None = None) -> int:
    """How many items an export with this filter writes (for a progress bar)."""
    actor.require(*ledger.ACTING)
    q = scoped_query(actor, flt, today or local_today()).with_only_columns(col(LedgerItem.id)).subquery()
    return int(session.exec(select(func.count()).select_from(q)).one())


def header(lang: str | None) -> list[str]:
    """The sheet's header row in the language."""
    return [translate(code, lang) for code in COLUMNS]


def sheet_row(row: ItemRow, lang: str | None) -> list[Any]:
    """One item as the cells of the county layout, every text escaped against formula injection."""
    values: list[Any] = [
        row.number,
        label("category", row.category.value, lang),
        row.description,
        row.region_name,
        row.head_name,
        row.register_no,
        row.id_masked,
        row.unit_name,
        row.person,
        label("ledger_route", row.route.value, lang),
        row.measures,
        row.deadline,
        label("ledger_state", row.state.value, lang),
        label("", "yes" if row.overdue else "no", lang),
        row.closed_on,
        row.money_to_recover,
        row.money_recovered,
    ]
    return [escape_cell(v) for v in values]


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
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(translate("ledger_sheet_title", lang))
    for i, width in enumerate(WIDTHS):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    ws.append(header(lang))
    written = 0
    for rows in iter_items(session, actor, flt, lang, today, batch):
        for row in rows:
            ws.append(sheet_row(row, lang))
        written += len(rows)
        if on_progress is not None:
            on_progress(len(rows))
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
