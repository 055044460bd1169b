"""The supervisor console: server-rendered pages at /console over the same services as the API."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from api.console import (
    admin,
    applications,
    cadres,
    cases,
    crosschecks,
    ledger,
    pages,
    review,
    reviews,
    rounds,
)
from api.console.web import PREFIX, LoginRequired, redirect, render, text
from services.errors import DomainError

STATIC = Path(__file__).resolve().parent / "static"

router = APIRouter(prefix=PREFIX, include_in_schema=False)
for _module in (pages, rounds, review, ledger, cases, applications, admin, crosschecks, cadres, reviews):
    router.include_router(_module.router)


def error_page(request: Request, exc: DomainError) -> Response:
    """The console's HTML page for a refused request (403, 404, 409, 422 ...)."""
    from api.console.web import lang_of

    lang = lang_of(request)
    heading = (
        text(lang, f"error.{exc.status}") if exc.status in (403, 404, 409, 422) else text(lang, "error.other")
    )
    return render(
        request, "error.html", None, exc.status, lang=lang, heading=heading, message=exc.message(lang)
    )


def install(app: FastAPI) -> None:
    """Mounts the console pages and static files, and its login redirect."""
    app.include_router(router)
    app.mount(PREFIX + "/static", StaticFiles(directory=STATIC), name="console-static")
    app.state.console_error_page = error_page

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return redirect(PREFIX + "/login")
