"""Residents in the bot, end to end through the sandbox: the menu, /status by one's own phone only,
/complain with a photo → a case, /mycases showing only one's own cases."""

from __future__ import annotations

from sqlmodel import select

from models.application import Case
from tests.bot.conftest import World
from tests.residents.helpers import make_application
from tests.visit_helpers import jpeg_with_gps

PHONE = "13900001111"
SCRIPT = "<b>村主任</b><script>alert(1)</script> 优亲厚友"


def test_status_accepts_only_the_senders_own_phone(world: World) -> None:
    with world.session() as s:
        a = make_application(s, phone=PHONE)
    with world.bot():
        tg = world.client.user(first_name="李四")
        menu = world.user_say(tg.id, "/start")
        assert "/status" in menu.text and "/complain" in menu.text and "邀请码" in menu.text
        ask = world.user_say(tg.id, "/status")
        assert "手机号" in ask.text
        assert ask.reply_keyboard is not None
        assert ask.reply_keyboard["keyboard"][0][0]["request_contact"] is True
        other = world.client.user(first_name="王五")
        world.client.send_contact(tg.id, PHONE, "李四", contact_user_id=other.id)
        refused = world.client.wait_for_message(tg.id, lambda m: "本人" in m.text)
        assert a.number not in refused.text
        world.client.send_contact(tg.id, PHONE, "李四", contact_user_id=None)
        world.client.wait_for_message(tg.id, lambda m: "本人" in m.text)
        world.client.send_contact(tg.id, PHONE, "李四", contact_user_id=tg.id)
        shown = world.client.wait_for_message(tg.id, lambda m: a.number in m.text)
        assert "李*" in shown.text and "申请" in shown.text and "0476-7822001" in shown.text
        assert a.id_number not in shown.text
        # another resident with another number sees nothing of it
        world.user_say(other.id, "/status")
        world.client.send_contact(other.id, "13700009999", "王五", contact_user_id=other.id)
        none = world.client.wait_for_message(other.id, lambda m: "没有用此手机号登记的申请" in m.text)
        assert a.number not in none.text


def test_complain_with_a_photo_and_only_ones_own_cases(world: World) -> None:
    with world.bot():
        tg = world.client.user(first_name="赵六")
        assert "说明问题" in world.user_say(tg.id, "/complain").text
        world.client.send_text(tg.id, SCRIPT)
        ask = world.client.wait_for_message(tg.id, lambda m: m.reply_markup is not None and "提交" in m.text)
        world.client.send_photo(tg.id, jpeg_with_gps(43.98, 119.38, seed=5))
        kept = world.client.wait_for_message(tg.id, lambda m: "第 1 张" in m.text)
        world.client.press_button(tg.id, kept, "提交")
        anon = world.client.wait_for_message(tg.id, lambda m: "隐去" in m.text and m.reply_markup is not None)
        assert ask.message_id != anon.message_id
        world.client.press_button(tg.id, anon, "匿名")
        done = world.client.wait_for_message(tg.id, lambda m: "案件编号" in m.text)
        number = done.text.split("案件编号：")[1].split()[0]
        with world.session() as s:
            case = s.exec(select(Case).where(Case.number == number)).one()
            assert case.anonymous and case.telegram_user_id == tg.id and case.text == SCRIPT
            assert case.source.value == "bot"
        mine = world.user_say(tg.id, "/mycases", lambda m: number in m.text)
        assert "已受理" in mine.text
        stranger = world.client.user(first_name="钱七")
        theirs = world.user_say(stranger.id, "/mycases")
        assert number not in theirs.text and "还没有投诉" in theirs.text


def test_staff_keep_their_menu(world: World) -> None:
    world.staff("sun8", home_township_code="150422100")
    code = world.invite("sun8")
    with world.bot():
        tg = world.client.user(first_name="孙八")
        assert "欢迎" in world.user_say(tg.id, f"/start {code}").text
        assert "/tasks" in world.user_say(tg.id, "/help").text


def test_the_answer_reaches_the_residents_chat_and_the_rating_is_asked_once(world: World) -> None:
    from models.user import Role
    from services import case_flow
    from services.context import Actor

    with world.bot():
        tg = world.client.user(first_name="周九")
        world.user_say(tg.id, "/complain")
        world.client.send_text(tg.id, "九月的低保金没有到账")
        ask = world.client.wait_for_message(tg.id, lambda m: m.reply_markup is not None and "提交" in m.text)
        world.client.press_button(tg.id, ask, "提交")
        anon = world.client.wait_for_message(tg.id, lambda m: "隐去" in m.text and m.reply_markup is not None)
        world.client.press_button(tg.id, anon, "匿名")
        done = world.client.wait_for_message(tg.id, lambda m: "案件编号" in m.text)
        number = done.text.split("案件编号：")[1].split()[0]
        sup = Actor(None, "sup-bot", Role.admin)
        with world.session() as s:
            case = s.exec(select(Case).where(Case.number == number)).one()
            case_flow.answer(s, sup, case.id, "经核查，已于十一月补发。")
            s.commit()
        answered = world.client.wait_for_message(tg.id, lambda m: "已于十一月补发" in m.text, timeout=15)
        assert number in answered.text
        with world.session() as s:
            case_flow.close(s, sup, case.id)
            s.commit()
        question = world.client.wait_for_message(tg.id, lambda m: "已办结" in m.text, timeout=15)
        assert question.reply_markup is not None
        world.client.press_button(tg.id, question, "4")
        thanked = world.client.wait_for_message(tg.id, lambda m: "4 / 5" in m.text, timeout=15)
        # the question itself became the thanks: its buttons are gone, so it is asked once
        assert thanked.message_id == question.message_id and not thanked.reply_markup
        with world.session() as s:
            assert s.exec(select(Case).where(Case.number == number)).one().satisfaction == 4
