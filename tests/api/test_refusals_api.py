"""The API keeps refused attempts in the audit log through one handler; the chain stays valid."""

from __future__ import annotations

from sqlmodel import Session, func, select

from models.audit import AuditEvent
from models.invite import BindAttempt
from models.user import Role
from services import audit, telegram
from services.context import Actor
from tests.conftest import auth_headers
from tests.factories import make_household, make_user
from tests.visit_helpers import released_assignment


def _actions(session: Session) -> list[str]:
    return list(session.exec(select(AuditEvent.action).order_by(AuditEvent.seq)).all())


def test_refusals_are_kept_and_the_chain_verifies(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    ins = make_user(session, "insA", Role.inspector)
    other = make_user(session, "insB", Role.inspector)
    h = make_household(session, "LB900")
    a = released_assignment(session, h, [ins])
    bad = client.post("/api/v1/auth/token", json={"login": "insA", "password": "wrong-password"})
    assert bad.status_code == 401 and bad.json()["code"] == "bad_credentials"
    started = client.post(
        "/api/v1/visits", json={"assignment_id": str(a.id)}, headers=auth_headers(client, "insA")
    )
    assert started.status_code == 201, started.text
    # another team's inspector: a hidden 404 whose attempt is kept although the request rolls back
    hdr_b = auth_headers(client, "insB")
    assert client.post("/api/v1/visits", json={"assignment_id": str(a.id)}, headers=hdr_b).status_code == 404
    assert client.get(f"/api/v1/visits/{started.json()['id']}", headers=hdr_b).status_code == 404
    token, _ = telegram.issue_bot_token(session, Actor.system("test"))
    bind = client.post(
        "/api/v1/telegram/bind",
        json={"code": "NOSUCHCODE", "telegram_user_id": 4242},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert bind.status_code == 400 and bind.json()["code"] == "invite_invalid"
    actions = _actions(session)
    assert actions.count("auth.login_failed") == 1
    assert actions.count("visit.denied") == 2
    assert actions.count("telegram.bind_failed") == 1
    failed = session.exec(
        select(func.count()).select_from(BindAttempt).where(BindAttempt.telegram_user_id == 4242)
    ).one()
    assert failed == 1
    denied = session.exec(select(AuditEvent).where(AuditEvent.action == "visit.denied")).all()
    assert {e.actor for e in denied} == {f"inspector:{other.login}"}
    assert audit.verify_chain(session).ok
