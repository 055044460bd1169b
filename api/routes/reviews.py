"""Household reviews (复核): the due list per township, review visits and imports."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.deps import ActorDep, SessionDep
from api.uploads import read_capped
from contracts.reviews import ReviewDueList, ReviewImportResult, ReviewIn, ReviewOut
from services import reviews
from services.rounds import local_today

router = APIRouter(prefix="/reviews", tags=["reviews"])
MAX_IMPORT_BYTES = 20 << 20


@router.get("/due", response_model=ReviewDueList)
def due(
    session: SessionDep,
    actor: ActorDep,
    region: Annotated[str | None, Query(pattern=r"^[0-9]{2,12}$")] = None,
    as_of: date | None = None,
    horizon_days: Annotated[int, Query(ge=0, le=reviews.MAX_HORIZON)] = 30,
) -> ReviewDueList:
    """Households due for review by as_of + horizon_days, per township in the caller's scope."""
    return reviews.due_list(session, actor, as_of or local_today(), horizon_days, region)


@router.post("", response_model=ReviewOut, status_code=201)
def record(body: ReviewIn, session: SessionDep, actor: ActorDep) -> ReviewOut:
    """Records a review visit; the household's last review date moves forward."""
    review, household = reviews.record(session, actor, body)
    return ReviewOut(
        id=review.id,
        household_id=household.id,
        reviewed_on=review.reviewed_on,
        source=review.source,
        last_review_date=household.last_review_date,
    )


@router.post("/import", response_model=ReviewImportResult)
async def import_file(
    session: SessionDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File(description="CSV or XLSX: 低保证号, 复核日期, 备注")],
) -> ReviewImportResult:
    """Records reviews from a table; refused rows are listed with their reasons."""
    data = await read_capped(file, MAX_IMPORT_BYTES)
    report = await run_in_threadpool(reviews.import_file, session, actor, data, file.filename or "")
    return ReviewImportResult.model_validate({"recorded": report.recorded, "errors": report.errors})
