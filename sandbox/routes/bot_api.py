"""The Bot API: GET|POST /bot<token>/<method> with Telegram's parameter encodings and JSON envelope."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from sandbox.errors import BotApiError
from sandbox.params import Params
from sandbox.records import JSON, Upload
from sandbox.routes.deps import DeliveryDep, SandboxDep

router = APIRouter()

#: What Telegram puts next to `result` for these methods.
_DESCRIPTIONS = {"setwebhook": "Webhook was set", "deletewebhook": "Webhook was deleted"}


def ok(result: Any, description: str | None = None) -> JSONResponse:
    """Return Telegram's success envelope."""
    body: JSON = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return JSONResponse(body)


async def read_params(request: Request) -> Params:
    """Read call parameters from the query string and a JSON, form-urlencoded or multipart body."""
    values: dict[str, Any] = dict(request.query_params)
    uploads: dict[str, Upload] = {}
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method == "POST":
        if ctype == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise BotApiError(400, "Bad Request: can't parse JSON object") from None
            if isinstance(body, dict):
                values.update(body)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.form(max_part_size=50 * 1024 * 1024)
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    uploads[key] = Upload(await value.read(), value.filename, value.content_type)
                else:
                    values[key] = value
    return Params(values, uploads)


@router.api_route("/bot{token}/{method}", methods=["GET", "POST"], include_in_schema=False)
async def bot_api(
    token: str, method: str, request: Request, sb: SandboxDep, delivery: DeliveryDep
) -> Response:
    """Run one Bot API method as the bot with this token."""
    bot = sb.bot_for_api(token)
    params = await read_params(request)
    name = method.lower()
    if name == "getupdates":
        return ok(await delivery.get_updates(bot, params))
    if params.uploads:  # image processing takes a while: keep the event loop free
        result = await asyncio.to_thread(sb.call, bot, name, params)
    else:
        result = sb.call(bot, name, params)
    description = _DESCRIPTIONS.get(name)
    if name == "setwebhook" and not bot.webhook_url:
        description = "Webhook was deleted"
    return ok(result, description)
