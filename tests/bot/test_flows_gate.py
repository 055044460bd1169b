"""The one gate: forwarded input of any kind, edits of earlier answers and input no state expects
get one clear reply and change nothing, at check-in, at a step expecting an answer and at a photo step."""

from __future__ import annotations

import time
from typing import Any

from sandbox import ActionResult
from tests.bot.conftest import World
from tests.bot.visit_driver import HOME, Inspector, bind, run_to
from tests.visit_helpers import jpeg_with_gps

FORWARDED = "不接受转发的消息"
FORWARDED_LOCATION = "转发的位置不能证明"
EDITED = "修改之前发送的消息不会改变任何内容"


def _snapshot(bot: Any, uid: int) -> tuple[str, Any, str]:
    row = bot.runtime.db.conversation(uid, "visit")
    assert row is not None
    return row["state"], row["data"], row["nonce"]


def _originals(world: World) -> dict[str, tuple[int, ActionResult]]:
    """Someone else's text, photo, location and contact, to forward."""
    other = world.client.user(first_name="路人")
    sent = {
        "text": world.client.send_text(other.id, "2"),
        "photo": world.client.send_photo(other.id, jpeg_with_gps(*HOME, seed=901)),
        "location": world.client.send_location(other.id, *HOME),
        "contact": world.client.send_contact(other.id, "+8613800000000", "路人", contact_user_id=other.id),
    }
    world.client.wait_for_message(other.id, timeout=10)
    return {kind: (other.id, result) for kind, result in sent.items()}


def _forwards_refused(world: World, bot: Any, ins: Inspector, originals: dict[str, Any]) -> None:
    before = _snapshot(bot, ins.uid)
    for kind, (chat, result) in originals.items():
        world.client.forward(ins.uid, from_chat_id=chat, message_id=result.message_id)
        reply = ins.wait(lambda m: "转发" in m.text)
        assert (FORWARDED_LOCATION if kind == "location" else FORWARDED) in reply.text, (kind, reply.text)
    time.sleep(0.2)
    assert _snapshot(bot, ins.uid) == before


def _edit(world: World, uid: int, text: str) -> None:
    now = int(time.time())
    msg = {
        "message_id": 880_001,
        "date": now - 30,
        "edit_date": now,
        "chat": {"id": uid, "type": "private", "first_name": "王门"},
        "from": {"id": uid, "is_bot": False, "first_name": "王门"},
        "text": text,
    }
    world.client.inject({"edited_message": msg})


def test_forwards_and_edits_are_refused_at_every_kind_of_step(world: World) -> None:
    with world.bot() as bot:
        staff, uid = bind(world, "gate_ins", "王门")
        world.release(staff, ["LB7301"])
        originals = _originals(world)
        ins = Inspector(world, uid)

        ins.start()  # check-in: the location step
        _forwards_refused(world, bot, ins, originals)

        ins.live()  # a step expecting a typed answer (how many inspectors)
        _forwards_refused(world, bot, ins, originals)
        before = _snapshot(bot, uid)
        _edit(world, uid, "3")
        assert EDITED in ins.wait(lambda m: EDITED in m.text).text
        assert _snapshot(bot, uid) == before

        run_to(ins, [("type", "2"), ("press", "a:home"), ("press", "a:yes")])  # a photo is needed now
        assert "室内照片" in (ins.last.text if ins.last else "")
        _forwards_refused(world, bot, ins, originals)

        # The visit still goes on with the inspector's own photo.
        ok = ins.photo(jpeg_with_gps(*HOME, seed=902), as_file=True)
        assert "在场人员" in ok.text


def test_forwards_outside_a_visit_get_the_same_reply(world: World) -> None:
    with world.bot():
        _staff, uid = bind(world, "gate_idle", "李门")
        world.client.forward(uid, text="/tasks")
        assert FORWARDED in world.client.wait_for_message(uid, lambda m: "转发" in m.text, timeout=10).text
        world.client.send_sticker(uid)
        assert "没有理解您的消息" in world.client.wait_for_message(uid, timeout=10).text
