"""Notices owed to residents' Telegram chats (an answer to their case, the satisfaction question).

Residents are not users of the store, so their notices live in their own table, addressed by Telegram
account; `services.notices.due` hands them to the bot with the staff notices and `acknowledge` takes
both kinds of id. A repeat of the same key is harmless.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from contracts.telegram import NoticeOut
from models.case import ResidentNotice
from models.types import utcnow


def emit(
    session: Session,
    telegram_user_id: int,
    kind: str,
    params: dict[str, Any],
    key: str,
    language: str = "zh-CN",
    due_at: datetime | None = None,
) -> ResidentNotice:
    """Queues a notice for one resident's chat (a repeat of the same key returns the first)."""
    existing = session.exec(select(ResidentNotice).where(ResidentNotice.key == key[:200])).first()
    if existing is not None:
        return existing
    notice = ResidentNotice(
        key=key[:200],
        kind=kind,
        telegram_user_id=telegram_user_id,
        language="en" if language == "en" else "zh-CN",
        params=params,
        due_at=due_at or utcnow(),
    )
    session.add(notice)
    session.flush()
    return notice


def due(session: Session, limit: int) -> list[NoticeOut]:
    """Due, unfetched resident notices, oldest first."""
    rows = session.exec(
        select(ResidentNotice)
        .where(col(ResidentNotice.fetched_at).is_(None), col(ResidentNotice.due_at) <= utcnow())
        .order_by(col(ResidentNotice.due_at), col(ResidentNotice.created_at))
        .limit(max(limit, 0))
    ).all()
    return [
        NoticeOut(
            id=n.id,
            kind=n.kind,
            recipient_id=None,
            telegram_user_id=n.telegram_user_id,
            language="en" if n.language == "en" else "zh-CN",
            params=n.params,
            due_at=n.due_at,
        )
        for n in rows
    ]


def acknowledge(session: Session, ids: list[uuid.UUID]) -> int:
    """Marks resident notices as taken over by the bot; returns how many were newly acknowledged."""
    count = 0
    now = utcnow()
    for notice in session.exec(select(ResidentNotice).where(col(ResidentNotice.id).in_(ids))).all():
        if notice.fetched_at is None:
            notice.fetched_at = now
            session.add(notice)
            count += 1
    session.flush()
    return count
