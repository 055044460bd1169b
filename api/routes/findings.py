"""Finding review before the ledger: list, confirm, dismiss, merge, add by hand; a visit's review."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ActorDep, SessionDep
from contracts.ledger import (
    FindingOut,
    FindingReview,
    LedgerItemOut,
    ManualFindingIn,
    MergeIn,
    OptionalReasonIn,
    ReasonIn,
    VisitReviewIn,
    VisitReviewOut,
)
from services import findings_review, ledger_queries

router = APIRouter(tags=["findings"])


@router.get("/findings", response_model=list[FindingOut])
def list_findings(
    session: SessionDep,
    actor: ActorDep,
    review: FindingReview | None = FindingReview.pending,
    round_id: uuid.UUID | None = None,
    household_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[FindingOut]:
    """Findings in the caller's region waiting for review (officers: leads only)."""
    return findings_review.list_findings(session, actor, review, round_id, household_id, limit)


@router.post("/findings", response_model=FindingOut, status_code=201)
def add_finding(data: ManualFindingIn, session: SessionDep, actor: ActorDep) -> FindingOut:
    """Adds a finding by hand (from a document check or a call); it waits for review."""
    return findings_review.view(session, findings_review.add_manual(session, actor, data), actor.lang)


@router.post("/findings/{finding_id}/confirm", response_model=LedgerItemOut)
def confirm(
    finding_id: uuid.UUID, data: OptionalReasonIn, session: SessionDep, actor: ActorDep
) -> LedgerItemOut:
    """Confirms a finding: it joins (or opens) the household's ledger item of its category."""
    item = findings_review.confirm(session, actor, finding_id, data.reason)
    return ledger_queries.view(session, actor, item)


@router.post("/findings/{finding_id}/dismiss", response_model=FindingOut)
def dismiss(finding_id: uuid.UUID, data: ReasonIn, session: SessionDep, actor: ActorDep) -> FindingOut:
    """Dismisses a finding with a reason."""
    return findings_review.view(
        session, findings_review.dismiss(session, actor, finding_id, data.reason), actor.lang
    )


@router.post("/findings/{finding_id}/merge", response_model=FindingOut)
def merge(finding_id: uuid.UUID, data: MergeIn, session: SessionDep, actor: ActorDep) -> FindingOut:
    """Merges a duplicate into another finding of the same household and category."""
    f = findings_review.merge(session, actor, finding_id, data.into_id, data.reason)
    return findings_review.view(session, f, actor.lang)


@router.post("/visits/{visit_id}/review", response_model=VisitReviewOut)
def review_visit(
    visit_id: uuid.UUID, data: VisitReviewIn, session: SessionDep, actor: ActorDep
) -> VisitReviewOut:
    """Accepts a submitted visit, or sends it back for a revisit with a reason."""
    v = findings_review.review_visit(session, actor, visit_id, data)
    assert v.review is not None
    return VisitReviewOut(visit_id=v.id, review=v.review, reason=v.review_reason)
