"""The rectification notice (整改通知书) to one responsible unit: its items not yet closed.

As PDF with reportlab's built-in CID font STSong-Light (Chinese renders with no font files on the
machine) and as DOCX (python-docx) for offices that edit it before sending.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import IO, Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlmodel import Session, col

from contracts.ledger import LedgerState
from models.ledger import LedgerItem
from models.region import Region
from models.round import InspectionRound
from services import audit, ledger
from services.context import Actor
from services.errors import NotFound
from services.ledger_export import ItemRow, iter_items, label
from services.ledger_queries import LedgerFilter
from services.messages import translate
from services.rounds import local_today

FONT = "STSong-Light"
NOTICE_COLUMNS = (
    "ledger_col_number",
    "ledger_col_head",
    "ledger_col_region",
    "ledger_col_category",
    "ledger_col_description",
    "ledger_col_measures",
    "ledger_col_deadline",
    "ledger_col_state",
)


@dataclass(frozen=True)
class NoticeData:
    """What a notice says: to whom, for which round, which items, on which day, in which language."""

    unit_code: str
    unit_name: str
    round_name: str | None
    items: list[ItemRow]
    issued: date
    lang: str | None


def gather(
    session: Session,
    actor: Actor,
    unit_code: str,
    round_id: uuid.UUID | None = None,
    lang: str | None = None,
    today: date | None = None,
) -> NoticeData:
    """The unit's items not yet closed (of the round, if given) that the actor may see (audited)."""
    actor.require(*ledger.ACTING)
    region = session.get(Region, unit_code)
    if region is None or not ledger.sees(actor, unit_code):
        raise NotFound(entity="责任单位 responsible unit")
    round_name = None
    if round_id is not None:
        rnd = session.get(InspectionRound, round_id)
        if rnd is None:
            raise NotFound(entity="核查轮次 round")
        round_name = rnd.name

    def narrow(q: Any) -> Any:
        return q.where(col(LedgerItem.responsible_region_code) == unit_code).where(
            col(LedgerItem.state) != LedgerState.closed
        )

    today = today or local_today()
    flt = LedgerFilter(round_id=round_id)
    items = [row for rows in iter_items(session, actor, flt, lang, today, extra=narrow) for row in rows]
    audit.record(session, actor, "ledger.notice", "region", unit_code, count=len(items), round_id=round_id)
    return NoticeData(unit_code, region.name, round_name, items, today, lang)


def _cells(row: ItemRow, lang: str | None) -> list[str]:
    return [
        str(row.number),
        row.head_name,
        row.region_name,
        label("category", row.category.value, lang),
        row.description,
        row.measures,
        row.deadline.isoformat(),
        label("ledger_state", row.state.value, lang),
    ]


def _texts(data: NoticeData) -> dict[str, str]:
    t = {
        "title": translate("notice_title", data.lang),
        "to": translate("notice_to", data.lang, unit=data.unit_name),
        "intro": translate("notice_intro", data.lang, count=len(data.items)),
        "closing": translate("notice_closing", data.lang),
        "issuer": translate("notice_issuer", data.lang),
        "date": translate("notice_date", data.lang, date=data.issued.isoformat()),
        "none": translate("notice_none", data.lang),
    }
    if data.round_name:
        t["round"] = translate("notice_round", data.lang, round=data.round_name)
    return t


def write_pdf(data: NoticeData, out: str | IO[bytes]) -> None:
    """The notice as PDF; the CID font needs no font file on the machine."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    t = _texts(data)
    body = ParagraphStyle("body", fontName=FONT, fontSize=11, leading=17, wordWrap="CJK")
    cell = ParagraphStyle("cell", parent=body, fontSize=9, leading=12)
    title = ParagraphStyle("title", parent=body, fontSize=20, leading=28, alignment=1)
    right = ParagraphStyle("right", parent=body, alignment=2)
    flow: list[Any] = [Paragraph(escape(t["title"]), title), Spacer(1, 6 * mm)]
    flow.append(Paragraph(escape(t["to"]), body))
    if "round" in t:
        flow.append(Paragraph(escape(t["round"]), body))
    flow.append(Paragraph(escape(t["intro"] if data.items else t["none"]), body))
    flow.append(Spacer(1, 4 * mm))
    if data.items:
        rows = [[Paragraph(escape(translate(c, data.lang)), cell) for c in NOTICE_COLUMNS]]
        rows += [[Paragraph(escape(v), cell) for v in _cells(r, data.lang)] for r in data.items]
        widths = [12, 20, 40, 28, 70, 60, 22, 22]
        table = Table(rows, colWidths=[w * mm for w in widths], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        flow += [table, Spacer(1, 4 * mm), Paragraph(escape(t["closing"]), body)]
    flow += [Spacer(1, 10 * mm), Paragraph(escape(t["issuer"]), right), Paragraph(escape(t["date"]), right)]
    doc = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        title=t["title"],
    )
    doc.build(flow)


def write_docx(data: NoticeData, out: str | IO[bytes]) -> None:
    """The notice as an editable Word document (East Asian text set in SimSun)."""
    t = _texts(data)
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.size = Pt(11)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    heading = doc.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = heading.add_run(t["title"])
    run.bold = True
    run.font.size = Pt(20)
    doc.add_paragraph(t["to"])
    if "round" in t:
        doc.add_paragraph(t["round"])
    doc.add_paragraph(t["intro"] if data.items else t["none"])
    if data.items:
        table = doc.add_table(rows=1, cols=len(NOTICE_COLUMNS))
        table.style = "Table Grid"
        for c, code in zip(table.rows[0].cells, NOTICE_COLUMNS, strict=True):
            c.text = translate(code, data.lang)
        for r in data.items:
            for c, value in zip(table.add_row().cells, _cells(r, data.lang), strict=True):
                c.text = value
        doc.add_paragraph(t["closing"])
    for key in ("issuer", "date"):
        p = doc.add_paragraph(t[key])
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    doc.save(out)
