"""Staff accounts: admins create them; declared relatives are stored as keyed hashes only."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from contracts.users import UserCreate, UserPublic, UserUpdate
from models.user import Role, User
from services import audit
from services.auth import hash_password
from services.cipher import get_cipher
from services.context import Actor
from services.errors import Conflict, NotFound, ValidationFailed
from services.pii import id_number_problem, normalize_id


def _relative_hashes(ids: list[str]) -> list[str]:
    out: list[str] = []
    cipher = get_cipher()
    for raw in ids:
        value = normalize_id(raw)
        problem = id_number_problem(value)
        if problem:
            raise ValidationFailed(detail=f"relative ID number: {problem}")
        digest = cipher.lookup_hash(value)
        if digest and digest not in out:
            out.append(digest)
    return out


def create_user(session: Session, actor: Actor, data: UserCreate) -> User:
    """Creates a staff account (admin only)."""
    actor.require(Role.admin)
    if session.exec(select(User).where(User.login == data.login)).first():
        raise Conflict("login_taken", login=data.login)
    if data.role == Role.officer and not data.scope_code:
        # a township or village officer answers for the items of one region
        raise ValidationFailed("officer_needs_region")
    user = User(
        login=data.login,
        name=data.name,
        role=data.role,
        home_township_code=data.home_township_code,
        scope_code=data.scope_code,
        relative_id_hashes=_relative_hashes(data.relative_id_numbers),
        relative_key_id=get_cipher().key_id,
        password_hash=hash_password(data.password) if data.password else None,
        language=data.language,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, login=user.login, role=user.role.value)
    return user


def update_user(session: Session, actor: Actor, user_id: uuid.UUID, data: UserUpdate) -> User:
    """Changes a staff account (admin only)."""
    actor.require(Role.admin)
    user = get_user(session, actor, user_id)
    changed = data.model_dump(exclude_unset=True)
    if "password" in changed and data.password:
        user.password_hash = hash_password(data.password)
    if data.relative_id_numbers is not None:
        user.relative_id_hashes = _relative_hashes(data.relative_id_numbers)
        user.relative_key_id = get_cipher().key_id
    for field in ("name", "home_township_code", "scope_code", "active"):
        if field in changed:
            setattr(user, field, changed[field])
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.update", "user", user.id, fields=sorted(changed))
    return user


def get_user(session: Session, actor: Actor, user_id: uuid.UUID) -> User:
    """One account (admins any, others only themselves)."""
    if actor.role != Role.admin and actor.id != user_id:
        actor.require(Role.admin)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(entity="user")
    return user


def list_users(session: Session, actor: Actor, role: Role | None = None) -> list[User]:
    """All accounts, optionally of one role (admins; supervisors see the inspectors in their scope)."""
    actor.require(Role.supervisor)
    q = select(User).order_by(col(User.login))
    if role:
        q = q.where(User.role == role)
    users = list(session.exec(q).all())
    if actor.role == Role.supervisor:
        users = [u for u in users if u.role == Role.inspector and actor.sees(u.home_township_code)]
    return users


def to_public(user: User) -> UserPublic:
    """The public view of a user (no hashes, no Telegram id)."""
    return UserPublic(
        id=user.id,
        login=user.login,
        name=user.name,
        role=user.role,
        home_township_code=user.home_township_code,
        scope_code=user.scope_code,
        declared_relatives=len(user.relative_id_hashes or []),
        telegram_bound=user.telegram_user_id is not None,
        language=user.language,
        active=user.active,
    )
