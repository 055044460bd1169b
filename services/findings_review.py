"""Review of findings before the ledger: confirm, dismiss (with a reason), merge duplicates, add by hand.

Supervisors review everything in their region; a township or village officer may review leads (疑点待核)
of their region only. Confirmed findings go onto the ledger (`ledger.file_findings`); dismissed ones
keep their reason. The visit itself gets a review: accepted, or sent back for a revisit with a reason.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlmodel import Session, col, select

from contracts.ledger import (
    FindingKind,
    FindingOut,
    FindingReview,
    ManualFindingIn,
    VisitReview,
    VisitReviewIn,
)
from models.household import Household
from models.ledger import LedgerItem
from models.round import AssignmentStatus
from models.types import utcnow
from models.user import Role
from models.visit import Finding, Visit
from services import access, audit, ledger, round_dispatch
from services.context import Actor
from services.errors import Conflict, Forbidden, ValidationFailed

MAX_PAGE = 500


def _may_review(actor: Actor, finding: Finding) -> bool:
    if actor.role in (Role.admin, Role.supervisor):
        return True
    return actor.role == Role.officer and finding.kind is FindingKind.lead


def finding_for_actor(session: Session, actor: Actor, finding_id: uuid.UUID, action: str) -> Finding:
    """A finding of a household in the actor's region that the actor may review (else a hidden 404)."""
    actor.require(Role.supervisor, Role.officer)
    f = session.get(Finding, finding_id)
    if f is None:
        raise access.missing("finding")
    h = session.get(Household, f.household_id)
    if h is None or not ledger.sees(actor, h.village_code):
        raise audit.refuse(access.missing("finding"), actor, "finding.denied", "finding", finding_id)
    if not _may_review(actor, f):
        raise Forbidden()
    return f


def _pending(f: Finding) -> None:
    if f.review is not FindingReview.pending:
        raise Conflict("finding_not_pending", review=f.review.value)


def _mark(session: Session, actor: Actor, f: Finding, review: FindingReview, reason: str | None) -> None:
    f.review = review
    f.review_reason = reason
    f.reviewed_by = actor.id
    f.reviewed_at = utcnow()
    session.add(f)
    session.flush()


def confirm(
    session: Session,
    actor: Actor,
    finding_id: uuid.UUID,
    reason: str | None = None,
    today: date | None = None,
) -> LedgerItem:
    """Confirms a pending finding; it joins (or opens) the household's ledger item of its category."""
    f = finding_for_actor(session, actor, finding_id, "confirm")
    _pending(f)
    _mark(session, actor, f, FindingReview.confirmed, reason)
    # duplicates already merged into this finding follow it onto the ledger
    merged = session.exec(select(Finding).where(Finding.merged_into_id == f.id)).all()
    item = ledger.file_findings(session, actor, [f, *merged], today)
    audit.record(session, actor, "finding.confirm", "finding", f.id, item=str(item.id))
    return item


def dismiss(session: Session, actor: Actor, finding_id: uuid.UUID, reason: str) -> Finding:
    """Dismisses a pending finding; the reason is kept."""
    if not reason.strip():
        raise ValidationFailed("reason_required")
    f = finding_for_actor(session, actor, finding_id, "dismiss")
    _pending(f)
    _mark(session, actor, f, FindingReview.dismissed, reason)
    audit.record(session, actor, "finding.dismiss", "finding", f.id, reason=reason)
    return f


def merge(
    session: Session, actor: Actor, finding_id: uuid.UUID, into_id: uuid.UUID, reason: str | None = None
) -> Finding:
    """Merges a pending duplicate into another finding of the same household and category."""
    f = finding_for_actor(session, actor, finding_id, "merge")
    target = finding_for_actor(session, actor, into_id, "merge")
    _pending(f)
    if (
        f.id == target.id
        or f.household_id != target.household_id
        or f.category != target.category
        or target.review in (FindingReview.dismissed, FindingReview.merged)
    ):
        raise ValidationFailed("finding_merge_mismatch")
    _mark(session, actor, f, FindingReview.merged, reason)
    f.merged_into_id = target.id
    f.ledger_item_id = target.ledger_item_id
    session.add(f)
    session.flush()
    audit.record(session, actor, "finding.merge", "finding", f.id, into=str(target.id))
    return f


def add_manual(session: Session, actor: Actor, data: ManualFindingIn) -> Finding:
    """A finding from a document check or a call; it waits for review like a visit's."""
    actor.require(Role.supervisor)
    h = access.household_for_actor(session, actor, data.household_id)
    f = Finding(
        visit_id=None,
        household_id=h.id,
        round_id=data.round_id,
        rule_id=f"manual:{data.source.value}",
        category=data.category,
        severity=data.severity,
        message_zh=data.text,
        message_en=data.text,
        kind=data.kind,
        source=data.source,
        created_by=actor.label,
    )
    session.add(f)
    session.flush()
    audit.record(
        session, actor, "finding.add", "finding", f.id, household=str(h.id), source=data.source.value
    )
    return f


def review_visit(session: Session, actor: Actor, visit_id: uuid.UUID, data: VisitReviewIn) -> Visit:
    """Accepts a submitted visit, or sends it back for a revisit with a reason (the assignment reopens)."""
    actor.require(Role.supervisor)
    visit = access.visit_for_actor(session, actor, visit_id, write=False)
    if visit.finished_at is None:
        raise Conflict("visit_not_finished")
    if data.review is VisitReview.sent_back and not (data.reason or "").strip():
        raise ValidationFailed("reason_required")
    visit.review = data.review
    visit.review_reason = data.reason
    visit.reviewed_by = actor.id
    visit.reviewed_at = utcnow()
    session.add(visit)
    session.flush()
    if data.review is VisitReview.sent_back and visit.assignment_id is not None:
        round_dispatch.mark_assignment(session, actor, visit.assignment_id, AssignmentStatus.revisit)
    audit.record(
        session, actor, "visit.review", "visit", visit.id, review=data.review.value, reason=data.reason
    )
    return visit


def list_findings(
    session: Session,
    actor: Actor,
    review: FindingReview | None = FindingReview.pending,
    round_id: uuid.UUID | None = None,
    household_id: uuid.UUID | None = None,
    limit: int = 100,
) -> list[FindingOut]:
    """Findings in the actor's region (officers: leads only), pending ones by default, oldest first."""
    actor.require(Role.supervisor, Role.officer)
    q = select(Finding, Household).join(Household, col(Household.id) == col(Finding.household_id))
    if actor.role != Role.admin and actor.scope_code:
        q = q.where(col(Household.village_code).startswith(actor.scope_code))
    if actor.role == Role.officer:
        q = q.where(
            Finding.kind == FindingKind.lead, col(Household.village_code).startswith(actor.scope_code or "-")
        )
    if review is not None:
        q = q.where(Finding.review == review)
    if round_id is not None:
        q = q.where(Finding.round_id == round_id)
    if household_id is not None:
        q = q.where(Finding.household_id == household_id)
    q = q.order_by(col(Finding.created_at), col(Finding.id)).limit(max(1, min(limit, MAX_PAGE)))
    rows = session.exec(q).all()
    audit.record(session, actor, "finding.list", "finding", None, count=len(rows))
    return [to_out(f, h, actor.lang) for f, h in rows]


def to_out(f: Finding, h: Household, lang: str) -> FindingOut:
    """The API view of a finding."""
    return FindingOut(
        id=f.id,
        household_id=f.household_id,
        register_no=h.register_no,
        visit_id=f.visit_id,
        round_id=f.round_id,
        kind=f.kind,
        source=f.source,
        category=f.category,
        severity=f.severity,
        message=f.message_en if lang == "en" else f.message_zh,
        review=f.review,
        review_reason=f.review_reason,
        merged_into_id=f.merged_into_id,
        ledger_item_id=f.ledger_item_id,
        created_at=f.created_at,
    )


def view(session: Session, f: Finding, lang: str) -> FindingOut:
    """The API view of one finding just changed."""
    h = session.get(Household, f.household_id)
    assert h is not None
    return to_out(f, h, lang)
