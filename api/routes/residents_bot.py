"""The bot's resident endpoints (bot token only): a resident's own applications and cases, new complaints.

The bot sends a phone number only after Telegram confirmed it is the sender's own (the contact's
user_id equals the sender); cases from the bot are tied to the sender's Telegram id.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.deps import SessionDep, SettingsDep, require
from api.uploads import read_capped
from contracts.cases import CaseRating
from contracts.residents import (
    CaseCategory,
    CaseCreated,
    CasePublic,
    CaseSource,
    PhoneLookup,
    ResidentOverview,
)
from media.checks import MAX_BYTES
from models.user import Role
from services import cases, public_status
from services.context import Actor
from services.messages import normalize

router = APIRouter(prefix="/residents", tags=["residents (bot)"])
BotDep = Depends(require(Role.bot))


@router.post("/lookup", response_model=ResidentOverview)
def lookup(
    body: PhoneLookup, request: Request, session: SessionDep, actor: Actor = BotDep
) -> ResidentOverview:
    """The applications matching the resident's own phone, and the cases they sent through the bot."""
    lang = normalize(body.language)
    apps = public_status.by_phone(session, body.telegram_user_id, body.phone, lang)
    own = cases.for_telegram_user(session, body.telegram_user_id)
    return ResidentOverview(applications=apps, cases=[cases.to_public(session, c, lang) for c in own])


@router.get("/cases", response_model=list[CasePublic])
def my_cases(
    session: SessionDep,
    telegram_user_id: Annotated[int, Query()],
    language: Annotated[str, Query(max_length=10)] = "zh-CN",
    actor: Actor = BotDep,
) -> list[CasePublic]:
    """The cases this Telegram account sent (and only those)."""
    lang = normalize(language)
    return [cases.to_public(session, c, lang) for c in cases.for_telegram_user(session, telegram_user_id)]


@router.post("/cases/rate", response_model=CasePublic)
def rate(body: CaseRating, session: SessionDep, actor: Actor = BotDep) -> CasePublic:
    """The satisfaction the resident pressed after their case closed (asked once; only their own case)."""
    case = cases.rate_by_telegram(session, body.telegram_user_id, body.number, body.score)
    return cases.to_public(session, case, normalize(body.language))


@router.post("/cases", response_model=CaseCreated, status_code=201)
async def complain(
    session: SessionDep,
    settings: SettingsDep,
    telegram_user_id: Annotated[int, Form()],
    text: Annotated[str, Form(max_length=4000)] = "",
    category: Annotated[CaseCategory, Form()] = CaseCategory.other,
    anonymous: Annotated[bool, Form()] = True,
    language: Annotated[str, Form(max_length=10)] = "zh-CN",
    # `str` too: a client may send a text part under this name, which is refused as not a photo
    photos: Annotated[list[UploadFile | str] | None, File()] = None,
    actor: Actor = BotDep,
) -> CaseCreated:
    """A complaint sent in the bot becomes a case; the answer has its number and follow-up code."""
    datas = [
        p.encode()[:MAX_BYTES] if isinstance(p, str) else await read_capped(p, MAX_BYTES)
        for p in (photos or [])[: cases.MAX_PHOTOS + 1]
    ]
    complaint = cases.Complaint(category, text, anonymous, None, tuple(datas), telegram_user_id)
    lang = normalize(language)
    # the photo checks and the database work block: in a worker thread, not on the event loop
    sender = f"tg:{telegram_user_id}"
    new = await run_in_threadpool(cases.submit, session, settings, CaseSource.bot, complaint, lang, sender)
    return CaseCreated(number=new.case.number, code=new.code, due_on=new.case.due_on)
