"""POST /invites: a supervisor or admin creates a one-time Telegram invite code for a staff user."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep, SupervisorDep
from contracts.invites import InviteCreate, InvitePublic
from services import invites
from services.errors import ValidationFailed

router = APIRouter(tags=["invites"])


@router.post("/invites", response_model=InvitePublic, status_code=201)
def create_invite(data: InviteCreate, session: SessionDep, actor: SupervisorDep) -> InvitePublic:
    """Creates an invite (the code is shown only in this answer; earlier unused codes are revoked)."""
    if data.user_id is None and not data.login:
        raise ValidationFailed(detail="give user_id or login")
    new = invites.create_invite(session, actor, data.user_id, data.login, data.ttl_hours)
    return InvitePublic(
        code=new.code, user_id=new.user.id, login=new.user.login, expires_at=new.invite.expires_at
    )
