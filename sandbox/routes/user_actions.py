"""Control API user actions: POST /control/users/{id}/... acts as that Telegram user."""

from __future__ import annotations

import asyncio
import base64

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile

from sandbox.errors import ControlError
from sandbox.records import JSON
from sandbox.routes.deps import SandboxDep
from sandbox.routes.schemas import (
    BlockIn,
    ContactIn,
    ForwardIn,
    LiveMoveIn,
    LiveStartIn,
    LiveStopIn,
    LocationIn,
    OfflineIn,
    PhotoJsonIn,
    PressIn,
    StickerIn,
    TextIn,
    VenueIn,
)

router = APIRouter()


@router.post("/control/users/{user_id}/block")
async def block(sb: SandboxDep, user_id: int, body: BlockIn, bot: str | None = None) -> JSON:
    """Mark the user as having blocked the bot (sendMessage then gets 403)."""
    b = sb.resolve_bot(bot)
    update = sb.set_blocked(b, user_id, body.blocked, body.emit_update)
    return {"user_id": user_id, "blocked": body.blocked, "update": update}


@router.post("/control/users/{user_id}/offline")
async def offline(sb: SandboxDep, user_id: int, body: OfflineIn, bot: str | None = None) -> JSON:
    """Take the user offline (hold their updates) or online (release them in one burst, dates kept)."""
    return sb.set_offline(sb.resolve_bot(bot), user_id, body.offline)


@router.get("/control/users/{user_id}/held")
async def held(sb: SandboxDep, user_id: int, bot: str | None = None) -> JSON:
    """The updates held for an offline user, oldest first."""
    b = sb.resolve_bot(bot)
    return {"user_id": user_id, "offline": user_id in b.held, "held": sb.held_updates(b, user_id)}


@router.post("/control/users/{user_id}/text")
async def send_text(sb: SandboxDep, user_id: int, body: TextIn, bot: str | None = None) -> JSON:
    """The user sends text; a leading /command gets a bot_command entity."""
    return sb.act_text(sb.resolve_bot(bot), user_id, body.text, body.reply_to_message_id, body.date)


@router.post("/control/users/{user_id}/press")
async def press(sb: SandboxDep, user_id: int, body: PressIn, bot: str | None = None) -> JSON:
    """The user presses an inline button of a bot message."""
    return sb.act_press(sb.resolve_bot(bot), user_id, body.message_id, body.data, body.check)


@router.post("/control/users/{user_id}/location")
async def location(sb: SandboxDep, user_id: int, body: LocationIn, bot: str | None = None) -> JSON:
    """The user shares a location."""
    return sb.act_location(
        sb.resolve_bot(bot),
        user_id,
        body.latitude,
        body.longitude,
        body.horizontal_accuracy,
        body.live_period,
        body.heading,
        body.date,
    )


@router.post("/control/users/{user_id}/live_location")
async def live_start(sb: SandboxDep, user_id: int, body: LiveStartIn, bot: str | None = None) -> JSON:
    """The user starts a live location (default live_period 900 s)."""
    return sb.act_location(
        sb.resolve_bot(bot),
        user_id,
        body.latitude,
        body.longitude,
        body.horizontal_accuracy,
        body.live_period or 900,
        body.heading,
        body.date,
    )


@router.post("/control/users/{user_id}/live_location/move")
async def live_move(sb: SandboxDep, user_id: int, body: LiveMoveIn, bot: str | None = None) -> JSON:
    """The user's live location moves: an edited_message with edit_date."""
    return sb.act_move_live(
        sb.resolve_bot(bot),
        user_id,
        body.latitude,
        body.longitude,
        body.message_id,
        body.heading,
        body.horizontal_accuracy,
        date=body.date,
    )


@router.post("/control/users/{user_id}/live_location/stop")
async def live_stop(sb: SandboxDep, user_id: int, body: LiveStopIn, bot: str | None = None) -> JSON:
    """The user stops sharing the live location."""
    return sb.act_move_live(
        sb.resolve_bot(bot), user_id, None, None, body.message_id, stop=True, date=body.date
    )


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
    raw_date = fields.get("date")
    if raw_date in (None, ""):
        fields["date"] = None
    else:
        try:
            fields["date"] = int(str(raw_date))
        except ValueError:
            raise ControlError(400, "date must be a Unix time in seconds") from None
    return data, fields


@router.post("/control/users/{user_id}/photo")
async def photo(sb: SandboxDep, user_id: int, request: Request, bot: str | None = None) -> JSON:
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
            f.get("date"),
        )
    return await asyncio.to_thread(sb.act_photo, b, user_id, data, f.get("caption"), f.get("date"))


@router.post("/control/users/{user_id}/document")
async def document(sb: SandboxDep, user_id: int, request: Request, bot: str | None = None) -> JSON:
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
        f.get("date"),
    )


@router.post("/control/users/{user_id}/venue")
async def venue(sb: SandboxDep, user_id: int, body: VenueIn, bot: str | None = None) -> JSON:
    """The user sends a venue."""
    return sb.act_venue(
        sb.resolve_bot(bot), user_id, body.model_dump(exclude_none=True, exclude={"date"}), body.date
    )


@router.post("/control/users/{user_id}/contact")
async def contact(sb: SandboxDep, user_id: int, body: ContactIn, bot: str | None = None) -> JSON:
    """The user shares a contact."""
    return sb.act_contact(
        sb.resolve_bot(bot), user_id, body.model_dump(exclude_none=True, exclude={"date"}), body.date
    )


@router.post("/control/users/{user_id}/sticker")
async def sticker(sb: SandboxDep, user_id: int, body: StickerIn, bot: str | None = None) -> JSON:
    """The user sends a sticker."""
    return await asyncio.to_thread(
        sb.act_sticker, sb.resolve_bot(bot), user_id, body.emoji, body.set_name, body.date
    )


@router.post("/control/users/{user_id}/forward")
async def forward(sb: SandboxDep, user_id: int, body: ForwardIn, bot: str | None = None) -> JSON:
    """The user forwards a message (forward_origin set)."""
    return sb.act_forward(
        sb.resolve_bot(bot),
        user_id,
        body.text,
        body.origin,
        body.from_chat_id,
        body.message_id,
        body.date,
    )
