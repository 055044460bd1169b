"""Log in (JSON body or OAuth2 password form) for a bearer token."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from contracts.users import UserPublic


class LoginIn(BaseModel):
    login: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


class LoginForm(BaseModel):
    """The OAuth2 password form's fields (`application/x-www-form-urlencoded`)."""

    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 scheme name, not a secret)
    expires_at: datetime
    user: UserPublic
