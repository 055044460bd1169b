"""Hostile input at every kind of step of a visit: a clear message, and the visit does not change."""

from __future__ import annotations

from typing import Any

from models.user import Role
from tests.bot.conftest import World
from tests.bot.visit_driver import HOME, Inspector, bind
from tests.visit_helpers import jpeg_with_gps

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _snapshot(bot: Any, uid: int) -> tuple[str, Any, str]:
    row = bot.runtime.db.conversation(uid, "visit")
    assert row is not None
    return row["state"], row["data"], row["nonce"]


def test_hostile_input_at_every_step_changes_nothing(world: World) -> None:
    with world.bot() as bot:
        _sup, sup_uid = bind(world, "h_sup", "郑督导", Role.supervisor, scope_code="150422")
        staff, uid = bind(world, "h_ins", "王敏")
        world.release(staff, ["LB7101"])
        ins = Inspector(world, uid)

        # Commands of another role: a supervisor cannot run a visit.
        assert "走访由督查员进行" in world.user_say(sup_uid, "/visit").text
        assert "当前没有进行中的走访" in ins.say("/back", lambda m: "走访" in m.text).text

        # The location step.
        ins.start()
        before = _snapshot(bot, uid)
        assert "手动输入的坐标不能作为证据" in ins.say("43.98, 119.38", lambda m: "坐标" in m.text).text
        other = world.client.user(first_name="路人")
        shared = world.client.send_location(other.id, *HOME)
        world.client.wait_for_message(other.id, timeout=10)
        world.client.forward(uid, from_chat_id=other.id, message_id=shared.message_id)
        assert "转发的位置不能证明" in ins.wait(lambda m: "转发" in m.text).text
        world.client.send_sticker(uid)
        assert "贴纸" in ins.wait(lambda m: "贴纸" in m.text).text
        assert _snapshot(bot, uid) == before

        # The number step.
        ins.live()
        before = _snapshot(bot, uid)
        assert "请输入数字" in ins.say("两个人", lambda m: "⚠️" in m.text).text
        assert "不能大于 10" in ins.say("99", lambda m: "⚠️" in m.text).text
        world.client.send_document(uid, PDF, "scan.pdf", "application/pdf")
        assert "不是照片" in ins.wait(lambda m: "照片" in m.text).text
        assert _snapshot(bot, uid) == before

        # A choice step: typing instead of pressing, a PDF.
        choice = ins.say("2")
        before = _snapshot(bot, uid)
        again = ins.say("有人在家", lambda m: "请使用问题下方的按钮作答" in m.text)
        assert again.reply_markup is not None  # the buttons are shown again
        world.client.send_document(uid, PDF, "scan.pdf", "application/pdf")
        assert "不是照片" in ins.wait(lambda m: "不是照片" in m.text).text
        assert _snapshot(bot, uid) == before

        # A button from an old message: inert, says so.
        ins.last = choice
        ins.press("a:home")
        before = _snapshot(bot, uid)
        stale = ins.press_raw(choice, "a:not_home")
        answer = world.client.wait_for_callback_answer(stale.callback_query_id or "")
        assert "已失效" in str(answer.get("text"))
        assert _snapshot(bot, uid) == before

        # The evidence step after "entered: yes".
        ins.press("a:yes")
        before = _snapshot(bot, uid)
        world.client.send_document(uid, PDF, "scan.pdf", "application/pdf")
        assert "不是照片" in ins.wait(lambda m: "不是照片" in m.text).text
        big = b"\xff\xd8\xff\xe0" + b"\0" * (25 * 1024 * 1024)
        world.client.send_document(uid, big, "huge.jpg", "image/jpeg")
        assert "文件太大（25 MB）" in ins.wait(lambda m: "文件太大" in m.text).text
        assert "此答案需要照片" in ins.say("拍不了", lambda m: "此答案需要照片" in m.text).text
        world.client.send_sticker(uid)
        assert "贴纸" in ins.wait(lambda m: "贴纸" in m.text).text
        assert "走访过程中不能使用该命令" in ins.say("/invite", lambda m: "该命令" in m.text).text
        world.client.send_photo(
            uid, b"not an image at all", as_file=True, file_name="x.jpg", mime_type="image/jpeg"
        )
        assert "照片未被接受" in ins.wait(lambda m: "照片未被接受" in m.text).text
        assert _snapshot(bot, uid) == before

        # A good photo still moves the visit on.
        ok = ins.photo(jpeg_with_gps(*HOME, seed=77), as_file=True)
        assert "在场人员" in ok.text and _snapshot(bot, uid) != before
