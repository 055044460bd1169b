"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine

from api import problems
from api.routes import (
    auth,
    evidence,
    health,
    household_import,
    households,
    invites,
    regions,
    rounds,
    telegram,
    users,
    visits,
)
from models.db import make_engine, unit_of_work
from services.config import Settings, get_settings

API_PREFIX = "/api/v1"
ROUTERS = [auth.router, regions.router, household_import.router, households.router, users.router]
ROUTERS += [invites.router, telegram.router]
ROUTERS += [rounds.router]
ROUTERS += [visits.router, evidence.router]


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Builds the app on the given settings and engine (defaults: the environment's)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="Feijian 飞检 API",
        version="1.0",
        description="Store of record for unannounced inspections of dibao (低保) households.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database_url)
    app.state.session_factory = lambda: unit_of_work(app.state.engine)
    problems.install(app)
    api = APIRouter(prefix=API_PREFIX)
    for router in ROUTERS:
        api.include_router(router)
    app.include_router(api)
    app.include_router(health.router)
    return app
