"""The console's web layer: its own Jinja2 environment, sessions in the database, CSRF, languages.

A console session is an `ApiToken` named "console" (stored hashed, expiring, revocable), so sessions
live in the database and every worker sees them. The cookie is HttpOnly, SameSite=Lax and Secure when
the public URL is https. The CSRF token of a session is an HMAC of the session token: a form must
carry it, and the server recomputes and compares it. Before login, a double-submit cookie guards the
login form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session

from api.deps import SessionDep
from locales.lang import LANG_NAMES, LANGS, normalize, translations
from models.user import User
from services import auth
from services.config import Settings
from services.context import Actor
from services.errors import Forbidden, Unauthorized

HERE = Path(__file__).resolve().parent
PREFIX = "/console"
SESSION_COOKIE = "fj_console"
LOGIN_CSRF_COOKIE = "fj_console_login"
LANG_COOKIE = "fj_console_lang"
SESSION_NAME = "console"

env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"], default=True),
)


class LoginRequired(Exception):
    """No valid console session: the handler sends the browser to the login page."""


def secure_cookies(settings: Settings) -> bool:
    """Whether cookies get the Secure flag (the console is served over https)."""
    return (settings.public_url or "").lower().startswith("https://")


def csrf_for(session_token: str) -> str:
    """The CSRF token bound to a session token (an attacker knows neither)."""
    return hmac.new(session_token.encode(), b"feijian-console-csrf", hashlib.sha256).hexdigest()


def lang_of(request: Request, user: User | None = None) -> str:
    """The page language: the switch cookie, else the account's language, else zh-CN."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen:
        return normalize(chosen)
    return normalize(user.language if user else None)


@dataclass(frozen=True)
class Console:
    """The signed-in console user of a request."""

    actor: Actor
    user: User
    token: str
    lang: str

    @property
    def csrf(self) -> str:
        """The token every form of this session carries."""
        return csrf_for(self.token)


def current(request: Request, session: SessionDep) -> Console:
    """The console session of the request; LoginRequired when absent, expired or revoked."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired()
    try:
        user = auth.resolve_token(session, token)
    except Unauthorized as exc:
        raise LoginRequired() from exc
    lang = lang_of(request, user)
    return Console(Actor.of(user, lang=lang), user, token, lang)


ConsoleDep = Annotated[Console, Depends(current)]


async def checked(request: Request, con: ConsoleDep) -> Console:
    """A console session whose form carries the right CSRF token (403 otherwise)."""
    form = await request.form()
    sent = form.get("csrf_token")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, con.csrf):
        raise Forbidden()
    return con


CheckedDep = Annotated[Console, Depends(checked)]


def _t(lang: str) -> Any:
    tr = translations("console", lang)

    def gettext(msgid: str, **params: Any) -> str:
        text = tr.gettext(msgid)
        return text.format(**params) if params else text

    return gettext


def text(lang: str, msgid: str, **params: Any) -> str:
    """One console text in a language."""
    return str(_t(lang)(msgid, **params))


def render(
    request: Request,
    name: str,
    con: Console | None,
    status_code: int = 200,
    lang: str | None = None,
    **ctx: Any,
) -> HTMLResponse:
    """Renders a console template with the session, the language switch and the texts."""
    lang = lang or (con.lang if con else lang_of(request))
    tmpl = env.get_template(name)
    gettext = _t(lang)
    html = tmpl.render(
        request=request,
        con=con,
        lang=lang,
        langs=[(code, LANG_NAMES[code]) for code in LANGS],
        _=gettext,
        prefix=PREFIX,
        path=request.url.path,
        **ctx,
    )
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data: https: http:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-ancestors 'none'"
    )
    return response


def redirect(url: str) -> RedirectResponse:
    """A 303 redirect (after a POST the browser GETs the target)."""
    return RedirectResponse(url, status_code=303)


def start_session(session: Session, settings: Settings, user: User, response: Response) -> None:
    """Issues a console session for the user and sets its cookie."""
    token, expires = auth.issue_token(session, user, settings.token_ttl_hours, name=SESSION_NAME)
    max_age = max(1, int((expires - datetime.now(expires.tzinfo)).total_seconds()))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(settings),
        path=PREFIX,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)


def login_csrf(request: Request) -> str:
    """The login form's double-submit token: the cookie's value, or a new one."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def set_login_csrf(response: Response, token: str, settings: Settings) -> None:
    """Sets the login form's double-submit cookie."""
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(settings),
        path=PREFIX,
        max_age=3600,
    )
