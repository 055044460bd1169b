"""Console login, logout, language switch and dashboard."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from api.console.web import (
    LANG_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    CheckedDep,
    ConsoleDep,
    lang_of,
    login_csrf,
    redirect,
    render,
    secure_cookies,
    set_login_csrf,
    start_session,
    text,
)
from api.deps import SessionDep, SettingsDep
from locales.lang import normalize
from services import audit, auth, console_stats
from services.errors import Forbidden, Unauthorized

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, settings: SettingsDep) -> Response:
    """The login form (with its double-submit CSRF token)."""
    token = login_csrf(request)
    response = render(request, "login.html", None, csrf=token, error=None)
    set_login_csrf(response, token, settings)
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=60)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Checks the login with the accounts service and starts a console session."""
    cookie = request.cookies.get("fj_console_login", "")
    if not cookie or not hmac.compare_digest(cookie, csrf_token):
        raise Forbidden()
    try:
        _, _, user = auth.login(session, username, password, settings.token_ttl_hours)
    except Unauthorized as exc:
        if exc.refusal is not None:  # the failed attempt is audited as the API's login is
            r = exc.refusal
            audit.record(session, r.actor, r.action, r.entity, r.entity_id, **r.details)
        lang = lang_of(request)
        return render(
            request, "login.html", None, 401, csrf=cookie, error=text(lang, "login.failed"), lang=lang
        )
    done = redirect(PREFIX + "/")
    start_session(session, settings, user, done)
    return done


@router.post("/logout")
def logout(session: SessionDep, con: CheckedDep) -> Response:
    """Ends the console session (the token is revoked in the database)."""
    auth.revoke_token(session, con.actor, con.token)
    response = redirect(PREFIX + "/login")
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


@router.get("/lang/{code}")
def switch_language(code: str, request: Request, settings: SettingsDep, back: str = "/console/") -> Response:
    """Switches the console language (a cookie; only paths inside the console are followed back)."""
    target = back if back.startswith(PREFIX + "/") and "//" not in back else PREFIX + "/"
    response = redirect(target)
    response.set_cookie(
        LANG_COOKIE,
        normalize(code),
        max_age=365 * 86400,
        samesite="lax",
        secure=secure_cookies(settings),
        path=PREFIX,
    )
    return response


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, con: ConsoleDep) -> Response:
    """Rounds in progress, coverage, visits per day, findings, the ledger by state and age, cases."""
    active = console_stats.rounds_in_progress(session, con.actor)
    # coverage is a property of a drawn sample: rounds before their draw have none yet
    coverage = [console_stats.round_coverage(session, r) for r in active[:20] if r.drawn_at is not None]
    per_day = console_stats.visits_per_day(session, con.actor)
    findings = console_stats.findings_by_category(session, con.actor)
    board = console_stats.ledger_board(session, con.actor)
    cases = console_stats.case_deadlines(session, con.actor)
    charts = {
        "coverage": {
            "labels": [c.name for c in coverage],
            "share": [round(c.share * 100, 1) for c in coverage],
            "required": [round(c.required * 100, 1) for c in coverage],
        },
        "per_day": {"labels": [d for d, _ in per_day], "values": [n for _, n in per_day]},
    }
    return render(
        request,
        "dashboard.html",
        con,
        active=active,
        coverage=coverage,
        per_day=per_day,
        findings=findings,
        board=board,
        cases=cases,
        charts=charts,
    )
