"""Webhook mode: a small ASGI endpoint that checks Telegram's secret header in constant time."""

from __future__ import annotations

import hmac
import logging
from typing import Any
from urllib.parse import urlparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.runtime import runtime_of
from bot.settings import BotSettings

log = logging.getLogger("feijian.bot.webhook")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


def webhook_app(app: Application[Any, Any, Any, Any, Any, Any], path: str, secret: str | None) -> Starlette:
    """The ASGI app that stores verified raw updates in the bot's inbox (parsed later, by the worker)."""

    async def receive(request: Request) -> Response:
        if secret is not None:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), secret.encode()):
                return Response(status_code=403)
        try:
            raw = await request.json()
        except ValueError:
            return Response(status_code=400)
        if not isinstance(raw, dict) or not isinstance(raw.get("update_id"), int):
            return Response(status_code=400)
        inbox = runtime_of(app).inbox
        if inbox is None:
            return Response(status_code=503)  # not started yet: Telegram delivers it again
        # Stored first, then 200: an update Telegram considers delivered is never only in memory.
        inbox.store([raw])
        return Response(status_code=200)

    return Starlette(routes=[Route(path, receive, methods=["POST"])])


async def run_webhook(app: Application[Any, Any, Any, Any, Any, Any], settings: BotSettings) -> None:
    """Registers the webhook with Telegram (or the sandbox) and serves it until interrupted."""
    from bot.app import start, stop, until_reachable

    assert settings.webhook_url
    path = urlparse(settings.webhook_url).path or "/"
    server = uvicorn.Server(
        uvicorn.Config(
            webhook_app(app, path, settings.webhook_secret),
            host=settings.webhook_listen,
            port=settings.webhook_port,
            log_level="warning",
        )
    )
    await start(app)
    try:
        await until_reachable(
            "setWebhook",
            lambda: app.bot.set_webhook(
                settings.webhook_url, secret_token=settings.webhook_secret, allowed_updates=Update.ALL_TYPES
            ),
        )
        await server.serve()
    finally:
        await stop(app)
