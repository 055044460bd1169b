"""Typed amounts through the sandbox: "3,5" is confirmed before it is stored, "1e3" and "1,000" refused."""

from __future__ import annotations

import time
from typing import Any

from sqlmodel import select

from models.visit import Visit
from tests.bot.conftest import World
from tests.bot.visit_driver import ALL_FINE, MONEY_OK, Inspector, bind, run_to


def _snapshot(bot: Any, uid: int) -> tuple[str, Any, str]:
    row = bot.runtime.db.conversation(uid, "visit")
    assert row is not None
    return row["state"], row["data"], row["nonce"]


def _answers(bot: Any, uid: int) -> list[dict[str, Any]]:
    return list(_snapshot(bot, uid)[1]["answers"])


def _submitted(world: World, aid: Any) -> Visit:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with world.session() as s:
            v = s.exec(select(Visit).where(Visit.assignment_id == aid)).first()
            if v is not None and v.status == "submitted":
                s.expunge(v)
                return v
        time.sleep(0.05)
    raise AssertionError("the visit was not submitted")


def test_money_step_confirms_a_decimal_comma_and_refuses_exponents_and_separators(world: World) -> None:
    with world.bot() as bot:
        staff, uid = bind(world, "num_ins", "钱多多")
        (aid,) = world.release(staff, ["LB7301"])
        ins = Inspector(world, uid)
        ins.start()
        ins.live()
        asked = run_to(ins, [*ALL_FINE, *MONEY_OK[:3]])
        assert "低保金到账合计" in asked.text
        before = _snapshot(bot, uid)

        # An exponent and a thousands separator: a clear refusal, and nothing changes.
        refused = ins.say("1e3", lambda m: "⚠️" in m.text)
        assert "科学计数法" in refused.text and "低保金到账合计" in refused.text
        assert _snapshot(bot, uid) == before
        refused = ins.say("1,000", lambda m: "⚠️" in m.text)
        assert "千位分隔符" in refused.text
        refused = ins.say("１，０００", lambda m: "⚠️" in m.text)  # full-width, from a Chinese keyboard
        assert "千位分隔符" in refused.text
        assert _snapshot(bot, uid) == before

        # A decimal comma is asked about; No stores nothing and asks again.
        question = ins.say("3,5", lambda m: m.reply_markup is not None and "您是指" in m.text)
        assert question.text == "3,5 — 您是指 3.5 元吗？"
        acts = {b.callback_data.split("|")[2] for b in question.iter_buttons() if b.callback_data}
        assert acts == {"ny", "nn"}
        again = ins.press("nn")
        assert "请重新输入数字" in again.text and "低保金到账合计" in again.text
        assert _answers(bot, uid) == before[1]["answers"]

        # Yes stores 3.5 and moves on.
        ins.say("3,5", lambda m: m.reply_markup is not None and "您是指" in m.text)
        moved = ins.press("ny")
        assert "银行卡或存折平时在谁手中" in moved.text
        assert _answers(bot, uid)[-1] == {"step_id": "total_credited", "value": 3.5, "evidence": []}

        # The rest of the visit; the store keeps 3.5 (not 35).
        summary = run_to(ins, MONEY_OK[4:])
        assert "走访小结" in summary.text and "3.5" in summary.text
        ins.press("sub", pred=lambda m: "已提交" in m.text)
        v = _submitted(world, aid)
        assert {a["step_id"]: a["value"] for a in v.answers}["total_credited"] == 3.5


def test_a_decimal_comma_where_the_step_takes_whole_numbers_is_refused(world: World) -> None:
    with world.bot() as bot:
        staff, uid = bind(world, "num_ins2", "钱少少")
        world.release(staff, ["LB7302"])
        ins = Inspector(world, uid)
        ins.start()
        ins.live()
        before = _snapshot(bot, uid)
        refused = ins.say("2,5", lambda m: "⚠️" in m.text)  # the team size: 2.5 people is no answer
        assert "请输入整数" in refused.text
        assert _snapshot(bot, uid) == before
        nxt = ins.say("２人")
        assert "该户情况" in nxt.text
