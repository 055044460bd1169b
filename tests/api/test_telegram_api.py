"""Invites, binding through the bot's service account, acting via the bot, idempotency, notices."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from models.audit import AuditEvent
from models.invite import InviteCode
from models.job import IdempotencyRecord
from models.types import utcnow
from models.user import Role
from services import notices, telegram
from services.context import Actor
from tests.conftest import auth_headers
from tests.factories import make_user

TG = "X-Feijian-Telegram-User"


def _bot_headers(session: Session) -> dict[str, str]:
    token, _ = telegram.issue_bot_token(session, Actor.system())
    session.flush()
    return {"Authorization": f"Bearer {token}"}


def test_invite_bind_and_act_via_bot(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    sup = make_user(session, "sup", Role.supervisor, scope_code="150422")
    make_user(session, "insp", Role.inspector, home_township_code="150422100")
    make_user(session, "far", Role.inspector, home_township_code="150423100")
    bot = _bot_headers(session)
    sh = auth_headers(client, "sup")
    r = client.post("/api/v1/invites", json={"login": "insp"}, headers=sh)
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    assert client.post("/api/v1/invites", json={"login": "far"}, headers=sh).status_code == 403
    # an inspector cannot invite, nor can the bot
    assert (
        client.post(
            "/api/v1/invites", json={"login": "insp"}, headers=auth_headers(client, "insp")
        ).status_code
        == 403
    )
    assert client.post("/api/v1/invites", json={"login": "insp"}, headers=bot).status_code == 403

    # wrong code and the right one typed loosely
    wrong = client.post(
        "/api/v1/telegram/bind", json={"code": "AAAAAAAAAA", "telegram_user_id": 42}, headers=bot
    )
    assert wrong.status_code == 400 and wrong.json()["code"] == "invite_invalid"
    ok = client.post(
        "/api/v1/telegram/bind",
        json={"code": f"{code[:5].lower()}-{code[5:]}", "telegram_user_id": 42},
        headers=bot | {"Idempotency-Key": "bind:1"},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["login"] == "insp" and ok.json()["role"] == "inspector"
    # a repeat of the same keyed request is answered from the record, not re-run
    again = client.post(
        "/api/v1/telegram/bind",
        json={"code": f"{code[:5].lower()}-{code[5:]}", "telegram_user_id": 42},
        headers=bot | {"Idempotency-Key": "bind:1"},
    )
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    # reused code: the same answer as a wrong one
    reused = client.post("/api/v1/telegram/bind", json={"code": code, "telegram_user_id": 43}, headers=bot)
    assert reused.status_code == 400 and reused.json()["detail"] == wrong.json()["detail"]

    me = client.get("/api/v1/telegram/me", headers=bot | {TG: "42"})
    assert me.status_code == 200 and me.json()["login"] == "insp"
    assert client.get("/api/v1/telegram/me", headers=bot | {TG: "43"}).json()["code"] == "telegram_not_bound"
    # the bot's token acting for the inspector has the inspector's rights, not more
    assert client.get("/api/v1/users", headers=bot | {TG: "42"}).status_code == 403
    # a non-bot token cannot use the header to impersonate
    assert client.get("/api/v1/me", headers=sh | {TG: "42"}).json()["login"] == "sup"

    lang = client.put(
        "/api/v1/telegram/me/language",
        json={"language": "en"},
        headers=bot | {TG: "42", "Idempotency-Key": "k1"},
    )
    assert lang.status_code == 200 and lang.json()["language"] == "en"
    mismatch = client.put(
        "/api/v1/telegram/me/language",
        json={"language": "zh-CN"},
        headers=bot | {TG: "42", "Idempotency-Key": "k1"},
    )
    assert mismatch.status_code == 409 and mismatch.json()["code"] == "idempotency_mismatch"
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "user.language")).all()
    assert [e.actor for e in events] == ["inspector:insp via bot"]
    assert (
        session.exec(select(IdempotencyRecord).where(IdempotencyRecord.key == "k1")).one().status_code == 200
    )
    assert sup.id is not None


def test_expired_code_and_throttling(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    make_user(session, "adm", Role.admin)
    make_user(session, "insp2", Role.inspector, home_township_code="150422100")
    bot = _bot_headers(session)
    code = client.post(
        "/api/v1/invites", json={"login": "insp2", "ttl_hours": 1}, headers=auth_headers(client, "adm")
    ).json()["code"]
    inv = session.exec(select(InviteCode)).one()
    inv.expires_at = utcnow() - timedelta(minutes=1)
    session.add(inv)
    session.commit()
    expired = client.post("/api/v1/telegram/bind", json={"code": code, "telegram_user_id": 7}, headers=bot)
    assert expired.status_code == 400 and expired.json()["code"] == "invite_invalid"
    for _ in range(5):
        client.post("/api/v1/telegram/bind", json={"code": "ZZZZZZZZZZ", "telegram_user_id": 8}, headers=bot)
    throttled = client.post(
        "/api/v1/telegram/bind", json={"code": "ZZZZZZZZZZ", "telegram_user_id": 8}, headers=bot
    )
    assert throttled.status_code == 429 and throttled.json()["code"] == "bind_throttled"


def test_notices_feed_and_unreachable(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    sup = make_user(session, "sup3", Role.supervisor, scope_code="150422", telegram_user_id=900)
    insp = make_user(session, "insp3", Role.inspector, home_township_code="150422100", telegram_user_id=901)
    unbound = make_user(session, "insp4", Role.inspector, home_township_code="150422100")
    bot = _bot_headers(session)
    notices.emit(session, insp.id, "assignments_released", {"count": 3}, key="rel:1")
    notices.emit(session, insp.id, "assignments_released", {"count": 3}, key="rel:1")  # same key: once
    notices.emit(session, unbound.id, "assignments_released", {"count": 1}, key="rel:2")
    notices.emit(session, sup.id, "team_not_started", {}, key="noon:1", due_at=utcnow() + timedelta(hours=2))
    session.commit()
    feed = client.get("/api/v1/telegram/notices", headers=bot).json()
    assert [(n["kind"], n["telegram_user_id"]) for n in feed] == [("assignments_released", 901)]
    assert client.post("/api/v1/telegram/notices/ack", json={"ids": [feed[0]["id"]]}, headers=bot).json() == {
        "acknowledged": 1
    }
    assert client.get("/api/v1/telegram/notices", headers=bot).json() == []
    # an inspector blocked the bot: their supervisor hears about it, once
    for _ in range(2):
        r = client.post("/api/v1/telegram/unreachable", json={"telegram_user_id": 901}, headers=bot)
        assert r.status_code == 200 and r.json()["user_id"] == str(insp.id)
    feed = client.get("/api/v1/telegram/notices", headers=bot).json()
    assert [(n["kind"], n["telegram_user_id"], n["params"]["login"]) for n in feed] == [
        ("user_unreachable", 900, "insp3")
    ]
    # the feed is for the bot only
    assert client.get("/api/v1/telegram/notices", headers=auth_headers(client, "sup3")).status_code == 403
