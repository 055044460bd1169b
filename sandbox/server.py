"""The sandbox's HTTP face: Telegram Bot API routes, the /control API and the /chat page.

Bot API: ``/bot<token>/<method>`` (GET or POST; query string, JSON, form-urlencoded or multipart)
and ``/file/bot<token>/<file_path>``, answering ``{"ok": true, "result": ...}`` or Telegram's error
bodies. Control API: JSON under ``/control/...`` (see sandbox/README.md). Build it with
`create_app()` and serve it with uvicorn (sandbox/runner.py does that in a thread).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from sandbox.state import (
    BotApiError,
    BotRecord,
    ControlError,
    Params,
    RateLimit,
    Sandbox,
    SandboxConfig,
    Upload,
)

STATIC_DIR = Path(__file__).resolve().parent / "static"
JSON = dict[str, Any]


class _Notifier:
    """Wakes long polls and webhook workers of a bot when its queue or webhook changes."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.events: dict[str, asyncio.Event] = {}
        self.on_change: list[Any] = []

    def notify(self, bot: BotRecord) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake(bot)
        else:
            loop.call_soon_threadsafe(self._wake, bot)

    def _wake(self, bot: BotRecord) -> None:
        ev = self.events.pop(bot.token, None)
        if ev is not None:
            ev.set()
        for cb in self.on_change:
            cb(bot)

    async def wait(self, token: str, timeout: float) -> None:
        ev = self.events.setdefault(token, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ev.wait(), timeout)


# ------------------------------------------------------------------------------ control bodies


class BotIn(BaseModel):
    """Register a bot token."""

    token: str
    first_name: str | None = None
    username: str | None = None
    default: bool = False


class UserIn(BaseModel):
    """Create or update a simulated user."""

    id: int | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


class TextIn(BaseModel):
    """The user sends text or a command."""

    text: str
    reply_to_message_id: int | None = None


class PressIn(BaseModel):
    """The user presses an inline button."""

    message_id: int
    data: str
    check: bool = True


class LocationIn(BaseModel):
    """The user shares a location (live when live_period is set)."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    horizontal_accuracy: float | None = None
    live_period: int | None = None
    heading: int | None = None


class LiveStartIn(LocationIn):
    """The user starts sharing a live location."""

    live_period: int | None = 900


class LiveMoveIn(BaseModel):
    """The user's live location moves."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    message_id: int | None = None
    heading: int | None = None
    horizontal_accuracy: float | None = None


class LiveStopIn(BaseModel):
    """The user stops sharing a live location."""

    message_id: int | None = None


class VenueIn(BaseModel):
    """The user sends a venue."""

    latitude: float
    longitude: float
    title: str
    address: str
    foursquare_id: str | None = None
    google_place_id: str | None = None


class ContactIn(BaseModel):
    """The user shares a contact."""

    phone_number: str
    first_name: str
    last_name: str | None = None
    user_id: int | None = None


class StickerIn(BaseModel):
    """The user sends a sticker."""

    emoji: str = "👍"
    set_name: str | None = None


class ForwardIn(BaseModel):
    """The user forwards a message (an existing one, or text with a forward_origin)."""

    text: str | None = None
    origin: JSON | None = None
    from_chat_id: int | None = None
    message_id: int | None = None


class BlockIn(BaseModel):
    """Mark a user as having blocked (or unblocked) the bot."""

    blocked: bool = True
    emit_update: bool = True


class ForceIn(BaseModel):
    """Make the next `count` calls fail with 429."""

    count: int = Field(default=1, ge=0)
    retry_after: int = Field(default=1, ge=1)
    methods: list[str] | None = None


class LimitIn(BaseModel):
    """A rate limit: at most `limit` calls per `window` seconds."""

    limit: int = Field(ge=1)
    window: float = Field(default=1.0, gt=0)


class ConfigIn(BaseModel):
    """Change sandbox behaviour (fields left out are unchanged; null disables a limit)."""

    auto_register: bool | None = None
    per_chat_limit: LimitIn | None = None
    global_limit: LimitIn | None = None
    webhook_retry_initial: float | None = None
    webhook_retry_max: float | None = None
    webhook_timeout: float | None = None


class PlaceIn(BaseModel):
    """A named point (e.g. a household) offered by the chat page."""

    name: str
    latitude: float
    longitude: float
    address: str | None = None
    id: str | None = None


class PlacesIn(BaseModel):
    """Replace (or extend) the list of named points."""

    places: list[PlaceIn]
    replace: bool = True


class PhotoJsonIn(BaseModel):
    """A photo or document given as base64 in JSON instead of multipart."""

    data_base64: str
    caption: str | None = None
    as_file: bool = False
    file_name: str | None = None
    mime_type: str | None = None


# ------------------------------------------------------------------------------------- the app


def _ok(result: Any, description: str | None = None) -> JSONResponse:
    body: JSON = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return JSONResponse(body)


async def _read_params(request: Request) -> Params:
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


def create_app(sandbox: Sandbox | None = None, config: SandboxConfig | None = None) -> FastAPI:
    """Build the sandbox ASGI app around a Sandbox (a new one by default)."""
    sb = sandbox or Sandbox(config)
    notifier = _Notifier()
    sb.listeners.append(notifier.notify)
    workers: dict[str, asyncio.Task[None]] = {}
    state: JSON = {"client": None, "closing": False}

    async def webhook_worker(bot: BotRecord) -> None:
        delay = sb.config.webhook_retry_initial
        client: httpx.AsyncClient = state["client"]
        while bot.webhook_url and not state["closing"]:
            update = sb.next_webhook_update(bot)
            if update is None:
                await notifier.wait(bot.token, 30)
                continue
            url, secret = bot.webhook_url, bot.webhook_secret
            headers = {"Content-Type": "application/json"}
            if secret:
                headers["X-Telegram-Bot-Api-Secret-Token"] = secret
            error: str | None = None
            try:
                resp = await client.post(
                    url,
                    content=json.dumps(update).encode(),
                    headers=headers,
                    timeout=sb.config.webhook_timeout,
                )
                if not 200 <= resp.status_code < 300:
                    error = f"Wrong response from the webhook: {resp.status_code} {resp.reason_phrase}"
            except httpx.HTTPError as exc:
                error = f"Connection failed: {exc.__class__.__name__}"
            if error is None:
                sb.webhook_delivered(bot, update["update_id"])
                delay = sb.config.webhook_retry_initial
            else:
                sb.webhook_failed(bot, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, sb.config.webhook_retry_max)

    def on_change(bot: BotRecord) -> None:
        if bot.webhook_url and not state["closing"]:
            task = workers.get(bot.token)
            if task is None or task.done():
                workers[bot.token] = asyncio.get_running_loop().create_task(webhook_worker(bot))

    notifier.on_change.append(on_change)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        notifier.loop = asyncio.get_running_loop()
        state["client"] = httpx.AsyncClient()
        with sb.lock:
            bots = list(sb.bots.values())
        for bot in bots:
            on_change(bot)
        try:
            yield
        finally:
            state["closing"] = True
            for ev in list(notifier.events.values()):
                ev.set()
            for task in workers.values():
                task.cancel()
            await state["client"].aclose()

    app = FastAPI(
        title="Feijian Telegram sandbox",
        lifespan=lifespan,
        docs_url="/control/docs",
        openapi_url="/control/openapi.json",
    )
    app.state.sandbox = sb

    @app.exception_handler(ControlError)
    async def control_error(request: Request, exc: ControlError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(BotApiError)
    async def bot_api_error(request: Request, exc: BotApiError) -> JSONResponse:
        if request.url.path.startswith("/control"):
            return JSONResponse({"detail": exc.description, "error_code": exc.code}, status_code=exc.code)
        return JSONResponse(exc.body(), status_code=exc.code)

    # ------------------------------------------------------------------------------ Bot API

    async def long_poll(bot: BotRecord, params: Params) -> list[JSON]:
        offset = params.get_int("offset")
        limit = max(1, min(100, params.get_int("limit") or 100))
        timeout = max(0, params.get_int("timeout") or 0)
        allowed = params.get_json("allowed_updates")
        if allowed is not None and not isinstance(allowed, list):
            raise BotApiError(400, "Bad Request: can't parse allowed_updates JSON object")
        with sb.lock:
            bot.poll_generation += 1
            generation = bot.poll_generation
        notifier.notify(bot)  # a newer getUpdates terminates a waiting one, as in Telegram
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        first = True
        while True:
            if bot.poll_generation != generation:
                raise BotApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            updates = sb.get_updates(bot, offset if first else None, limit, allowed if first else None)
            first = False
            remaining = deadline - loop.time()
            if updates or remaining <= 0 or state["closing"]:
                return updates
            await notifier.wait(bot.token, remaining)

    @app.api_route("/bot{token}/{method}", methods=["GET", "POST"], include_in_schema=False)
    async def bot_api(token: str, method: str, request: Request) -> Response:
        bot = sb.bot_for_api(token)
        params = await _read_params(request)
        name = method.lower()
        if name == "getupdates":
            return _ok(await long_poll(bot, params))
        if params.uploads:
            result = await asyncio.to_thread(sb.call, bot, name, params)
        else:
            result = sb.call(bot, name, params)
        description = {"setwebhook": "Webhook was set", "deletewebhook": "Webhook was deleted"}.get(name)
        if name == "setwebhook" and not bot.webhook_url:
            description = "Webhook was deleted"
        return _ok(result, description)

    @app.get("/file/bot{token}/{file_path:path}", include_in_schema=False)
    async def file_download(token: str, file_path: str) -> Response:
        sb.bot_for_api(token)
        stored = sb.file_by_path(file_path)
        if stored is None:
            return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404)
        return Response(stored.data, media_type=stored.mime_type)

    # ---------------------------------------------------------------------------- control

    @app.get("/control/health")
    async def health() -> JSON:
        """Liveness probe."""
        return {"ok": True}

    @app.get("/control/bots")
    async def list_bots() -> list[JSON]:
        """List known bots."""
        with sb.lock:
            return [sb.bot_info(b) for b in sb.bots.values()]

    @app.post("/control/bots")
    async def add_bot(body: BotIn) -> JSON:
        """Register a bot token (optionally as the default bot for control calls)."""
        bot = sb.register_bot(body.token, body.first_name, body.username)
        if body.default:
            sb.default_bot = bot.token
        return sb.bot_info(bot)

    @app.delete("/control/bots/{token}")
    async def revoke_bot(token: str) -> JSON:
        """Revoke a token: its Bot API calls now get 401 Unauthorized."""
        sb.revoke_bot(token)
        return {"revoked": token}

    @app.get("/control/config")
    async def get_config() -> JSON:
        """Return the sandbox config."""
        return sb.config.to_json()

    @app.post("/control/config")
    async def set_config(body: ConfigIn) -> JSON:
        """Change the config: rate limits, auto-registration, webhook retry timings."""
        given = body.model_fields_set
        cfg = sb.config
        with sb.lock:
            if body.auto_register is not None:
                cfg.auto_register = body.auto_register
            if "per_chat_limit" in given:
                cfg.per_chat_limit = (
                    RateLimit(**body.per_chat_limit.model_dump()) if body.per_chat_limit else None
                )
            if "global_limit" in given:
                cfg.global_limit = RateLimit(**body.global_limit.model_dump()) if body.global_limit else None
            for key in ("webhook_retry_initial", "webhook_retry_max", "webhook_timeout"):
                if getattr(body, key) is not None:
                    setattr(cfg, key, getattr(body, key))
        return cfg.to_json()

    @app.post("/control/rate_limit/force")
    async def force_429(body: ForceIn, bot: str | None = None) -> JSON:
        """Make the next `count` message calls (or `methods`; ["*"] = any) of a bot fail with 429."""
        b = sb.resolve_bot(bot)
        sb.force_errors(b, body.count, body.retry_after, body.methods)
        return {"bot": b.username, "pending": len(b.forced_errors)}

    @app.post("/control/reset")
    async def reset() -> JSON:
        """Forget all bots, users, chats, files and places."""
        with sb.lock:
            sb.bots.clear()
            sb.default_bot = None
            sb.users.clear()
            sb.files.clear()
            sb.paths.clear()
            sb.places.clear()
        return {"ok": True}

    @app.get("/control/users")
    async def list_users() -> list[JSON]:
        """List simulated users."""
        with sb.lock:
            return [dict(u) for u in sb.users.values()]

    @app.post("/control/users")
    async def create_user(body: UserIn) -> JSON:
        """Create (or update) a simulated user; returns its Telegram User object."""
        return sb.create_user(body.id, body.first_name, body.last_name, body.username, body.language_code)

    @app.get("/control/users/{user_id}")
    async def get_user(user_id: int) -> JSON:
        """Return one user."""
        return sb.user(user_id)

    @app.post("/control/users/{user_id}/block")
    async def block(user_id: int, body: BlockIn, bot: str | None = None) -> JSON:
        """Mark the user as having blocked the bot (sendMessage then gets 403)."""
        b = sb.resolve_bot(bot)
        update = sb.set_blocked(b, user_id, body.blocked, body.emit_update)
        return {"user_id": user_id, "blocked": body.blocked, "update": update}

    @app.post("/control/users/{user_id}/text")
    async def send_text(user_id: int, body: TextIn, bot: str | None = None) -> JSON:
        """The user sends text; a leading /command gets a bot_command entity."""
        return sb.act_text(sb.resolve_bot(bot), user_id, body.text, body.reply_to_message_id)

    @app.post("/control/users/{user_id}/press")
    async def press(user_id: int, body: PressIn, bot: str | None = None) -> JSON:
        """The user presses an inline button of a bot message."""
        return sb.act_press(sb.resolve_bot(bot), user_id, body.message_id, body.data, body.check)

    @app.post("/control/users/{user_id}/location")
    async def location(user_id: int, body: LocationIn, bot: str | None = None) -> JSON:
        """The user shares a location."""
        return sb.act_location(
            sb.resolve_bot(bot),
            user_id,
            body.latitude,
            body.longitude,
            body.horizontal_accuracy,
            body.live_period,
            body.heading,
        )

    @app.post("/control/users/{user_id}/live_location")
    async def live_start(user_id: int, body: LiveStartIn, bot: str | None = None) -> JSON:
        """The user starts a live location (default live_period 900 s)."""
        return sb.act_location(
            sb.resolve_bot(bot),
            user_id,
            body.latitude,
            body.longitude,
            body.horizontal_accuracy,
            body.live_period or 900,
            body.heading,
        )

    @app.post("/control/users/{user_id}/live_location/move")
    async def live_move(user_id: int, body: LiveMoveIn, bot: str | None = None) -> JSON:
        """The user's live location moves: an edited_message with edit_date."""
        return sb.act_move_live(
            sb.resolve_bot(bot),
            user_id,
            body.latitude,
            body.longitude,
            body.message_id,
            body.heading,
            body.horizontal_accuracy,
        )

    @app.post("/control/users/{user_id}/live_location/stop")
    async def live_stop(user_id: int, body: LiveStopIn, bot: str | None = None) -> JSON:
        """The user stops sharing the live location."""
        return sb.act_move_live(sb.resolve_bot(bot), user_id, None, None, body.message_id, stop=True)

    async def _media_input(request: Request) -> tuple[bytes, JSON]:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "application/json":
            body = PhotoJsonIn.model_validate(await request.json())
            try:
                data = base64.b64decode(body.data_base64)
            except ValueError:
                raise ControlError(400, "data_base64 is not base64") from None
            return data, body.model_dump(exclude={"data_base64"})
        form = await request.form(max_part_size=50 * 1024 * 1024)
        upload = form.get("file") or form.get("photo") or form.get("document")
        if not isinstance(upload, UploadFile):
            raise ControlError(400, "send the image as multipart field 'file'")
        data = await upload.read()
        fields: JSON = {k: v for k, v in form.items() if isinstance(v, str)}
        fields.setdefault("file_name", upload.filename)
        fields.setdefault("mime_type", None)
        fields["as_file"] = str(fields.get("as_file", "")).lower() in ("1", "true", "yes", "on")
        return data, fields

    @app.post("/control/users/{user_id}/photo")
    async def photo(user_id: int, request: Request, bot: str | None = None) -> JSON:
        """The user sends an image as a photo (recompressed, EXIF stripped) or, with as_file, as a file."""
        b = sb.resolve_bot(bot)
        data, f = await _media_input(request)
        if f.get("as_file"):
            return await asyncio.to_thread(
                sb.act_document,
                b,
                user_id,
                data,
                f.get("file_name") or "photo.jpg",
                f.get("mime_type"),
                f.get("caption"),
            )
        return await asyncio.to_thread(sb.act_photo, b, user_id, data, f.get("caption"))

    @app.post("/control/users/{user_id}/document")
    async def document(user_id: int, request: Request, bot: str | None = None) -> JSON:
        """The user sends a file: bytes kept unchanged."""
        b = sb.resolve_bot(bot)
        data, f = await _media_input(request)
        return await asyncio.to_thread(
            sb.act_document,
            b,
            user_id,
            data,
            f.get("file_name") or "file",
            f.get("mime_type"),
            f.get("caption"),
        )

    @app.post("/control/users/{user_id}/venue")
    async def venue(user_id: int, body: VenueIn, bot: str | None = None) -> JSON:
        """The user sends a venue."""
        return sb.act_venue(sb.resolve_bot(bot), user_id, body.model_dump(exclude_none=True))

    @app.post("/control/users/{user_id}/contact")
    async def contact(user_id: int, body: ContactIn, bot: str | None = None) -> JSON:
        """The user shares a contact."""
        return sb.act_contact(sb.resolve_bot(bot), user_id, body.model_dump(exclude_none=True))

    @app.post("/control/users/{user_id}/sticker")
    async def sticker(user_id: int, body: StickerIn, bot: str | None = None) -> JSON:
        """The user sends a sticker."""
        return await asyncio.to_thread(
            sb.act_sticker, sb.resolve_bot(bot), user_id, body.emoji, body.set_name
        )

    @app.post("/control/users/{user_id}/forward")
    async def forward(user_id: int, body: ForwardIn, bot: str | None = None) -> JSON:
        """The user forwards a message (forward_origin set)."""
        return sb.act_forward(
            sb.resolve_bot(bot), user_id, body.text, body.origin, body.from_chat_id, body.message_id
        )

    @app.post("/control/updates")
    async def inject(request: Request, bot: str | None = None, complete: bool = False) -> JSON:
        """Queue a raw Update as-is (update_id assigned when absent; see Sandbox.inject for complete)."""
        try:
            update = await request.json()
        except ValueError:
            raise ControlError(400, "body must be an Update JSON object") from None
        b = sb.resolve_bot(bot)
        queued = sb.inject(b, update, complete)
        return {"update_id": queued["update_id"], "update": queued, "cursor": sb.cursor()}

    @app.get("/control/chats/{chat_id}/messages")
    async def chat_messages(chat_id: int, since: int = 0, who: str = "bot", bot: str | None = None) -> JSON:
        """Messages of the chat changed after `since` (who = bot | user | all), edits applied."""
        if who not in ("bot", "user", "all"):
            raise ControlError(400, "who must be bot, user or all")
        return sb.chat_messages(sb.resolve_bot(bot), chat_id, since, who)

    @app.get("/control/callbacks/{query_id}")
    async def callback_answer(query_id: str, bot: str | None = None) -> JSON:
        """The bot's answerCallbackQuery for a pressed button (answered: false until it answers)."""
        answer = sb.callback_answer(sb.resolve_bot(bot), query_id)
        return {"answered": answer is not None, "answer": answer}

    @app.get("/control/files/{file_id}")
    async def control_file(file_id: str) -> Response:
        """Download a stored file without a bot token (for the chat page and tests)."""
        stored = sb.file_by_id(file_id)
        return Response(stored.data, media_type=stored.mime_type)

    @app.get("/control/places")
    async def get_places() -> list[JSON]:
        """Named points offered by the chat page (e.g. households of the demo round)."""
        with sb.lock:
            return list(sb.places)

    @app.post("/control/places")
    async def set_places(body: PlacesIn) -> list[JSON]:
        """Replace (or extend) the named points."""
        with sb.lock:
            if body.replace:
                sb.places.clear()
            sb.places.extend(p.model_dump(exclude_none=True) for p in body.places)
            return list(sb.places)

    # ------------------------------------------------------------------------------ /chat

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        return Response(status_code=307, headers={"Location": "/chat"})

    @app.get("/chat", include_in_schema=False)
    async def chat_page() -> Response:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/chat/{name}", include_in_schema=False)
    async def chat_asset(name: str) -> Response:
        path = (STATIC_DIR / name).resolve()
        if path.parent != STATIC_DIR or not path.is_file():
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return FileResponse(path)

    return app
