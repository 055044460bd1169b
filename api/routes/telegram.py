"""The bot's endpoints: bind a Telegram account, the bound user's profile and language, notices.

The bot calls these with its service token; `X-Feijian-Telegram-User` makes it act for a bound user.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from api.deps import ActorDep, SessionDep, require
from api.idempotency import IdempotencyKey, respond
from contracts.telegram import (
    AckIn,
    AckOut,
    BindIn,
    LanguageIn,
    NoticeOut,
    TelegramProfile,
    UnreachableIn,
    UnreachableOut,
)
from models.user import Role
from services import invites, notices, telegram
from services.context import Actor

router = APIRouter(prefix="/telegram", tags=["telegram"])
BotDep = Depends(require(Role.bot))


@router.post("/bind", response_model=TelegramProfile)
def bind(
    data: BindIn, request: Request, session: SessionDep, actor: Actor = BotDep, key: IdempotencyKey = None
) -> JSONResponse:
    """Binds a Telegram account with an invite code; every bad code gets the same answer."""

    def work() -> TelegramProfile:
        return telegram.profile_of(invites.bind(session, actor, data.code, data.telegram_user_id))

    return respond(request, session, actor, key, data, work)


@router.get("/me", response_model=TelegramProfile)
def me(session: SessionDep, actor: ActorDep) -> TelegramProfile:
    """The bound user behind `X-Feijian-Telegram-User` (403 telegram_not_bound otherwise)."""
    return telegram.profile_of(telegram.profile(session, actor))


@router.put("/me/language", response_model=TelegramProfile)
def set_language(
    data: LanguageIn, request: Request, session: SessionDep, actor: ActorDep, key: IdempotencyKey = None
) -> JSONResponse:
    """Remembers the bound user's language."""
    return respond(
        request,
        session,
        actor,
        key,
        data,
        lambda: telegram.profile_of(telegram.set_language(session, actor, data.language)),
    )


@router.get("/notices", response_model=list[NoticeOut])
def due_notices(
    session: SessionDep, actor: Actor = BotDep, limit: int = Query(100, ge=1, le=500)
) -> list[NoticeOut]:
    """Notices due now for bound users, not yet taken over by the bot."""
    return notices.due(session, actor, limit)


@router.post("/notices/ack", response_model=AckOut)
def ack_notices(data: AckIn, session: SessionDep, actor: Actor = BotDep) -> AckOut:
    """The bot has stored these notices in its own table and will deliver them."""
    return AckOut(acknowledged=notices.acknowledge(session, actor, data.ids))


@router.post("/unreachable", response_model=UnreachableOut)
def unreachable(
    data: UnreachableIn,
    request: Request,
    session: SessionDep,
    actor: Actor = BotDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """A user blocked the bot: recorded, and their supervisors are told."""

    def work() -> UnreachableOut:
        user = telegram.mark_unreachable(session, actor, data.telegram_user_id)
        return UnreachableOut(user_id=user.id if user else None, marked_at=datetime.now().astimezone())

    return respond(request, session, actor, key, data, work)
