"""The public notice (公示): applications in their 7-day notice period, and objections to them.

Only what the rules require is public: the village, the applicant's masked name, the household size,
the monthly amount, the period, and whom to contact. An objection becomes a case (category
objection) linked to the application, so the re-check is tracked like any other case.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import Session, col, select

from contracts.residents import ApplicationOutcome, CaseCategory, CaseSource, Stage
from models.application import Application
from models.region import Region
from models.types import utcnow
from services import applications, cases
from services.cipher import get_cipher
from services.config import Settings
from services.errors import NotFound
from services.pii import mask_name


@dataclass(frozen=True)
class NoticeEntry:
    """One line of the public notice."""

    application_id: str
    village: str
    masked_name: str
    household_size: int
    monthly_amount: Decimal | None
    notice_from: date
    notice_until: date
    contact_unit: str | None
    contact_phone: str | None


def current(session: Session, today: date | None = None, limit: int = 500) -> list[NoticeEntry]:
    """Applications whose notice period includes today, by village."""
    today = today or utcnow().date()
    first = today - timedelta(days=applications.NOTICE_DAYS - 1)
    rows = session.exec(
        select(Application, Region.name)
        .join(Region, col(Region.code) == col(Application.village_code))
        .where(
            Application.stage == Stage.public_notice,
            Application.outcome == ApplicationOutcome.pending,
            col(Application.notice_from) >= first,
            col(Application.notice_from) <= today,
        )
        .order_by(col(Application.village_code), col(Application.notice_from))
        .limit(limit)
    ).all()
    cipher = get_cipher()
    entries = []
    for app, village in rows:
        assert app.notice_from is not None
        entries.append(
            NoticeEntry(
                application_id=str(app.id),
                village=village,
                masked_name=mask_name(cipher.decrypt(app.name_enc)) or "",
                household_size=app.household_size,
                monthly_amount=app.monthly_amount,
                notice_from=app.notice_from,
                notice_until=app.notice_from + timedelta(days=applications.NOTICE_DAYS - 1),
                contact_unit=app.contact_unit,
                contact_phone=app.contact_phone,
            )
        )
    return entries


def on_notice(session: Session, app_id: uuid.UUID, today: date | None = None) -> Application:
    """The application, if it is on notice today (else NotFound: objections only during the period)."""
    app = session.get(Application, app_id)
    today = today or utcnow().date()
    until = applications.notice_until(app) if app else None
    if (
        app is None
        or app.stage != Stage.public_notice
        or app.outcome != ApplicationOutcome.pending
        or app.notice_from is None
        or until is None
        or not (app.notice_from <= today <= until)
    ):
        raise NotFound()
    return app


def object_to(
    session: Session,
    settings: Settings,
    app_id: uuid.UUID,
    complaint: cases.Complaint,
    lang: str = "zh-CN",
    sender: str | None = None,
) -> cases.NewCase:
    """An objection during the notice period: a case of category objection linked to the application."""
    app = on_notice(session, app_id)
    linked = cases.Complaint(
        CaseCategory.objection,
        complaint.text,
        complaint.anonymous,
        complaint.contact,
        complaint.photos,
        complaint.telegram_user_id,
        app.id,
    )
    return cases.submit(session, settings, CaseSource.notice, linked, lang, sender)
