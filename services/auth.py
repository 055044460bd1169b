"""Passwords (argon2) and bearer tokens (random, stored hashed, expiring, revocable)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, select

from models.types import utcnow
from models.user import ApiToken, User
from services import audit
from services.context import Actor
from services.errors import Unauthorized

_hasher = PasswordHasher()
# A hash to verify against when the login does not exist, so timing does not reveal which logins exist.
_DUMMY = _hasher.hash("feijian-timing-equaliser")


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    """Whether the password matches the stored hash (constant-time inside argon2)."""
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    """The SHA-256 under which a token is stored (tokens are 256-bit random, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, ttl_hours: int, name: str = "login") -> tuple[str, datetime]:
    """Creates a token for the user and returns it once, with its expiry."""
    token = "fj_" + secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(hours=ttl_hours)
    session.add(ApiToken(user_id=user.id, token_hash=token_digest(token), name=name, expires_at=expires))
    session.flush()
    return token, expires


def login(session: Session, login_name: str, password: str, ttl_hours: int) -> tuple[str, datetime, User]:
    """Checks a login and password and issues a token; the same error for every failure."""
    user = session.exec(select(User).where(User.login == login_name)).first()
    ok = check_password(user.password_hash if user else None, password)
    if not user or not ok or not user.active:
        actor = f"anonymous:{login_name[:40]}"
        raise audit.refuse(Unauthorized("bad_credentials"), actor, "auth.login_failed", "user")
    token, expires = issue_token(session, user, ttl_hours)
    audit.record(session, Actor.of(user), "auth.login", "user", user.id)
    return token, expires, user


def resolve_token(session: Session, token: str) -> User:
    """The active user a token belongs to; Unauthorized when unknown, expired or revoked."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == token_digest(token))).first()
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        raise Unauthorized("token_invalid")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise Unauthorized("token_invalid")
    return user


def revoke_token(session: Session, actor: Actor, token: str) -> None:
    """Revokes the given token (logout)."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == token_digest(token))).first()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        audit.record(session, actor, "auth.logout", "api_token", row.id)
        session.flush()
