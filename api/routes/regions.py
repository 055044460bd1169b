"""GET /regions: the region tree, level by level."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Path, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from api.deps import ActorDep, AdminDep, SessionDep
from api.problems import lang_of
from api.uploads import read_capped
from contracts.regions import RegionLevel, RegionLevelCounts, RegionLoadReport, RegionPublic, RegionSkip
from services import regions
from services.messages import translate

router = APIRouter(prefix="/regions", tags=["regions"])
Code = Annotated[str, Path(pattern=r"^[0-9]{2,12}$")]
MAX_REGION_BYTES = 64 * 1024 * 1024


@router.get("", response_model=list[RegionPublic])
def roots(session: SessionDep, _actor: ActorDep) -> list[RegionPublic]:
    """The top-level regions (provinces)."""
    return [RegionPublic.model_validate(r) for r in regions.children(session, None)]


@router.get("/{code}", response_model=RegionPublic)
def one(code: Code, session: SessionDep, _actor: ActorDep) -> RegionPublic:
    """One region."""
    return RegionPublic.model_validate(regions.get(session, code))


@router.get("/{code}/children", response_model=list[RegionPublic])
def kids(
    code: Code, session: SessionDep, _actor: ActorDep, level: Annotated[RegionLevel | None, Query()] = None
) -> list[RegionPublic]:
    """The direct children of a region."""
    regions.get(session, code)
    return [RegionPublic.model_validate(r) for r in regions.children(session, code, level)]


@router.post("/load", response_model=RegionLoadReport)
async def load(
    request: Request,
    session: SessionDep,
    actor: AdminDep,
    file: Annotated[
        UploadFile, File(description="JSON tree or list, CSV code,name or id,pid,deep,...,ext_id,ext_name")
    ],
    edition: Annotated[str | None, Query(max_length=20)] = None,
) -> RegionLoadReport:
    """Loads a region code file of any known shape (sniffed from content); codes are never deleted."""
    data = await read_capped(file, MAX_REGION_BYTES)
    name = file.filename or "upload"
    report = await run_in_threadpool(regions.load_bytes, session, actor, data, name, edition)
    return report_of(report, lang_of(request))


def report_of(report: regions.LoadReport, lang: str) -> RegionLoadReport:
    """The service's load report as the API shows it, skip reasons in the caller's language."""
    return RegionLoadReport(
        shape=report.shape,
        notes=report.notes,
        levels={k: RegionLevelCounts(**vars(v)) for k, v in report.levels.items()},
        skips=[
            RegionSkip(
                level=s.level,
                code=s.code,
                name=s.name,
                where=s.where,
                reason=s.reason,
                message=translate(s.reason, lang, **s.params),
            )
            for s in report.skips
        ],
        placeholders=report.placeholders,
        total=report.total,
        added=report.added,
        renamed=report.renamed,
        unchanged=report.unchanged,
        skipped=report.skipped,
    )
