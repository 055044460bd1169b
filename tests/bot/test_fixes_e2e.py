"""The officers' ledger loop through the sandbox: notices, /fixes, a fix in chat, verify / return."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import Session, select

from contracts.ledger import FixIn, ItemUpdateIn, LedgerState
from contracts.vocab import FindingCategory, Severity
from models.evidence import Evidence
from models.household import Household, HouseholdStatus
from models.ledger import LedgerItem
from models.user import Role
from models.visit import Finding, Visit, VisitStatus
from sandbox.client.models import ChatMessage
from services import findings_review, ledger
from services.context import Actor
from tests.bot.conftest import World
from tests.factories import make_user
from tests.ledger_helpers import Cast, cast, evidence_of, finding
from tests.visit_helpers import jpeg_with_gps

SUBMITTED = "已提交整改"


@dataclass
class Loop:
    item_id: uuid.UUID
    number: int
    officer: int  # Telegram ids
    sup1: int
    sup2: int
    sup1_actor: Actor
    officer_actor: Actor


def _item_for(s: Session, c: Cast) -> LedgerItem:
    """A confirmed finding's item, given to this cast's officer (the store module is shared: the
    village's first officer, of an earlier test, would get it by default)."""
    item = findings_review.confirm(s, c.sup, finding(s, c.sup, c.household).id)
    return ledger.update_item(s, c.sup, item.id, ItemUpdateIn(responsible_user_id=c.officer_user.id))


def _bind(world: World, login: str, name: str) -> int:
    tg = world.client.user(first_name=name)
    reply = world.user_say(tg.id, f"/start {world.invite(login)}")
    assert "欢迎" in reply.text, reply.text
    return tg.id


def _loop(world: World, reg: str) -> Loop:
    """A confirmed finding on the ledger (the officer's new item), everyone bound to the bot."""
    with world.session() as s:
        c = cast(s, reg)
        item = _item_for(s, c)
        ids = (item.id, item.number, c.officer_user.login, c.sup, c.officer)
    item_id, number, officer_login, sup1, officer_actor = ids
    officer = _bind(world, officer_login, "刘干部")
    s1 = _bind(world, f"sup1{reg}", "督导甲")
    s2 = _bind(world, f"sup2{reg}", "督导乙")
    return Loop(item_id, number, officer, s1, s2, sup1, officer_actor)


def _state(world: World, item_id: uuid.UUID) -> LedgerState:
    with world.session() as s:
        item = s.get(LedgerItem, item_id)
        assert item is not None
        return LedgerState(item.state)


def _household(s: Session, item_id: uuid.UUID) -> Household:
    item = s.get(LedgerItem, item_id)
    assert item is not None
    h = s.get(Household, item.household_id)
    assert h is not None
    return h


def _submit_in_chat(
    world: World, lp: Loop, measures: str, recovered: str | None = None, photos: tuple[bytes, ...] = ()
) -> None:
    """/fixes → the item → Submit a fix → measures → photos, Done → outcome "exited" (or money
    recovered) → Submit."""
    listing = world.user_say(lp.officer, "/fixes", lambda m: "整改事项（" in m.text)
    assert f"第{lp.number}号" in listing.text and "张*" in listing.text and "张三" not in listing.text
    world.client.press_button(lp.officer, listing, f"第{lp.number}号")
    detail = world.client.wait_for_message(lp.officer, lambda m: "状态：" in m.text)
    assert "待整改" in detail.text
    world.client.press_button(lp.officer, detail, "提交整改")
    world.client.wait_for_message(lp.officer, lambda m: "说明已采取的整改措施" in m.text)
    asked = world.user_say(lp.officer, measures, lambda m: "请发送整改照片" in m.text)
    for n, photo in enumerate(photos, start=1):
        world.client.send_photo(lp.officer, photo)
        asked = world.client.wait_for_message(lp.officer, lambda m, n=n: f"已收到第 {n} 张照片" in m.text)
    world.client.press_button(lp.officer, asked, "完成")
    outcome = world.client.wait_for_message(lp.officer, lambda m: "低保档案有什么改变" in m.text)
    if recovered is None:
        world.client.press_button(lp.officer, outcome, "已清退")
    else:
        world.client.press_button(lp.officer, outcome, "已追回资金")
        world.client.wait_for_message(lp.officer, lambda m: "已追回的金额" in m.text)
        world.user_say(lp.officer, "一千二", lambda m: "这不是以元为单位的金额" in m.text)
        world.client.send_text(lp.officer, recovered)
    confirm = world.client.wait_for_message(lp.officer, lambda m: "提交第" in m.text)
    assert measures in confirm.text and f"照片：{len(photos)} 张" in confirm.text
    # the outcome question is answered: its buttons belong to an earlier step now
    stale = world.client.press_button(lp.officer, outcome, "不改变低保档案")
    answer = world.client.wait_for_callback_answer(stale.callback_query_id or "")
    assert answer is not None and "之前问题的按钮" in str(answer)
    world.client.press_button(lp.officer, confirm, "提交")
    world.client.wait_for_message(lp.officer, lambda m: "整改已提交" in m.text)


def test_new_item_notice_fix_in_chat_and_verify_from_the_notice(world: World) -> None:
    with world.bot():
        lp = _loop(world, "LBF1")
        new = world.client.wait_for_message(
            lp.officer, lambda m: "新的整改事项" in m.text, since=0, timeout=15
        )
        assert f"第{lp.number}号" in new.text and "张*" in new.text and "张三" not in new.text
        assert "不符合条件" in new.text and "整改时限" in new.text
        _submit_in_chat(world, lp, "已停发并清退")
        assert _state(world, lp.item_id) is LedgerState.fix_submitted
        # a fix without photos: Verify is refused with the reason, the item stays
        notice = world.client.wait_for_message(lp.sup2, lambda m: SUBMITTED in m.text, since=0, timeout=15)
        assert "已停发并清退" in notice.text
        world.client.press_button(lp.sup2, notice, "核验销号")
        world.client.wait_for_message(lp.sup2, lambda m: "需要该户的佐证" in m.text)
        assert _state(world, lp.item_id) is LedgerState.fix_submitted
        # with evidence of the household on the fix, the same button closes the item
        with world.session() as s:
            ev = evidence_of(s, _household(s, lp.item_id), n=11)
            ledger.return_fix(s, lp.sup1_actor, lp.item_id, "补充照片")
            ledger.submit_fix(s, lp.officer_actor, lp.item_id, FixIn(note="补拍照片", evidence_ids=[ev.id]))
        again = world.client.wait_for_message(
            lp.sup2, lambda m: SUBMITTED in m.text and "补拍照片" in m.text, timeout=15
        )
        # the first notice's button is stale now: the item moved on
        world.client.press_button(lp.sup2, notice, "核验销号")
        world.client.wait_for_message(lp.sup2, lambda m: "已有变化" in m.text or "状态不允许" in m.text)
        world.client.press_button(lp.sup2, again, "核验销号")
        world.client.wait_for_message(lp.sup2, lambda m: "已销号" in m.text)
        assert _state(world, lp.item_id) is LedgerState.closed


def test_return_with_a_reason_reaches_the_officer(world: World) -> None:
    with world.bot():
        lp = _loop(world, "LBF2")
        _submit_in_chat(world, lp, "已入户核实", recovered="1200")
        with world.session() as s:
            item = s.get(LedgerItem, lp.item_id)
            assert item is not None and item.outcome == {**item.outcome, "change": "recover"}
            assert str(item.money_recovered) == "1200.00"
        notice = world.client.wait_for_message(lp.sup1, lambda m: SUBMITTED in m.text, since=0, timeout=15)
        world.client.press_button(lp.sup1, notice, "退回")
        world.client.wait_for_message(lp.sup1, lambda m: "为什么退回" in m.text)
        world.user_say(lp.sup1, "照片不清楚，请重新核实", lambda m: "已退回" in m.text)
        assert _state(world, lp.item_id) is LedgerState.returned
        back = world.client.wait_for_message(lp.officer, lambda m: "被退回" in m.text, since=0, timeout=15)
        assert "照片不清楚，请重新核实" in back.text
        detail = world.user_say(lp.officer, "/fixes", lambda m: "整改事项（" in m.text)
        world.client.press_button(lp.officer, detail, f"第{lp.number}号")
        shown = world.client.wait_for_message(lp.officer, lambda m: "状态：" in m.text)
        assert "退回原因：照片不清楚" in shown.text


def test_the_submitter_cannot_verify_their_own_fix(world: World) -> None:
    with world.bot():
        lp = _loop(world, "LBF3")
        with world.session() as s:
            ev = evidence_of(s, _household(s, lp.item_id), n=13)
            ledger.submit_fix(s, lp.sup1_actor, lp.item_id, FixIn(note="督导代为整改", evidence_ids=[ev.id]))
        notice: ChatMessage = world.client.wait_for_message(
            lp.sup1, lambda m: SUBMITTED in m.text, since=0, timeout=15
        )
        world.client.press_button(lp.sup1, notice, "核验销号")
        world.client.wait_for_message(lp.sup1, lambda m: "四眼原则" in m.text)
        assert _state(world, lp.item_id) is LedgerState.fix_submitted


def test_a_notice_to_an_officer_who_blocked_the_bot_tells_the_supervisor(world: World) -> None:
    with world.bot():
        with world.session() as s:
            c = cast(s, "LBF4")
        officer = _bind(world, c.officer_user.login, "周干部")
        sup = _bind(world, "sup1LBF4", "督导丙")
        world.client.block(officer, emit_update=False)
        with world.session() as s:
            _item_for(s, c)
        alert = world.client.wait_for_message(sup, lambda m: "已屏蔽机器人" in m.text, since=0, timeout=15)
        assert c.officer_user.login in alert.text


def test_a_fix_with_a_photo_in_the_chat_is_verified_and_exits_the_household(world: World) -> None:
    with world.bot():
        lp = _loop(world, "LBF5")
        listing = world.user_say(lp.officer, "/fixes", lambda m: "整改事项（" in m.text)
        world.client.press_button(lp.officer, listing, f"第{lp.number}号")
        detail = world.client.wait_for_message(lp.officer, lambda m: "状态：" in m.text)
        world.client.press_button(lp.officer, detail, "提交整改")
        world.client.wait_for_message(lp.officer, lambda m: "说明已采取的整改措施" in m.text)
        world.user_say(lp.officer, "已停发并收回存折", lambda m: "请发送整改照片" in m.text)
        # not a photo, too large: a friendly reply, the step and nothing else changes
        world.client.send_document(lp.officer, b"%PDF-1.4\n", "scan.pdf", "application/pdf")
        world.client.wait_for_message(lp.officer, lambda m: "不是照片" in m.text)
        big = b"\xff\xd8\xff\xe0" + b"\0" * (21 * 1024 * 1024)
        world.client.send_document(lp.officer, big, "huge.jpg", "image/jpeg")
        world.client.wait_for_message(lp.officer, lambda m: "文件太大" in m.text)
        photo = jpeg_with_gps(43.98, 119.38, seed=61)
        world.client.send_document(lp.officer, photo, "fix.jpg", "image/jpeg")
        got = world.client.wait_for_message(lp.officer, lambda m: "已收到第 1 张照片" in m.text)
        world.client.send_document(lp.officer, photo, "fix.jpg", "image/jpeg")  # the same photo again
        world.client.wait_for_message(lp.officer, lambda m: "只计一次" in m.text)
        world.client.press_button(lp.officer, got, "完成")
        outcome = world.client.wait_for_message(lp.officer, lambda m: "低保档案有什么改变" in m.text)
        world.client.press_button(lp.officer, outcome, "已清退")
        confirm = world.client.wait_for_message(lp.officer, lambda m: "提交第" in m.text)
        assert "照片：1 张" in confirm.text
        world.client.press_button(lp.officer, confirm, "提交")
        world.client.wait_for_message(lp.officer, lambda m: "整改已提交" in m.text)
        with world.session() as s:
            rows = s.exec(select(Evidence).where(Evidence.ledger_item_id == lp.item_id)).all()
            assert len(rows) == 1 and rows[0].visit_id is None and rows[0].site.value == "on_site"
        # the supervisor is told how many photos; Verify closes the item on them
        notice = world.client.wait_for_message(lp.sup2, lambda m: SUBMITTED in m.text, since=0, timeout=15)
        assert "整改照片：1 张" in notice.text
        world.client.press_button(lp.sup2, notice, "核验销号")
        world.client.wait_for_message(lp.sup2, lambda m: "已销号" in m.text)
        assert _state(world, lp.item_id) is LedgerState.closed
        with world.session() as s:
            assert _household(s, lp.item_id).status is HouseholdStatus.exited


def test_the_outcome_the_visit_concluded_is_offered_in_the_chat(world: World) -> None:
    with world.bot():
        with world.session() as s:
            c = cast(s, "LBF6")
            ins = make_user(s, "insLBF6", Role.inspector)
            v = Visit(
                household_id=c.household.id,
                inspector_id=ins.id,
                status=VisitStatus.submitted,
                conclusion={"decision": "remove", "overpaid_months": 3, "overpaid_amount": 1680.0},
            )
            s.add(v)
            s.flush()
            f = Finding(
                visit_id=v.id, household_id=c.household.id, rule_id="t",
                category=FindingCategory.NOT_ELIGIBLE, severity=Severity.high,
                message_zh="收入超标", message_en="income above the line",
            )  # fmt: skip
            s.add(f)
            s.flush()
            item = findings_review.confirm(s, c.sup, f.id)
            ledger.update_item(s, c.sup, item.id, ItemUpdateIn(responsible_user_id=c.officer_user.id))
            item_id, number = item.id, item.number
        officer = _bind(world, c.officer_user.login, "吴干部")
        listing = world.user_say(officer, "/fixes", lambda m: "整改事项（" in m.text)
        world.client.press_button(officer, listing, f"第{number}号")
        detail = world.client.wait_for_message(officer, lambda m: "状态：" in m.text)
        world.client.press_button(officer, detail, "提交整改")
        world.client.wait_for_message(officer, lambda m: "说明已采取的整改措施" in m.text)
        world.user_say(officer, "已停发", lambda m: "请发送整改照片" in m.text)
        outcome = world.user_say(officer, "完成", lambda m: "低保档案有什么改变" in m.text)
        world.client.press_button(officer, outcome, "按走访结论")
        confirm = world.client.wait_for_message(officer, lambda m: "提交第" in m.text)
        assert "按走访结论：清退" in confirm.text and "应追缴 1680.00 元" in confirm.text
        world.client.press_button(officer, confirm, "提交")
        world.client.wait_for_message(officer, lambda m: "整改已提交" in m.text)
        with world.session() as s:
            got = s.get(LedgerItem, item_id)
            assert got is not None and got.outcome["change"] == "exit" and got.months == 3
