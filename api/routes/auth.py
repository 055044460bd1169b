"""POST /auth/token (login) and DELETE /auth/token (logout)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import ActorDep, SessionDep, SettingsDep
from contracts.auth import LoginForm, LoginIn, TokenOut
from services import auth, users
from services.errors import ValidationFailed

router = APIRouter(prefix="/auth", tags=["auth"])


_LOGIN_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": LoginIn.model_json_schema()},
        "application/x-www-form-urlencoded": {"schema": LoginForm.model_json_schema()},
    },
}


_LOGIN_HELP = 'give {"login": ..., "password": ...} or a username/password form'


async def _credentials(request: Request) -> tuple[str, str]:
    """The login and password from a JSON body or an OAuth2 password form; 415 for anything else."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if ctype == "application/json":
            body = LoginIn.model_validate_json(await request.body())
            return body.login, body.password
        if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.form()
            data = LoginForm.model_validate(
                {k: v for k in ("username", "password") if isinstance(v := form.get(k), str)}
            )
            return data.username, data.password
    except ValueError as exc:
        raise ValidationFailed(detail=_LOGIN_HELP) from exc
    raise HTTPException(415, detail="send application/json or application/x-www-form-urlencoded")


@router.post("/token", response_model=TokenOut, openapi_extra={"requestBody": _LOGIN_BODY})
async def login(request: Request, session: SessionDep, settings: SettingsDep) -> TokenOut:
    """Exchanges a login and password (JSON body or OAuth2 form) for a bearer token."""
    name, pwd = await _credentials(request)
    token, expires, user = auth.login(session, name, pwd, settings.token_ttl_hours)
    return TokenOut(access_token=token, expires_at=expires, user=users.to_public(user))


@router.delete("/token", status_code=204)
def logout(
    session: SessionDep,
    actor: ActorDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))],
) -> None:
    """Revokes the token used for this request."""
    if creds:
        auth.revoke_token(session, actor, creds.credentials)
