"""The sandbox's HTTP face: Telegram Bot API routes, the /control API and the /chat page.

Bot API: ``/bot<token>/<method>`` (GET or POST; query string, JSON, form-urlencoded or multipart)
and ``/file/bot<token>/<file_path>``, answering ``{"ok": true, "result": ...}`` or Telegram's error
bodies. Control API: JSON under ``/control/...`` (see sandbox/README.md). Build it with
`create_app()` and serve it with uvicorn (sandbox/runner.py does that in a thread). The routes live
in sandbox/routes/, long polling and webhook delivery in sandbox/delivery.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sandbox.delivery import UpdateDelivery
from sandbox.errors import BotApiError, ControlError
from sandbox.records import SandboxConfig
from sandbox.routes import ROUTERS
from sandbox.state import Sandbox


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    delivery: UpdateDelivery = app.state.delivery
    await delivery.start()
    try:
        yield
    finally:
        await delivery.stop()


async def _control_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ControlError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status)


async def _bot_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BotApiError)
    if request.url.path.startswith("/control"):  # control clients read `detail`, like other errors
        return JSONResponse({"detail": exc.description, "error_code": exc.code}, status_code=exc.code)
    return JSONResponse(exc.body(), status_code=exc.code)


def create_app(sandbox: Sandbox | None = None, config: SandboxConfig | None = None) -> FastAPI:
    """Build the sandbox ASGI app around a Sandbox (a new one by default)."""
    sb = sandbox or Sandbox(config)
    app = FastAPI(
        title="Feijian Telegram sandbox",
        lifespan=_lifespan,
        docs_url="/control/docs",
        openapi_url="/control/openapi.json",
    )
    app.state.sandbox = sb
    app.state.delivery = UpdateDelivery(sb)
    app.add_exception_handler(ControlError, _control_error)
    app.add_exception_handler(BotApiError, _bot_api_error)
    for router in ROUTERS:
        app.include_router(router)
    return app
