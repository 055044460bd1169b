"""Cadre-relatives registry (近亲属备案): declarations, imports, the register match, the township table."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import SessionDep, SupervisorDep
from api.uploads import read_capped
from contracts.cadres import CadreImportResult, CadreIn, CadreOut, MatchReport, TownshipRow
from services import cadres

router = APIRouter(prefix="/cadres", tags=["cadres"])
MAX_IMPORT_BYTES = 20 << 20
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Region = Annotated[str | None, Query(pattern=r"^[0-9]{2,12}$")]


@router.post("", response_model=CadreOut, status_code=201)
def declare(body: CadreIn, session: SessionDep, actor: SupervisorDep) -> CadreOut:
    """Stores a cadre's declaration of near relatives (it replaces the cadre's last one)."""
    cadre = cadres.declare(session, actor, body)
    return cadres.get_declaration(session, actor, cadre.id)


@router.post("/import", response_model=CadreImportResult)
async def import_file(
    session: SessionDep,
    actor: SupervisorDep,
    file: Annotated[UploadFile, File(description="CSV (UTF-8/GB18030) or XLSX, one row per relative")],
) -> CadreImportResult:
    """Imports declarations; every refused row is listed with its reason."""
    data = await read_capped(file, MAX_IMPORT_BYTES)
    report = await run_in_threadpool(cadres.import_file, session, actor, data, file.filename or "")
    return CadreImportResult.model_validate(
        {"cadres": report.cadres, "relatives": report.relatives, "errors": report.errors}
    )


@router.get("", response_model=list[CadreOut])
def list_declarations(
    session: SessionDep,
    actor: SupervisorDep,
    region: Region = None,
    limit: Annotated[int, Query(ge=1, le=cadres.MAX_LIST)] = 100,
) -> list[CadreOut]:
    """Declarations in the caller's scope (identifiers masked), with each relative's dibao households."""
    return cadres.list_declarations(session, actor, region, limit)


@router.post("/match", response_model=MatchReport)
def match(session: SessionDep, actor: SupervisorDep, region: Region = None) -> MatchReport:
    """Matches declarations against the register: registers households, files undeclared-relative findings."""
    return cadres.match(session, actor, region)


@router.get("/table", response_model=list[TownshipRow])
def table(session: SessionDep, actor: SupervisorDep, region: Region = None) -> list[TownshipRow]:
    """The township statistics table (统计表) as JSON."""
    return cadres.township_table(session, actor, region)


@router.get("/table.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
def table_xlsx(session: SessionDep, actor: SupervisorDep, region: Region = None) -> Response:
    """The township statistics table (统计表) as XLSX."""
    data = cadres.table_xlsx(cadres.township_table(session, actor, region), actor.lang)
    return Response(
        data, media_type=XLSX, headers={"Content-Disposition": 'attachment; filename="cadre-relatives.xlsx"'}
    )


@router.get("/{cadre_id}", response_model=CadreOut)
def read(cadre_id: uuid.UUID, session: SessionDep, actor: SupervisorDep) -> CadreOut:
    """One declaration in the caller's scope."""
    return cadres.get_declaration(session, actor, cadre_id)
