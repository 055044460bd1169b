"""Shared builders for the residents' tests: applications with known applicants."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session

from contracts.residents import ApplicationCreate
from models.application import Application
from services import applications
from services.context import Actor
from tests.factories import VILLAGE, ensure_regions, make_id


@dataclass
class Applicant:
    """An application and the plain values a resident would type."""

    app: Application
    number: str
    id_number: str
    name: str
    phone: str


def make_application(
    session: Session, name: str = "李四", seed: int = 1, village: str = VILLAGE, phone: str = "13900001111"
) -> Applicant:
    """An application at stage 申请 with a known applicant (committed, so API requests see it)."""
    ensure_regions(session, village)
    idn = make_id(random.Random(seed))
    app = applications.create(
        session,
        Actor.system("test"),
        ApplicationCreate(
            applicant_name=name,
            id_number=idn,
            phone=phone,
            village_code=village,
            household_size=3,
            applied_on=date.today() - timedelta(days=40),
            contact_unit="林东镇民政所",
            contact_phone="0476-7822001",
        ),
    )
    session.commit()
    return Applicant(app, app.number, idn, name, phone)
