"""The signed paper form (调查表) of a visit, generated from what was recorded, as a PDF.

The team prints it, the interviewee signs (or gives a thumbprint) beside both inspectors and the
village, and `signed_form_photo` then proves signatures on what was actually recorded. Chinese
renders with reportlab's built-in CID font STSong-Light, so no font file is needed. The head of
household's name is masked and no ID number is printed.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas
from sqlmodel import Session, col, select

import checklists
from models.household import Household
from models.region import Region
from models.user import User
from models.visit import Finding, Visit
from services import access, audit
from services.messages import translate
from services.pii import mask_name

FONT = "STSong-Light"
_MARGIN = 50.0
_SIZE = 10.5
_LEAD = 16.0


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


class _Page:
    """A top-down writer that wraps lines by width and starts new pages as needed."""

    def __init__(self, c: Any, font: str) -> None:
        self.c, self.font = c, font
        self.width, self.height = A4
        self.y = self.height - _MARGIN

    def line(self, text: str, size: float = _SIZE, indent: float = 0.0) -> None:
        room = self.width - 2 * _MARGIN - indent
        for part in self._wrap(text, size, room):
            if self.y < _MARGIN + _LEAD:
                self.c.showPage()
                self.y = self.height - _MARGIN
            self.c.setFont(self.font, size)
            self.c.drawString(_MARGIN + indent, self.y, part)
            self.y -= _LEAD * size / _SIZE

    def gap(self) -> None:
        self.y -= _LEAD / 2

    def _wrap(self, text: str, size: float, room: float) -> list[str]:
        out: list[str] = []
        current = ""
        for ch in text:
            if pdfmetrics.stringWidth(current + ch, self.font, size) > room:
                out.append(current)
                current = ch
            else:
                current += ch
        out.append(current)
        return out


def _conclusion_lines(visit: Visit, lang: str) -> list[str]:
    data = visit.conclusion or {}
    if not data:
        return [translate("form_no_conclusion", lang)]
    lines = [translate("form_decision", lang, decision=translate(f"decision_{data['decision']}", lang))]
    for key in (
        "new_tier",
        "overpaid_months",
        "overpaid_amount",
        "back_pay_amount",
        "months_short",
        "amount_short",
    ):
        if data.get(key) is not None:
            lines.append(translate(f"form_{key}", lang, value=data[key]))
    return lines


def visit_form_pdf(session: Session, actor: Any, visit_id: uuid.UUID) -> bytes:
    """The 调查表 of a finished visit in the actor's language; the read is audited."""
    visit = access.visit_for_actor(session, actor, visit_id, write=False)
    household = session.get(Household, visit.household_id)
    assert household is not None
    lang = actor.lang
    village = session.get(Region, household.village_code)
    ids = [uuid.UUID(p) for p in visit.participants]
    names = [u.name for u in session.exec(select(User).where(col(User.id).in_(ids))).all()]
    checklist = checklists.load_checklist(visit.checklist_id, visit.checklist_version)
    state = checklists.replay(checklist, visit.answers)
    items = checklists.summary(checklist, state, lang).items
    found = session.exec(select(Finding).where(Finding.visit_id == visit.id)).all()
    audit.record(session, actor, "visit.form", "visit", visit.id)

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setTitle(translate("form_title", lang))
    page = _Page(c, _font())
    page.line(translate("form_title", lang), size=16)
    page.gap()
    page.line(
        translate(
            "form_household",
            lang,
            register_no=household.register_no,
            head=mask_name(household.head_name) or "",
            village=village.name if village else household.village_code,
        )
    )
    page.line(translate("form_checklist", lang, title=checklist.title.get(lang), key=checklist.key))
    page.line(translate("form_inspectors", lang, names="、".join(names)))
    page.line(translate("form_date", lang, date=visit.started_at.date().isoformat()))
    page.gap()
    page.line(translate("form_answers", lang), size=12)
    for item in items:
        page.line(f"{item.label}：{item.value}", indent=10)
    page.gap()
    page.line(translate("form_findings", lang, count=len(found)), size=12)
    for f in found:
        page.line(f"- {f.message_en if lang == 'en' else f.message_zh}", indent=10)
    page.gap()
    page.line(translate("form_conclusion", lang), size=12)
    for text in _conclusion_lines(visit, lang):
        page.line(text, indent=10)
    page.gap()
    page.gap()
    for code in ("form_sign_inspector", "form_sign_inspector", "form_sign_interviewee", "form_sign_village"):
        page.line(translate(code, lang) + "  ________________  " + translate("form_sign_date", lang))
        page.gap()
    c.save()
    return buf.getvalue()
