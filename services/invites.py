"""Invite codes: a supervisor invites a staff user; `/start CODE` binds that user's Telegram account.

A code is shown once and stored only as an HMAC under the secret key. A wrong, used, expired or
revoked code gets the same answer, and failed attempts are throttled, so the bot cannot be used to
learn which codes exist. The throttle counts failures per Telegram account and per code prefix,
never globally: a flood of wrong codes slows guessing inside the prefixes it hits, but cannot lock
every new user out, and a valid code from a chat that has not failed keeps working.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from models.invite import BindAttempt, InviteCode, TelegramLink
from models.types import utcnow
from models.user import Role, User
from services import audit
from services.config import get_settings
from services.context import Actor
from services.errors import Conflict, DomainError, Forbidden, NotFound

# No 0/O, 1/I/L: codes are read off paper and typed on a phone.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
FAILURE_WINDOW = timedelta(minutes=15)
# Failures per Telegram account within the window before that account is throttled.
MAX_FAILURES = 5
# Failures within one code prefix (from any accounts) before that prefix is throttled: guessing
# spread over many accounts is slowed inside one prefix's share of the code space (1/31**3),
# while codes with other prefixes stay usable. Looser than the per-account limit because
# different people's typos can share a prefix.
PREFIX_LENGTH = 3
MAX_PREFIX_FAILURES = 10


class InviteInvalid(DomainError):
    status = 400
    code = "invite_invalid"


class BindThrottled(DomainError):
    status = 429
    code = "bind_throttled"


@dataclass(frozen=True)
class NewInvite:
    """A freshly created invite: the plain code exists only here."""

    code: str
    invite: InviteCode
    user: User


def normalize_code(raw: str) -> str:
    """Upper case without spaces or dashes, so `abcd-efgh 23` works as typed."""
    return "".join(ch for ch in raw.upper() if ch.isalnum())


def code_digest(code: str) -> str:
    """The keyed hash under which a code is stored."""
    key = get_settings().secret_key_bytes()
    return hmac.new(key, b"invite:" + normalize_code(code).encode(), hashlib.sha256).hexdigest()


def code_prefix_digest(code: str) -> str:
    """The keyed hash of a code's first `PREFIX_LENGTH` characters, under which failures are counted."""
    key = get_settings().secret_key_bytes()
    prefix = normalize_code(code)[:PREFIX_LENGTH]
    return hmac.new(key, b"invite-prefix:" + prefix.encode(), hashlib.sha256).hexdigest()


def _find_user(session: Session, user_id: uuid.UUID | None, login: str | None) -> User:
    user: User | None = None
    if user_id is not None:
        user = session.get(User, user_id)
    elif login:
        user = session.exec(select(User).where(User.login == login)).first()
    if user is None or not user.active:
        raise NotFound(entity="user")
    return user


def create_invite(
    session: Session,
    actor: Actor,
    user_id: uuid.UUID | None = None,
    login: str | None = None,
    ttl_hours: int = 72,
) -> NewInvite:
    """Creates a one-time code for a staff user (admins: anyone; supervisors: inspectors in scope, self)."""
    actor.require(Role.supervisor)
    user = _find_user(session, user_id, login)
    if user.role == Role.bot:
        raise Forbidden()
    if actor.role == Role.supervisor and user.id != actor.id:
        if user.role != Role.inspector:
            raise Forbidden()
        actor.require_scope(user.home_township_code, "督查员")
    now = utcnow()
    for old in session.exec(
        select(InviteCode).where(
            InviteCode.user_id == user.id,
            col(InviteCode.used_at).is_(None),
            col(InviteCode.revoked_at).is_(None),
        )
    ).all():
        old.revoked_at = now
        session.add(old)
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    invite = InviteCode(
        code_hash=code_digest(code),
        user_id=user.id,
        created_by=actor.label[:80],
        created_by_id=actor.id,
        expires_at=now + timedelta(hours=ttl_hours),
    )
    session.add(invite)
    session.flush()
    audit.record(
        session, actor, "invite.create", "user", user.id, invite_id=str(invite.id), ttl_hours=ttl_hours
    )
    return NewInvite(code, invite, user)


def _recent_failures(session: Session, *where: Any) -> int:
    since = utcnow() - FAILURE_WINDOW
    return session.exec(
        select(func.count())
        .select_from(BindAttempt)
        .where(*where, BindAttempt.at >= since, col(BindAttempt.ok).is_(False))
    ).one()


def throttled_by(session: Session, telegram_user_id: int, code_prefix: str) -> str | None:
    """Which throttle refuses this attempt now: "chat", "code_prefix", or None (there is no global one)."""
    if _recent_failures(session, BindAttempt.telegram_user_id == telegram_user_id) >= MAX_FAILURES:
        return "chat"
    if _recent_failures(session, BindAttempt.code_prefix == code_prefix) >= MAX_PREFIX_FAILURES:
        return "code_prefix"
    return None


def bind(session: Session, actor: Actor, code: str, telegram_user_id: int) -> User:
    """Binds the Telegram account to the invited user; one answer for every kind of bad code.

    A failed attempt counts towards the throttle although the answer is an error: the error carries
    the attempt (`audit.refuse`), which the edge writes after the rollback. A throttled attempt is
    audited too, but not counted, so a throttle ends one window after the last real failure.
    """
    actor.require(Role.bot)
    prefix = code_prefix_digest(code)
    scope = throttled_by(session, telegram_user_id, prefix)
    if scope is not None:
        raise audit.refuse(
            BindThrottled(), "bot", "telegram.bind_throttled", "telegram_user", telegram_user_id, scope=scope
        )
    try:
        return _bind(session, actor, code, telegram_user_id)
    except (InviteInvalid, Conflict) as exc:
        raise audit.refuse(
            exc,
            "bot",
            "telegram.bind_failed",
            "telegram_user",
            telegram_user_id,
            also=lambda s: record_failure(s, telegram_user_id, prefix),
        ) from None


def _bind(session: Session, actor: Actor, code: str, telegram_user_id: int) -> User:
    now = utcnow()
    invite = session.exec(select(InviteCode).where(InviteCode.code_hash == code_digest(code))).first()
    if (
        invite is None
        or invite.used_at is not None
        or invite.revoked_at is not None
        or invite.expires_at <= now
    ):
        raise InviteInvalid()
    user = session.get(User, invite.user_id)
    if user is None or not user.active:
        raise InviteInvalid()
    holder = session.exec(select(User).where(User.telegram_user_id == telegram_user_id)).first()
    if holder is not None and holder.id != user.id:
        raise Conflict("telegram_already_bound")
    invite.used_at = now
    invite.used_by_telegram_id = telegram_user_id
    previous = user.telegram_user_id
    user.telegram_user_id = telegram_user_id
    session.add_all([invite, user])
    link = session.get(TelegramLink, user.id)
    if link is None:
        link = TelegramLink(user_id=user.id, telegram_user_id=telegram_user_id)
    link.telegram_user_id = telegram_user_id
    link.invite_id = invite.id
    link.invited_by_id = invite.created_by_id
    link.bound_at = now
    link.unreachable_at = None
    session.add(link)
    session.add(BindAttempt(telegram_user_id=telegram_user_id, ok=True))
    session.flush()
    audit.record(
        session,
        actor,
        "telegram.bind",
        "user",
        user.id,
        invite_id=str(invite.id),
        rebound=previous is not None and previous != telegram_user_id,
    )
    return user


def record_failure(session: Session, telegram_user_id: int, code_prefix: str | None = None) -> None:
    """Counts a failed bind attempt (in the refusal's own unit of work, since the failing one rolls back)."""
    session.add(BindAttempt(telegram_user_id=telegram_user_id, ok=False, code_prefix=code_prefix))
    session.flush()
