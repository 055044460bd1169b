"""The reply export for the 12345 hotline and the 信访 office: each answered case of theirs with the
work-order number they know it by, so the back office can enter the replies into their own system.
"""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import or_
from sqlmodel import Session, col, select

from contracts.residents import CaseSource, CaseState
from models.application import Case
from models.user import Role
from services import audit
from services.config import get_settings
from services.context import Actor
from services.ledger_export import escape_cell
from services.messages import translate

COLUMNS = (
    "reply_col_external",
    "reply_col_number",
    "reply_col_source",
    "reply_col_state",
    "reply_col_unit",
    "reply_col_answer",
    "reply_col_answered_at",
    "reply_col_satisfaction",
)
WIDTHS = (22, 20, 10, 10, 20, 60, 20, 10)


def replies(
    session: Session, actor: Actor, source: CaseSource | None = None, since: datetime | None = None
) -> list[Case]:
    """Answered (or closed) hotline and 信访 cases in the actor's region, oldest answer first."""
    actor.require(Role.supervisor)
    sources = [source] if source else [CaseSource.hotline, CaseSource.petition]
    q = (
        select(Case)
        .where(
            col(Case.source).in_(sources),
            col(Case.state).in_([CaseState.answered, CaseState.closed]),
            col(Case.answer).is_not(None),
        )
        .order_by(col(Case.answered_at))
    )
    if actor.role != Role.admin and actor.scope_code:
        q = q.where(
            or_(col(Case.village_code).startswith(actor.scope_code), col(Case.village_code).is_(None))
        )
    if since is not None:
        q = q.where(col(Case.answered_at) >= since)
    return list(session.exec(q).all())


def export_xlsx(
    session: Session,
    actor: Actor,
    source: CaseSource | None = None,
    since: datetime | None = None,
    lang: str | None = None,
) -> bytes:
    """The replies as an XLSX workbook (texts escaped against formulas); the export is audited."""
    rows = replies(session, actor, source, since)
    tz = ZoneInfo(get_settings().timezone)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(translate("reply_sheet_title", lang))
    for i, width in enumerate(WIDTHS):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    ws.append([translate(c, lang) for c in COLUMNS])
    for case in rows:
        ws.append(
            [
                escape_cell(case.external_number or ""),
                case.number,
                case.source.value,
                translate(f"case_state_{case.state.value}", lang),
                escape_cell(case.assigned_unit or ""),
                escape_cell(case.answer or ""),
                case.answered_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if case.answered_at else "",
                case.satisfaction if case.satisfaction is not None else "",
            ]
        )
    buf = io.BytesIO()
    wb.save(buf)
    audit.record(
        session,
        actor,
        "case.replies_export",
        "case",
        None,
        source=source.value if source else "12345+信访",
        count=len(rows),
    )
    return buf.getvalue()
