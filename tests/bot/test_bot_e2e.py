"""The real PTB Application against the sandbox and the store API, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlmodel import col, func, select

from bot import tables as T
from models.audit import AuditEvent
from models.invite import InviteCode
from models.job import IdempotencyRecord
from models.types import utcnow
from models.user import Role, User
from services import notices
from tests.bot.conftest import World

NOT_LINKED = "尚未绑定飞检"
INVALID = "邀请码无效或已失效"


def _bind(world: World, login: str, name: str, role: Role = Role.inspector, **kw: object) -> tuple[User, int]:
    staff = world.staff(login, role, **kw)
    code = world.invite(login)
    tg = world.client.user(first_name=name)
    reply = world.user_say(tg.id, f"/start {code}")
    assert "欢迎" in reply.text, reply.text
    return staff, tg.id


def test_invite_start_tasks_and_release_notice(world: World) -> None:
    with world.bot():
        tg = world.client.user(first_name="李四")
        assert "/status" in world.user_say(tg.id, "/start").text  # a stranger gets the resident's menu
        assert NOT_LINKED in world.user_say(tg.id, "/tasks").text
        insp = world.staff("li4", home_township_code="150422100")
        code = world.invite("li4")
        welcome = world.user_say(tg.id, f"/start {code[:4].lower()} {code[4:]}")
        assert "欢迎，li4" in welcome.text and "/tasks" in welcome.text
        assert "目前没有下发给您的任务" in world.user_say(tg.id, "/tasks").text

        world.release(insp, ["LB9001", "LB9002"])
        notice = world.client.wait_for_message(tg.id, lambda m: "下发了新任务" in m.text, timeout=10)
        assert "共 2 户" in notice.text
        listing = world.user_say(tg.id, "/tasks", lambda m: "您的任务" in m.text)
        assert "您的任务（2 户）" in listing.text
        assert "林东镇1号" in listing.text and "今天" in listing.text and "待走访" in listing.text
        assert "王秀英" not in listing.text  # names are masked by the store
        assert "发送您的位置" in listing.text

        world.client.send_location(tg.id, 43.99, 119.38)
        world.client.wait_for_message(tg.id, lambda m: "位置已记录" in m.text)
        listing = world.user_say(tg.id, "/tasks", lambda m: "您的任务" in m.text)
        assert "距您" in listing.text
        # the Refresh button rewrites the list in place
        press = world.client.press_button(tg.id, listing, "刷新")
        assert world.client.wait_for_callback_answer(press.callback_query_id or "") is not None


def test_wrong_reused_and_expired_codes_get_one_answer(world: World) -> None:
    with world.bot():
        world.staff("wang5", home_township_code="150422100")
        world.staff("zhao6", home_township_code="150422100")
        a, b, c = (world.client.user(first_name=n) for n in ("甲", "乙", "丙"))
        wrong = world.user_say(a.id, "/start ABCDEFGHJK")
        assert INVALID in wrong.text
        code = world.invite("wang5")
        assert "欢迎" in world.user_say(a.id, f"/start {code}").text
        assert world.user_say(b.id, f"/start {code}").text == wrong.text  # reused
        expired = world.invite("zhao6", ttl_hours=1)
        with world.session() as s:
            inv = s.exec(select(InviteCode).order_by(col(InviteCode.created_at).desc())).first()
            assert inv is not None
            inv.expires_at = utcnow() - timedelta(seconds=1)
            s.add(inv)
        assert world.user_say(c.id, f"/start {expired}").text == wrong.text
        # guessing is throttled: after five failures even a valid code is refused for a while
        for _ in range(4):  # with the reused code, five failures
            world.user_say(b.id, "/start ZZZZZZZZZZ")
        fresh = world.invite("zhao6")
        assert "尝试次数过多" in world.user_say(b.id, f"/start {fresh}").text


def test_restart_keeps_state_and_a_redelivered_update_has_one_effect(world: World) -> None:
    with world.bot():
        _, uid = _bind(world, "sun7", "孙七", home_township_code="150422100")
        menu = world.user_say(uid, "/lang", lambda m: "请选择语言" in m.text)
        world.client.press_button(uid, menu, "English")
        world.client.wait_for_message(uid, lambda m: "Language set to English" in m.text, since=0)
    # a new bot process on the same database continues where the old one stopped
    with world.bot():
        assert "/tasks – your assignments" in world.user_say(uid, "/help").text
        update = {
            "update_id": 990_000_001,
            "message": {
                "message_id": 990_001,
                "date": int(time.time()),
                "chat": {"id": uid, "type": "private", "first_name": "孙七"},
                "from": {"id": uid, "is_bot": False, "first_name": "孙七"},
                "text": "/help",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            },
        }
        before = len(world.client.messages(uid))
        world.client.inject(update)
        world.client.wait_for_message(uid, lambda m: "/tasks – your assignments" in m.text, since=0)
        world.client.inject(update)  # Telegram redelivers the same update
        world.client.send_text(uid, "/cancel")
        world.client.wait_for_message(uid, lambda m: "Nothing to cancel" in m.text)
        helps = [m for m in world.client.messages(uid)[before:] if "your assignments" in m.text]
        assert len(helps) == 1


def test_store_down_outbox_drains_exactly_once(world: World) -> None:
    with world.bot() as bot:
        staff, uid = _bind(world, "zhou8", "周八", home_township_code="150422100")
        menu = world.user_say(uid, "/lang", lambda m: "请选择语言" in m.text)
        world.store.stop()
        try:
            world.client.press_button(uid, menu, "English")
            world.client.wait_for_message(uid, lambda m: "Language set to English" in m.text, since=0)
            world.client.wait_for_message(uid, lambda m: "1 change(s) waiting to sync" in m.text, since=0)
            # while it waits, replies that write say so too
            world.client.send_text(uid, "/lang en")
            again = world.client.wait_for_message(uid, lambda m: "Language set to English" in m.text)
            assert "2 change(s) waiting to sync" in again.text
            time.sleep(1.0)  # several failed attempts while the store is down
            with bot.runtime.db.engine.connect() as conn:
                rows = [r._mapping for r in conn.execute(select(T.outbox).order_by(T.outbox.c.id))]
            assert [r["status"] for r in rows] == ["pending", "pending"] and rows[0]["attempts"] >= 1
        finally:
            world.store.start()
        world.client.wait_for_message(uid, lambda m: "All your changes are synced" in m.text, timeout=15)
        with world.session() as s:
            assert s.get(User, staff.id).language == "en"  # type: ignore[union-attr]
            events = s.exec(
                select(AuditEvent).where(
                    AuditEvent.action == "user.language", AuditEvent.entity_id == str(staff.id)
                )
            ).all()
            # two queued writes, each applied once (the second changes nothing, so no second event)
            assert len(events) == 1 and events[0].actor == "inspector:zhou8 via bot"
            keys = s.exec(
                select(func.count())
                .select_from(IdempotencyRecord)
                .where(IdempotencyRecord.actor == "inspector:zhou8 via bot")
            ).one()
            assert keys == 2


def test_429_retry_after_is_honoured(world: World) -> None:
    with world.bot():
        _, uid = _bind(world, "wu9", "吴九", home_township_code="150422100")
        world.client.force_429(count=1, retry_after=1)
        t0 = time.monotonic()
        world.client.send_text(uid, "/help")
        world.client.wait_for_message(uid, lambda m: "飞检督查助手" in m.text, timeout=10)
        assert time.monotonic() - t0 >= 1.0
        time.sleep(0.3)
        assert sum("飞检督查助手" in m.text for m in world.client.messages(uid)) == 1


def test_blocked_user_is_reported_to_the_supervisor_once(world: World) -> None:
    with world.bot() as bot:
        _sup, sup_tg = _bind(world, "sup10", "郑督导", Role.supervisor, scope_code="150422")
        insp, insp_tg = _bind(world, "feng11", "冯十一", home_township_code="150422100")
        world.client.block(insp_tg, emit_update=False)
        with world.session() as s:
            notices.emit(
                s,
                insp.id,
                "assignments_released",
                {"round": "R", "count": 1, "first_date": "d", "last_date": "d"},
                key="t:1",
            )
            notices.emit(
                s,
                insp.id,
                "assignments_released",
                {"round": "R", "count": 2, "first_date": "d", "last_date": "d"},
                key="t:2",
            )
        alert = world.client.wait_for_message(sup_tg, lambda m: "已屏蔽机器人" in m.text, timeout=15)
        assert "feng11" in alert.text
        time.sleep(1.0)
        assert sum("已屏蔽机器人" in m.text for m in world.client.messages(sup_tg)) == 1
        counts = bot.runtime.db.notices_by_status()
        assert counts.get("unreachable") == 2 and "sending" not in counts
