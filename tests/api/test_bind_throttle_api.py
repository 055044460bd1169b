"""Sign-up throttling is per Telegram account and per code prefix: a flood locks nobody else out."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from models.audit import AuditEvent
from models.invite import BindAttempt
from models.types import utcnow
from models.user import Role
from services import audit, invites, telegram
from services.context import Actor
from tests.factories import make_user

BIND = "/api/v1/telegram/bind"


def _bot_headers(session: Session) -> dict[str, str]:
    token, _ = telegram.issue_bot_token(session, Actor.system())
    session.flush()
    return {"Authorization": f"Bearer {token}"}


def _invite(session: Session, login: str, code: str) -> str:
    """An invite for a new inspector whose plain code is known to the test (so its prefix is too)."""
    user = make_user(session, login, Role.inspector, home_township_code="150422100")
    new = invites.create_invite(session, Actor.system("test"), user_id=user.id)
    new.invite.code_hash = invites.code_digest(code)
    session.add(new.invite)
    session.commit()
    return code


def _wrong_code(i: int) -> str:
    """A distinct wrong code per `i`, spread over prefixes as random guesses are."""
    a = invites.ALPHABET
    n = len(a)
    return a[i % n] + a[(i // n) % n] + a[(i * 7 + 3) % n] + "2345678"


def _events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_a_flood_of_wrong_codes_from_many_chats_locks_nobody_else_out(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    bot = _bot_headers(session)
    code = _invite(session, "insp-flood", "QRSTUVWXYZ")
    wrong = [_wrong_code(i) for i in range(200)]
    assert not any(w[: invites.PREFIX_LENGTH] == code[: invites.PREFIX_LENGTH] for w in wrong)
    for i, guess in enumerate(wrong):
        r = client.post(BIND, json={"code": guess, "telegram_user_id": 10_000 + i}, headers=bot)
        assert r.status_code == 400 and r.json()["code"] == "invite_invalid", (i, r.text)
    assert len(_events(session, "telegram.bind_failed")) == 200
    # a real user with a valid code, from a chat that has not failed, binds at once
    ok = client.post(BIND, json={"code": code, "telegram_user_id": 777}, headers=bot)
    assert ok.status_code == 200, ok.text
    assert ok.json()["login"] == "insp-flood"
    assert audit.verify_chain(session).ok


def test_a_chat_is_throttled_after_five_failures_and_only_that_chat(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    bot = _bot_headers(session)
    mine = _invite(session, "insp-chat-a", "ABCDEFGHJK")
    theirs = _invite(session, "insp-chat-b", "MNPQRSTUVW")
    for i in range(invites.MAX_FAILURES):
        r = client.post(BIND, json={"code": _wrong_code(i), "telegram_user_id": 501}, headers=bot)
        assert r.status_code == 400 and r.json()["code"] == "invite_invalid"
    # the sixth attempt from that chat is refused even with a valid code, with the same generic problem
    throttled = client.post(BIND, json={"code": mine, "telegram_user_id": 501}, headers=bot)
    assert throttled.status_code == 429 and throttled.json()["code"] == "bind_throttled"
    # another chat is not affected
    other = client.post(BIND, json={"code": theirs, "telegram_user_id": 502}, headers=bot)
    assert other.status_code == 200, other.text
    # the throttled attempt is audited, and does not count as a further failure
    events = _events(session, "telegram.bind_throttled")
    assert [(e.actor, e.entity_id, e.details) for e in events] == [("bot", "501", {"scope": "chat"})]
    failures = session.exec(select(BindAttempt).where(BindAttempt.telegram_user_id == 501)).all()
    assert len(failures) == invites.MAX_FAILURES
    # once the window has passed, the chat may try again
    for row in failures:
        row.at = utcnow() - invites.FAILURE_WINDOW - timedelta(seconds=1)
        session.add(row)
    session.commit()
    again = client.post(BIND, json={"code": mine, "telegram_user_id": 501}, headers=bot)
    assert again.status_code == 200, again.text
    assert audit.verify_chain(session).ok


def test_a_code_prefix_is_throttled_across_chats_not_other_codes(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    bot = _bot_headers(session)
    target = _invite(session, "insp-prefix-a", "ABCDEFGHJK")
    elsewhere = _invite(session, "insp-prefix-b", "XYZ2345678")
    prefix = target[: invites.PREFIX_LENGTH]
    # many chats each guess once inside one prefix: no chat reaches its own limit
    for i in range(invites.MAX_PREFIX_FAILURES):
        guess = prefix + invites.ALPHABET[i] * (invites.CODE_LENGTH - invites.PREFIX_LENGTH)
        r = client.post(BIND, json={"code": guess, "telegram_user_id": 20_000 + i}, headers=bot)
        assert r.status_code == 400 and r.json()["code"] == "invite_invalid", (i, r.text)
    # further guesses in that prefix are slowed, from any chat, typed any way
    spaced = "-".join([prefix.lower(), "zzzz", "zzz"])
    guess = client.post(BIND, json={"code": spaced, "telegram_user_id": 30_001}, headers=bot)
    assert guess.status_code == 429 and guess.json()["code"] == "bind_throttled"
    blocked = client.post(BIND, json={"code": target, "telegram_user_id": 30_002}, headers=bot)
    assert blocked.status_code == 429 and blocked.json()["code"] == "bind_throttled"
    # a code with another prefix still binds from a fresh chat
    ok = client.post(BIND, json={"code": elsewhere, "telegram_user_id": 30_003}, headers=bot)
    assert ok.status_code == 200, ok.text
    events = _events(session, "telegram.bind_throttled")
    assert [(e.entity_id, e.details) for e in events] == [
        ("30001", {"scope": "code_prefix"}),
        ("30002", {"scope": "code_prefix"}),
    ]
    # the prefix itself is not stored in clear (a wrong code is often a mistyped real one)
    stored = session.exec(select(BindAttempt.code_prefix).where(col(BindAttempt.ok).is_(False))).all()
    assert stored and prefix not in stored and all(p and len(p) == 64 for p in stored)
    # after the window the prefix is open again
    for row in session.exec(select(BindAttempt)).all():
        row.at = utcnow() - invites.FAILURE_WINDOW - timedelta(seconds=1)
        session.add(row)
    session.commit()
    late = client.post(BIND, json={"code": target, "telegram_user_id": 30_004}, headers=bot)
    assert late.status_code == 200, late.text
    assert audit.verify_chain(session).ok
