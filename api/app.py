"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine

from api import console, problems, web
from api.routes import (
    applications,
    auth,
    cadres,
    case_links,
    cases,
    crosschecks,
    estimates,
    evidence,
    findings,
    health,
    household_import,
    households,
    invites,
    ledger,
    public,
    regions,
    residents_bot,
    reviews,
    rounds,
    telegram,
    users,
    visits,
)
from models.db import make_engine, unit_of_work
from services import round_dispatch
from services.config import Settings, get_settings

log = logging.getLogger("feijian.api")

API_PREFIX = "/api/v1"
# Routes are matched in this order, one after another: the residents' public status lookup (the busiest
# unauthenticated path) comes first.
ROUTERS = [public.router]
ROUTERS += [auth.router, regions.router, household_import.router, households.router, users.router]
ROUTERS += [invites.router, telegram.router]
ROUTERS += [rounds.router]
ROUTERS += [visits.router, evidence.router]
ROUTERS += [findings.router, ledger.router, crosschecks.router]
ROUTERS += [applications.router, cases.router, residents_bot.router]
ROUTERS += [cadres.router, reviews.router, estimates.router]
ROUTERS += [case_links.router]


async def _release_loop(app: FastAPI, every_s: float) -> None:
    """Releases each day's sealed assignments when their day comes (the store's only timer)."""
    while True:
        try:
            await asyncio.to_thread(_release_once, app)
        except Exception:  # the loop must survive a passing database error
            log.exception("daily release failed; retrying later")
        await asyncio.sleep(every_s)


def _release_once(app: FastAPI) -> bool:
    """One release pass; False when another worker's pass holds the release lock (it skips)."""
    with app.state.session_factory() as session:
        return round_dispatch.release_due_once(session) is not None


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    task = None
    if settings.release_every_s > 0:
        task = asyncio.create_task(_release_loop(app, settings.release_every_s))
    try:
        yield
    finally:
        if task is not None:
            task.cancel()


def pool_options(settings: Settings) -> dict[str, int]:
    """The connection pool of an API process on PostgreSQL (SQLite keeps its own defaults)."""
    if not settings.database_url.startswith("postgresql"):
        return {}
    return {"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow}


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Builds the app on the given settings and engine (defaults: the environment's)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="Feijian 飞检 API",
        version="1.0",
        description="Store of record for unannounced inspections of dibao (低保) households.",
        docs_url="/docs",
        openapi_url="/openapi.json",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database_url, **pool_options(settings))
    app.state.session_factory = lambda: unit_of_work(app.state.engine)
    app.state.db_slots = weakref.WeakKeyDictionary()  # per event loop, see api.deps.db_slot
    problems.install(app)
    api = APIRouter(prefix=API_PREFIX)
    for router in ROUTERS:
        api.include_router(router)
    app.include_router(api)
    app.include_router(health.router)
    app.include_router(web.router)
    console.install(app)
    return app
