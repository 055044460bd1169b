"""The bot's service account: acting on behalf of bound Telegram users, profile, reachability."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from contracts.telegram import NoticeKind, TelegramProfile
from contracts.vocab import Lang
from models.invite import TelegramLink
from models.region import in_subtree
from models.types import utcnow
from models.user import Role, User
from services import audit, auth, notices
from services.context import Actor
from services.errors import Forbidden, NotFound, Unauthorized

BOT_LOGIN = "telegram-bot"
TELEGRAM_USER_HEADER = "X-Feijian-Telegram-User"


@dataclass(frozen=True)
class BotActor(Actor):
    """A bound user acting through the bot; the audit log says so."""

    via: str = "bot"

    @property
    def label(self) -> str:
        """How the audit log names this actor: `inspector:li via bot`."""
        return f"{self.role.value}:{self.login} via {self.via}"[:80]


class NotBound(Unauthorized):
    status = 403
    code = "telegram_not_bound"


def actor_via_bot(session: Session, bot_user: User, telegram_user_id: str | int, lang: str | None) -> Actor:
    """The bound, active user behind a Telegram id, acting through the bot's service account."""
    if bot_user.role != Role.bot:
        raise Forbidden()
    try:
        tg = int(telegram_user_id)
    except (TypeError, ValueError) as exc:
        raise NotBound() from exc
    if not 0 < tg < 2**63:  # a Telegram id is a positive 64-bit integer; anything else binds nobody
        raise NotBound()
    user = session.exec(select(User).where(User.telegram_user_id == tg)).first()
    if user is None or not user.active or user.role == Role.bot:
        raise NotBound()
    return BotActor(
        user.id, user.login, user.role, user.scope_code, user.home_township_code, lang or user.language
    )


def ensure_bot_account(session: Session, actor: Actor) -> User:
    """The bot's service account, created on first use (admin only)."""
    actor.require(Role.admin)
    user = session.exec(select(User).where(User.login == BOT_LOGIN)).first()
    if user is None:
        user = User(login=BOT_LOGIN, name="Telegram bot", role=Role.bot)
        session.add(user)
        session.flush()
        audit.record(session, actor, "user.create", "user", user.id, login=BOT_LOGIN, role="bot")
    return user


def issue_bot_token(session: Session, actor: Actor, ttl_hours: int = 24 * 365) -> tuple[str, datetime]:
    """A long-lived bearer token for the bot's service account (admin only; shown once)."""
    user = ensure_bot_account(session, actor)
    token, expires = auth.issue_token(session, user, ttl_hours, name="bot")
    audit.record(session, actor, "auth.bot_token", "user", user.id)
    return token, expires


def profile(session: Session, actor: Actor) -> User:
    """The bound user behind the current Telegram account."""
    if actor.id is None or actor.role == Role.bot:
        raise NotBound()
    user = session.get(User, actor.id)
    if user is None:
        raise NotFound(entity="user")
    return user


def set_language(session: Session, actor: Actor, language: Lang) -> User:
    """Remembers the user's language (zh-CN or en)."""
    user = profile(session, actor)
    if user.language != language:
        user.language = language
        session.add(user)
        session.flush()
        audit.record(session, actor, "user.language", "user", user.id, language=language)
    return user


def supervisors_of(session: Session, user: User) -> list[User]:
    """Who hears about this user: whoever invited them if a supervisor, else supervisors in scope."""
    link = session.get(TelegramLink, user.id)
    if link and link.invited_by_id:
        inviter = session.get(User, link.invited_by_id)
        if inviter and inviter.active and inviter.role == Role.supervisor and inviter.id != user.id:
            return [inviter]
    found = session.exec(select(User).where(User.role == Role.supervisor, User.active == True)).all()  # noqa: E712
    # an inspector belongs to a home township; an officer to the region they answer for
    region = user.home_township_code or (user.scope_code if user.role == Role.officer else None)
    return [s for s in found if s.id != user.id and in_subtree(region, s.scope_code)]


def mark_unreachable(session: Session, actor: Actor, telegram_user_id: int) -> User | None:
    """Records that a user blocked the bot and tells their supervisors (once per blocking)."""
    actor.require(Role.bot)
    user = session.exec(select(User).where(User.telegram_user_id == telegram_user_id)).first()
    if user is None:
        return None
    link = session.get(TelegramLink, user.id)
    if link is None:
        link = TelegramLink(user_id=user.id, telegram_user_id=telegram_user_id)
    if link.unreachable_at is not None:
        return user
    now = utcnow()
    link.unreachable_at = now
    session.add(link)
    session.flush()
    audit.record(session, actor, "telegram.unreachable", "user", user.id)
    for sup in supervisors_of(session, user):
        notices.emit(
            session,
            sup.id,
            NoticeKind.user_unreachable,
            {"name": user.name, "login": user.login},
            key=f"unreachable:{user.id}:{sup.id}:{now.isoformat()}",
        )
    return user


def telegram_ids(session: Session, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, User]:
    """Bound, active users among the given ids."""
    if not user_ids:
        return {}
    rows = session.exec(select(User).where(User.id.in_(user_ids))).all()  # type: ignore[attr-defined]
    return {u.id: u for u in rows if u.telegram_user_id is not None and u.active}


def profile_of(user: User) -> TelegramProfile:
    """The profile the bot keeps for a bound user."""
    return TelegramProfile(
        user_id=user.id, login=user.login, name=user.name, role=user.role, language=user.language
    )
