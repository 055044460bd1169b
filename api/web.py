"""Residents' phone pages, rendered on the server (Jinja2, autoescaped, no JavaScript needed).

The pages are thin: each calls the same service as the public API and shows its answer or its
refusal. zh-CN first; `?lang=en` switches to English.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session

from api.deps import SessionDep, SettingsDep
from api.routes.public import client_of
from api.uploads import read_capped
from contracts.residents import CaseCategory, CaseSource, Stage, StatusQuery
from media.checks import MAX_BYTES
from services import audit, cases, public_notice, public_status
from services.errors import DomainError
from services.messages import translate

router = APIRouter(include_in_schema=False)
T = TypeVar("T")
_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",
}


def page_lang(request: Request) -> str:
    """zh-CN unless the page was asked for in English (`?lang=en`)."""
    return "en" if request.query_params.get("lang", "").lower().startswith("en") else "zh-CN"


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page in the request's language; every value is escaped by the template engine."""
    lang = page_lang(request)

    def t(code: str, **params: Any) -> str:
        return translate(code, lang, **params)

    def stage_label(stage: Stage) -> str:
        return public_status.stage_label(stage, lang)

    html = _ENV.get_template(template).render(lang=lang, t=t, stage_label=stage_label, **context)
    headers = dict(_HEADERS)
    wait = context.get("retry_after")
    if wait is not None:
        headers["Retry-After"] = str(wait)
    return HTMLResponse(html, status_code=status, headers=headers)


def refused_as_page(call: Callable[[], T]) -> tuple[T | None, DomainError | None]:
    """Runs a service call that keeps its own unit of work (and audits its own refusals)."""
    try:
        return call(), None
    except DomainError as exc:
        return None, exc


def attempt(request: Request, session: Session, call: Callable[[], T]) -> tuple[T | None, DomainError | None]:
    """Runs a service call; a refusal rolls the unit of work back and is audited on its own, as in the API."""
    try:
        return call(), None
    except DomainError as exc:
        session.rollback()
        audit.keep_refusal(request.app.state.session_factory, exc)
        return None, exc


@router.get("/status", response_class=HTMLResponse)
def status_form(request: Request) -> HTMLResponse:
    """The lookup form."""
    return render(request, "status.html", title=translate("web_status_title", page_lang(request)), form={})


@router.post("/status", response_class=HTMLResponse)
async def status_lookup(
    request: Request,
    number: Annotated[str, Form(max_length=40)] = "",
    id_number: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=60)] = "",
) -> HTMLResponse:
    """The answer, or the one refusal shown for every failure (the typed ID number is not echoed)."""
    lang = page_lang(request)
    query = StatusQuery.model_construct(number=number or "-", id_number=id_number or "-", name=name or "-")
    opener = request.app.state.session_factory
    answer, error = await run_in_threadpool(
        refused_as_page, lambda: public_status.lookup(opener, query, client_of(request), lang)
    )
    return render(
        request,
        "status.html",
        status=error.status if error else 200,
        title=translate("web_status_title", lang),
        answer=answer,
        error=error.message(lang) if error else None,
        retry_after=error.params.get("retry_after") if error else None,
        form={"number": number, "name": ""},
    )


def _complain_page(request: Request, **context: Any) -> HTMLResponse:
    lang = page_lang(request)
    context.setdefault("form", {"category": CaseCategory.other.value, "anonymous": True})
    context.setdefault("action", f"/complain?lang={lang}")
    context.setdefault("categories", list(CaseCategory))
    return render(request, "complain.html", title=translate("web_complain_title", lang), **context)


@router.get("/complain", response_class=HTMLResponse)
def complain_form(request: Request) -> HTMLResponse:
    """The complaint form (text, photos, anonymous or with a phone number)."""
    return _complain_page(request)


async def _read_photos(photos: list[UploadFile]) -> list[bytes]:
    """The uploaded photos' bytes (a browser sends one empty part when none was chosen)."""
    datas = []
    for photo in photos[: cases.MAX_PHOTOS + 1]:
        data = await read_capped(photo, MAX_BYTES)
        if data or photo.filename:
            datas.append(data)
    return datas


@router.post("/complain", response_class=HTMLResponse)
async def complain(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    text: Annotated[str, Form(max_length=4000)] = "",
    category: Annotated[CaseCategory, Form()] = CaseCategory.other,
    anonymous: Annotated[bool, Form()] = False,
    contact: Annotated[str, Form(max_length=40)] = "",
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> HTMLResponse:
    """Opens a case; the page shows its number and follow-up code once."""
    lang = page_lang(request)
    form = {"category": category.value, "text": text, "anonymous": anonymous, "contact": contact}
    try:
        datas = await _read_photos(photos or [])
    except DomainError as exc:
        return _complain_page(request, status=exc.status, error=exc.message(lang), form=form)
    complaint = cases.Complaint(category, text, anonymous, contact or None, tuple(datas))
    created, error = await run_in_threadpool(
        attempt,
        request,
        session,
        lambda: cases.submit(session, settings, CaseSource.web, complaint, lang, client_of(request)),
    )
    if error is not None:
        wait = error.params.get("retry_after")
        return _complain_page(
            request, status=error.status, error=error.message(lang), form=form, retry_after=wait
        )
    return _complain_page(request, status=201, created=created)


@router.get("/case", response_class=HTMLResponse)
def case_form(request: Request) -> HTMLResponse:
    """The follow-up form (case number and code)."""
    return render(request, "case.html", title=translate("web_case_title", page_lang(request)), form={})


@router.post("/case", response_class=HTMLResponse)
async def case_lookup(
    request: Request,
    session: SessionDep,
    number: Annotated[str, Form(max_length=40)] = "",
    code: Annotated[str, Form(max_length=20)] = "",
) -> HTMLResponse:
    """That one case, or one refusal for an unknown number and a wrong code."""
    lang = page_lang(request)

    def call() -> Any:
        return cases.to_public(session, cases.lookup(session, number, code, client_of(request)), lang)

    found, error = await run_in_threadpool(attempt, request, session, call)
    return render(
        request,
        "case.html",
        status=error.status if error else 200,
        title=translate("web_case_title", lang),
        case=found,
        code=code if found else None,
        error=error.message(lang) if error else None,
        retry_after=error.params.get("retry_after") if error else None,
        form={"number": number},
    )


@router.post("/case/rate", response_class=HTMLResponse)
async def case_rate(
    request: Request,
    session: SessionDep,
    number: Annotated[str, Form(max_length=40)] = "",
    code: Annotated[str, Form(max_length=20)] = "",
    score: Annotated[int, Form(ge=1, le=5)] = 3,
) -> HTMLResponse:
    """The resident's satisfaction with the answer, asked once."""
    lang = page_lang(request)

    def call() -> Any:
        return cases.to_public(session, cases.rate(session, number, code, client_of(request), score), lang)

    found, error = await run_in_threadpool(attempt, request, session, call)
    return render(
        request,
        "case.html",
        status=error.status if error else 200,
        title=translate("web_case_title", lang),
        case=found,
        error=error.message(lang) if error else None,
        form={"number": number},
    )


@router.get("/notice", response_class=HTMLResponse)
def notice(request: Request, session: SessionDep) -> HTMLResponse:
    """Applications on public notice today, by village (masked names only)."""
    entries = public_notice.current(session)
    return render(
        request, "notice.html", title=translate("web_notice_title", page_lang(request)), entries=entries
    )


def _objection_page(request: Request, app_id: uuid.UUID, **context: Any) -> HTMLResponse:
    lang = page_lang(request)
    context.setdefault("form", {"category": CaseCategory.objection.value, "anonymous": True})
    return _complain_page(
        request,
        action=f"/notice/{app_id}/object?lang={lang}",
        categories=[CaseCategory.objection],
        text_label=translate("web_objection_text", lang),
        **context,
    )


@router.get("/notice/{app_id}/object", response_class=HTMLResponse)
def objection_form(app_id: uuid.UUID, request: Request, session: SessionDep) -> HTMLResponse:
    """The objection form for one application on notice."""
    public_notice.on_notice(session, app_id)
    return _objection_page(request, app_id)


@router.post("/notice/{app_id}/object", response_class=HTMLResponse)
async def object_to(
    app_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    text: Annotated[str, Form(max_length=4000)] = "",
    anonymous: Annotated[bool, Form()] = False,
    contact: Annotated[str, Form(max_length=40)] = "",
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> HTMLResponse:
    """An objection becomes a case linked to the application."""
    lang = page_lang(request)
    form = {
        "category": CaseCategory.objection.value,
        "text": text,
        "anonymous": anonymous,
        "contact": contact,
    }
    try:
        datas = await _read_photos(photos or [])
    except DomainError as exc:
        return _objection_page(request, app_id, status=exc.status, error=exc.message(lang), form=form)
    complaint = cases.Complaint(CaseCategory.objection, text, anonymous, contact or None, tuple(datas))
    created, error = await run_in_threadpool(
        attempt,
        request,
        session,
        lambda: public_notice.object_to(session, settings, app_id, complaint, lang, client_of(request)),
    )
    if error is not None:
        wait = error.params.get("retry_after")
        return _objection_page(
            request, app_id, status=error.status, error=error.message(lang), form=form, retry_after=wait
        )
    return _objection_page(request, app_id, status=201, created=created)
