"""Dependencies: one unit of work per request, the authenticated actor, role checks."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool
from sqlmodel import Session

from api.problems import DB_COMMITTING, lang_of
from models.user import Role
from services import auth, telegram
from services.config import Settings
from services.context import Actor
from services.errors import Unauthorized

_bearer = HTTPBearer(auto_error=False)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Opens the request's unit of work; commits before the response, rolls back on error.

    Async on purpose: the commit then runs on the event loop, not in the worker-thread pool. A
    sync dependency's exit needs a free worker thread, and under load every thread can be busy
    waiting for the audit-chain lock that this very commit would release. A connection lost before
    the commit leaves nothing written (a read is then run once more); one lost during it may have
    committed, so it is marked and never retried.
    """
    async with db_slot(request.app):
        with Session(request.app.state.engine, expire_on_commit=False) as session:
            try:
                yield session
                request.scope[DB_COMMITTING] = True
                session.commit()
            except BaseException:
                session.rollback()
                raise


def pool_capacity(engine: Engine) -> int | None:
    """How many connections the engine's pool hands out at most (None: no fixed bound)."""
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return None
    overflow = int(getattr(pool, "_max_overflow", 0))
    return None if overflow < 0 else pool.size() + overflow


@asynccontextmanager
async def db_slot(app: FastAPI) -> AsyncIterator[None]:
    """Admits a request to the database only while a pooled connection is free for it.

    Requests hold their connection from the actor's lookup (a worker thread) to the commit (the
    event loop); in between the endpoint waits for a worker thread. Left alone, a peak fills every
    worker thread with requests waiting for a connection while the requests holding all connections
    wait for a thread, and everything stalls until the pool's 30 s timeout. Waiting here, on the
    event loop and before any connection is taken, keeps the two from blocking each other; one
    connection stays free for the release timer and background jobs.
    """
    capacity = pool_capacity(app.state.engine)
    if capacity is None:
        yield
        return
    loop = asyncio.get_running_loop()
    slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = app.state.db_slots
    sem = slots.get(loop)
    if sem is None:
        sem = slots[loop] = asyncio.Semaphore(max(1, capacity - 1))
    async with sem:
        yield


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_settings_dep(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_actor(
    request: Request,
    session: SessionDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The actor behind the bearer token; 401 when missing or invalid."""
    if creds is None or not creds.credentials:
        raise Unauthorized()
    user = auth.resolve_token(session, creds.credentials)
    lang = lang_of(request) if request.headers.get("accept-language") else None
    on_behalf = request.headers.get(telegram.TELEGRAM_USER_HEADER)
    if user.role == Role.bot and on_behalf:
        # The bot's service token acts for the bound user; the audit log records "via bot".
        return telegram.actor_via_bot(session, user, on_behalf, lang)
    return Actor.of(user, lang=lang)


ActorDep = Annotated[Actor, Depends(get_actor)]


def require(*roles: Role) -> Callable[[Actor], Actor]:
    """A dependency that lets through only the given roles (admins always)."""

    def _check(actor: ActorDep) -> Actor:
        actor.require(*roles)
        return actor

    return _check


SupervisorDep = Annotated[Actor, Depends(require(Role.supervisor))]
AdminDep = Annotated[Actor, Depends(require(Role.admin))]
