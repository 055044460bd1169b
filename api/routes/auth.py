"""POST /auth/token (login) and DELETE /auth/token (logout)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from api.deps import ActorDep, SessionDep, SettingsDep
from models.user import UserPublic
from services import auth
from services.errors import ValidationFailed

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginIn(BaseModel):
    login: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 scheme name, not a secret)
    expires_at: datetime
    user: UserPublic


@router.post("/token", response_model=TokenOut)
async def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str | None, Form(max_length=60)] = None,
    password: Annotated[str | None, Form(max_length=200)] = None,
) -> TokenOut:
    """Exchanges a login and password (JSON body or OAuth2 form) for a bearer token."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = LoginIn.model_validate_json(await request.body())
        except ValueError as exc:
            raise ValidationFailed(detail='body must be {"login": ..., "password": ...}') from exc
        name, pwd = body.login, body.password
    else:
        if not username or not password:
            raise ValidationFailed(detail="username and password are required")
        name, pwd = username, password
    token, expires, user = auth.login(session, name, pwd, settings.token_ttl_hours)
    return TokenOut(access_token=token, expires_at=expires, user=UserPublic.of(user))


@router.delete("/token", status_code=204)
def logout(
    session: SessionDep,
    actor: ActorDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))],
) -> None:
    """Revokes the token used for this request."""
    if creds:
        auth.revoke_token(session, actor, creds.credentials)
