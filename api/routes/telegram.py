"""The bot's endpoints: bind a Telegram account, the bound user's profile and language, notices.

The bot calls these with its service token; `X-Feijian-Telegram-User` makes it act for a bound user.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import ActorDep, SessionDep, require
from api.idempotency import IdempotencyKey, respond
from models.notice import NoticeOut
from models.user import Role, User
from services import invites, notices, telegram
from services.context import Actor

router = APIRouter(prefix="/telegram", tags=["telegram"])
BotDep = Depends(require(Role.bot))


class BindIn(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    telegram_user_id: int = Field(ge=1, le=2**63 - 1)


class TelegramProfile(BaseModel):
    user_id: uuid.UUID
    login: str
    name: str
    role: Role
    language: str

    @classmethod
    def of(cls, user: User) -> TelegramProfile:
        """The profile the bot keeps for a bound user."""
        return cls(user_id=user.id, login=user.login, name=user.name, role=user.role, language=user.language)


class LanguageIn(BaseModel):
    language: Literal["zh-CN", "en"]


class AckIn(BaseModel):
    ids: list[uuid.UUID] = Field(max_length=500)


class AckOut(BaseModel):
    acknowledged: int


class UnreachableIn(BaseModel):
    telegram_user_id: int = Field(ge=1, le=2**63 - 1)


class UnreachableOut(BaseModel):
    user_id: uuid.UUID | None
    marked_at: datetime | None = None


@router.post("/bind", response_model=TelegramProfile)
def bind(
    data: BindIn, request: Request, session: SessionDep, actor: Actor = BotDep, key: IdempotencyKey = None
) -> JSONResponse:
    """Binds a Telegram account with an invite code; every bad code gets the same answer."""

    def work() -> TelegramProfile:
        return TelegramProfile.of(invites.bind(session, actor, data.code, data.telegram_user_id))

    return respond(request, session, actor, key, data, work)


@router.get("/me", response_model=TelegramProfile)
def me(session: SessionDep, actor: ActorDep) -> TelegramProfile:
    """The bound user behind `X-Feijian-Telegram-User` (403 telegram_not_bound otherwise)."""
    return TelegramProfile.of(telegram.profile(session, actor))


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
        lambda: TelegramProfile.of(telegram.set_language(session, actor, data.language)),
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
