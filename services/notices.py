"""The notices feed: what the bot must tell whom, and from when.

Services emit a notice (one row per recipient, unique by `key`, so emitting twice is harmless),
optionally due later (e.g. "team not started" at noon of the visit day). The bot polls
`GET /telegram/notices`: due, unfetched notices of bound users; it stores them in its own table
(unique per notice and recipient) and acknowledges them, after which the store hands them out no
more. A kind can register a check that runs when the notice falls due and cancels it when it no
longer applies (the team has started after all). Unbound recipients' notices wait until they bind.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from models.notice import Notice, NoticeOut
from models.types import utcnow
from models.user import Role, User
from services.context import Actor

# kind -> check(session, notice) -> still relevant? Registered by the capability that emits the kind.
CHECKS: dict[str, Callable[[Session, Notice], bool]] = {}


def register_check(kind: str, check: Callable[[Session, Notice], bool]) -> None:
    """Registers the relevance check run when a notice of this kind falls due."""
    CHECKS[kind] = check


def emit(
    session: Session,
    recipient_id: uuid.UUID,
    kind: str,
    params: dict[str, Any],
    key: str,
    due_at: datetime | None = None,
) -> Notice:
    """Queues a notice for one user (a repeat of the same key returns the first)."""
    existing = session.exec(select(Notice).where(Notice.key == key)).first()
    if existing is not None:
        return existing
    notice = Notice(
        key=key[:200], kind=kind, recipient_id=recipient_id, params=params, due_at=due_at or utcnow()
    )
    session.add(notice)
    session.flush()
    return notice


def due(session: Session, actor: Actor, limit: int = 100) -> list[NoticeOut]:
    """Due, unfetched, still relevant notices of bound active users, oldest first (bot only)."""
    actor.require(Role.bot)
    now = utcnow()
    rows = session.exec(
        select(Notice, User)
        .join(User, col(User.id) == col(Notice.recipient_id))
        .where(
            col(Notice.fetched_at).is_(None),
            col(Notice.cancelled_at).is_(None),
            col(Notice.due_at) <= now,
            col(User.telegram_user_id).is_not(None),
            User.active == True,  # noqa: E712
        )
        .order_by(col(Notice.due_at), col(Notice.created_at))
        .limit(min(max(limit, 1), 500))
    ).all()
    out: list[NoticeOut] = []
    for notice, user in rows:
        check = CHECKS.get(notice.kind)
        if check is not None and not check(session, notice):
            notice.cancelled_at = now
            session.add(notice)
            continue
        assert user.telegram_user_id is not None
        out.append(
            NoticeOut(
                id=notice.id,
                kind=notice.kind,
                recipient_id=user.id,
                telegram_user_id=user.telegram_user_id,
                language=user.language,
                params=notice.params,
                due_at=notice.due_at,
            )
        )
    session.flush()
    return out


def acknowledge(session: Session, actor: Actor, ids: list[uuid.UUID]) -> int:
    """Marks notices as taken over by the bot; returns how many were newly acknowledged."""
    actor.require(Role.bot)
    if not ids:
        return 0
    now = utcnow()
    count = 0
    for notice in session.exec(select(Notice).where(col(Notice.id).in_(ids))).all():
        if notice.fetched_at is None:
            notice.fetched_at = now
            session.add(notice)
            count += 1
    session.flush()
    return count
