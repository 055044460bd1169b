"""Control API data: raw updates in, chats, callback answers and files out, and the chat page's places."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox.errors import ControlError
from sandbox.records import JSON
from sandbox.routes.deps import SandboxDep
from sandbox.routes.schemas import PlacesIn

router = APIRouter()


@router.post("/control/updates")
async def inject(sb: SandboxDep, request: Request, bot: str | None = None, complete: bool = False) -> JSON:
    """Queue a raw Update as-is (update_id assigned when absent; see Sandbox.inject for complete)."""
    try:
        update = await request.json()
    except ValueError:
        raise ControlError(400, "body must be an Update JSON object") from None
    b = sb.resolve_bot(bot)
    queued = sb.inject(b, update, complete)
    return {"update_id": queued["update_id"], "update": queued, "cursor": sb.cursor()}


@router.get("/control/chats/{chat_id}/messages")
async def chat_messages(
    sb: SandboxDep, chat_id: int, since: int = 0, who: str = "bot", bot: str | None = None
) -> JSON:
    """Messages of the chat changed after `since` (who = bot | user | all), edits applied."""
    if who not in ("bot", "user", "all"):
        raise ControlError(400, "who must be bot, user or all")
    return sb.chat_messages(sb.resolve_bot(bot), chat_id, since, who)


@router.get("/control/callbacks/{query_id}")
async def callback_answer(sb: SandboxDep, query_id: str, bot: str | None = None) -> JSON:
    """The bot's answerCallbackQuery for a pressed button (answered: false until it answers)."""
    answer = sb.callback_answer(sb.resolve_bot(bot), query_id)
    return {"answered": answer is not None, "answer": answer}


@router.get("/control/files/{file_id}")
async def control_file(sb: SandboxDep, file_id: str) -> Response:
    """Download a stored file without a bot token (for the chat page and tests)."""
    stored = sb.file_by_id(file_id)
    return Response(stored.data, media_type=stored.mime_type)


@router.get("/control/places")
async def get_places(sb: SandboxDep) -> list[JSON]:
    """Named points offered by the chat page (e.g. households of the demo round)."""
    with sb.lock:
        return list(sb.places)


@router.post("/control/places")
async def set_places(sb: SandboxDep, body: PlacesIn) -> list[JSON]:
    """Replace (or extend) the named points."""
    with sb.lock:
        if body.replace:
            sb.places.clear()
        sb.places.extend(p.model_dump(exclude_none=True) for p in body.places)
        return list(sb.places)
