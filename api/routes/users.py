"""Staff accounts (admin) and GET /me."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from api.deps import ActorDep, AdminDep, SessionDep, SupervisorDep
from contracts.users import Role, UserCreate, UserPublic, UserUpdate
from services import users

router = APIRouter(tags=["users"])


@router.get("/me", response_model=UserPublic)
def me(session: SessionDep, actor: ActorDep) -> UserPublic:
    """The signed-in user."""
    assert actor.id is not None
    return users.to_public(users.get_user(session, actor, actor.id))


@router.get("/users", response_model=list[UserPublic])
def list_users(session: SessionDep, actor: SupervisorDep, role: Role | None = None) -> list[UserPublic]:
    """Accounts (admins: all; supervisors: inspectors in scope)."""
    return [users.to_public(u) for u in users.list_users(session, actor, role)]


@router.post("/users", response_model=UserPublic, status_code=201)
def create_user(data: UserCreate, session: SessionDep, actor: AdminDep) -> UserPublic:
    """Creates an account."""
    return users.to_public(users.create_user(session, actor, data))


@router.get("/users/{user_id}", response_model=UserPublic)
def get_user(user_id: uuid.UUID, session: SessionDep, actor: AdminDep) -> UserPublic:
    """One account."""
    return users.to_public(users.get_user(session, actor, user_id))


@router.patch("/users/{user_id}", response_model=UserPublic)
def update_user(user_id: uuid.UUID, data: UserUpdate, session: SessionDep, actor: AdminDep) -> UserPublic:
    """Changes an account."""
    return users.to_public(users.update_user(session, actor, user_id, data))
