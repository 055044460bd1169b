"""Builders for ledger tests: a supervisor, an officer, a household with a finding, evidence rows."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from contracts.evidence import EvidenceSource, PositionSource, SiteStatus
from contracts.ledger import ManualFindingIn
from contracts.vocab import FindingCategory, Severity
from models.evidence import Evidence
from models.household import Household
from models.user import Role, User
from models.visit import Finding, Visit, VisitStatus
from services import findings_review
from services.context import Actor
from tests.factories import VILLAGE, make_household, make_user


@dataclass
class Cast:
    sup: Actor
    sup2: Actor
    officer: Actor
    officer_user: User
    household: Household


def cast(session: Session, register_no: str = "LB700") -> Cast:
    """Two supervisors of the county, the village's officer and one household."""
    county = VILLAGE[:6]
    s1 = make_user(session, f"sup1{register_no}", Role.supervisor, scope_code=county)
    s2 = make_user(session, f"sup2{register_no}", Role.supervisor, scope_code=county)
    off = make_user(session, f"off{register_no}", Role.officer, scope_code=VILLAGE[:9])
    h = make_household(session, register_no)
    return Cast(Actor.of(s1), Actor.of(s2), Actor.of(off), off, h)


def finding(
    session: Session,
    actor: Actor,
    household: Household,
    category: FindingCategory = FindingCategory.NOT_ELIGIBLE,
    severity: Severity = Severity.high,
) -> Finding:
    """A pending finding added by hand."""
    return findings_review.add_manual(
        session,
        actor,
        ManualFindingIn(household_id=household.id, category=category, severity=severity, text="收入超标"),
    )


def evidence_of(
    session: Session, household: Household, inspector: User | None = None, n: int = 1
) -> Evidence:
    """An accepted evidence row of the household (attached to a minimal submitted visit)."""
    if inspector is None:
        inspector = make_user(session, f"ins-ev-{household.register_no}-{n}", Role.inspector)
    v = Visit(household_id=household.id, inspector_id=inspector.id, status=VisitStatus.submitted)
    session.add(v)
    session.flush()
    ev = Evidence(
        visit_id=v.id,
        household_id=household.id,
        uploaded_by=inspector.login,
        source=EvidenceSource.UPLOAD,
        sha256=f"{n:064d}",
        display_sha256=f"{n:064d}",
        thumb_sha256=f"{n:064d}",
        mime="image/jpeg",
        size_bytes=10,
        width=1,
        height=1,
        position_source=PositionSource.NONE,
        site=SiteStatus.UNKNOWN,
        phash="0" * 16,
        perceptual_hash="0" * 16,
        accepted=True,
    )
    session.add(ev)
    session.flush()
    return ev
