"""Every control action yields an Update that PTB parses; raw testdata updates round-trip unchanged."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update

from sandbox import SandboxClient, SandboxError, SandboxServer
from tests.sandbox.conftest import jpeg_with_exif


async def _fetch(bot: Bot, sandbox_server: SandboxServer, token: str) -> list[dict[str, Any]]:
    """Fetch and confirm all pending updates as raw JSON (to compare shapes exactly)."""
    raw = httpx.post(f"{sandbox_server.url}/bot{token}/getUpdates", json={"timeout": 0}).json()["result"]
    if raw:
        httpx.post(f"{sandbox_server.url}/bot{token}/getUpdates", json={"offset": raw[-1]["update_id"] + 1})
    return list(raw)


async def test_each_action_parses_with_ptb(
    bot: Bot, client: SandboxClient, sandbox_server: SandboxServer, token: str
) -> None:
    user = client.user("督查员", username="duchayuan", language_code="zh-hans")
    other = client.user("转发人")
    sent = await bot.send_message(
        user.id, "选择", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    )
    results = [
        client.send_text(user.id, "/start INVITE42"),
        client.press(user.id, sent.message_id, "a"),
        client.send_location(user.id, 23.177917, 113.394317, horizontal_accuracy=15),
        client.live_location(user.id, 23.1, 113.3, live_period=600),
        client.move_live_location(user.id, 23.2, 113.4, heading=90),
        client.stop_live_location(user.id),
        client.send_photo(user.id, jpeg_with_exif((640, 480)), caption="门牌号"),
        client.send_photo(user.id, jpeg_with_exif((640, 480)), as_file=True),
        client.send_document(user.id, b"%PDF-1.4", "a.pdf"),
        client.send_venue(user.id, 23.1, 113.3, "村委会", "某某村1号", foursquare_id="fsq"),
        client.send_contact(user.id, "+8613800000000", "张", contact_user_id=user.id),
        client.send_sticker(user.id),
        client.forward(user.id, "转发的文字", origin={"type": "user", "sender_user_id": other.id}),
        client.forward(user.id, "隐藏", origin={"type": "hidden_user", "sender_user_name": "某人"}),
    ]
    client.block(user.id)
    client.block(user.id, blocked=False)
    client.send_text(user.id, "x")
    raw = await _fetch(bot, sandbox_server, token)
    assert len(raw) == 17  # 14 actions + 2 my_chat_member (block, unblock) + text
    ids = [r["update_id"] for r in raw]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for item in raw:
        update = Update.de_json(item, bot)
        assert update is not None and update.update_id == item["update_id"]
    parsed = [Update.de_json(r, bot) for r in raw]
    kinds = [p.effective_message is not None or p.my_chat_member is not None for p in parsed]
    assert all(kinds)
    by_id = {r["update_id"]: Update.de_json(r, bot) for r in raw}

    start = by_id[results[0].update_id or 0].message
    assert start is not None and start.entities[0].type == "bot_command" and start.text == "/start INVITE42"
    cq = by_id[results[1].update_id or 0].callback_query
    assert (
        cq is not None
        and cq.data == "a"
        and cq.message is not None
        and cq.message.message_id == sent.message_id
    )
    assert cq.chat_instance
    loc = by_id[results[2].update_id or 0].message
    assert loc is not None and loc.location is not None and loc.location.horizontal_accuracy == 15
    live = by_id[results[3].update_id or 0].message
    assert live is not None and live.location is not None and live.location.live_period == 600
    moved = by_id[results[4].update_id or 0].edited_message
    assert moved is not None and moved.message_id == live.message_id and moved.edit_date is not None
    assert moved.location is not None and moved.location.latitude == 23.2 and moved.location.heading == 90
    stopped = by_id[results[5].update_id or 0].edited_message
    assert stopped is not None and stopped.location is not None and stopped.location.live_period is None
    photo = by_id[results[6].update_id or 0].message
    assert (
        photo is not None and [p.width for p in photo.photo] == [90, 320, 640] and photo.caption == "门牌号"
    )
    as_file = by_id[results[7].update_id or 0].message
    assert as_file is not None and as_file.document is not None and as_file.document.mime_type == "image/jpeg"
    pdf = by_id[results[8].update_id or 0].message
    assert pdf is not None and pdf.document is not None and pdf.document.mime_type == "application/pdf"
    venue = by_id[results[9].update_id or 0].message
    assert venue is not None and venue.venue is not None and venue.venue.title == "村委会"
    contact = by_id[results[10].update_id or 0].message
    assert contact is not None and contact.contact is not None and contact.contact.user_id == user.id
    sticker = by_id[results[11].update_id or 0].message
    assert sticker is not None and sticker.sticker is not None and sticker.sticker.emoji == "👍"
    fwd = by_id[results[12].update_id or 0].message
    assert fwd is not None and fwd.forward_origin is not None and fwd.forward_origin.type == "user"
    assert fwd.forward_origin.sender_user.id == other.id  # type: ignore[attr-defined]
    hidden = by_id[results[13].update_id or 0].message
    assert hidden is not None and hidden.forward_origin is not None
    assert hidden.forward_origin.sender_user_name == "某人"  # type: ignore[attr-defined]
    blocks = [p.my_chat_member for p in parsed if p.my_chat_member]
    assert [b.new_chat_member.status for b in blocks] == ["kicked", "member"]


async def test_user_messages_visible_with_who_all(client: SandboxClient, bot: Bot) -> None:
    user = client.user("己")
    client.send_text(user.id, "你好")
    await bot.send_message(user.id, "您好")
    everything = client.messages(user.id, who="all")
    assert [(m.from_bot, m.text) for m in everything] == [(False, "你好"), (True, "您好")]
    assert [m.text for m in client.messages(user.id, who="user")] == ["你好"]


def _testdata_updates(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out.append((path.name, data if path.name.startswith("update_") else {"message": data}))
    return out


async def test_testdata_updates_round_trip(
    bot: Bot, sandbox_server: SandboxServer, token: str, client: SandboxClient, telegram_testdata: Path
) -> None:
    cases = _testdata_updates(telegram_testdata)
    assert len(cases) >= 9
    for name, update in cases:
        result = client.inject(update)
        raw = await _fetch(bot, sandbox_server, token)
        assert len(raw) == 1, name
        expected = dict(update)
        expected.setdefault("update_id", result.update_id)
        assert raw[0] == expected, name  # delivered exactly as injected
        if _incomplete(update):
            # Old Bot API documentation examples omit fields today's API always sends (User.is_bot,
            # CallbackQuery.chat_instance, file_unique_id): PTB rejects them; complete=True fills them.
            with pytest.raises(TypeError):
                Update.de_json(raw[0], bot)
            client.inject(update, complete=True)
            raw = await _fetch(bot, sandbox_server, token)
            assert _incomplete(raw[0]) is False, name
        parsed = Update.de_json(raw[0], bot)
        assert parsed is not None and parsed.update_id == raw[0]["update_id"], name
        assert parsed.to_dict() is not None
        if "message" in update:
            assert (
                parsed.message is not None and parsed.message.message_id == update["message"]["message_id"]
            ), name
        if "callback_query" in update:
            assert parsed.callback_query is not None and parsed.callback_query.message is None
            assert parsed.callback_query.inline_message_id == update["callback_query"]["inline_message_id"]


def _incomplete(value: Any, key: str = "") -> bool:
    if isinstance(value, dict):
        if key in ("from", "user", "sender_user") and "is_bot" not in value:
            return True
        if key == "callback_query" and "chat_instance" not in value:
            return True
        if "file_id" in value and "file_unique_id" not in value:
            return True
        return any(_incomplete(v, k) for k, v in value.items())
    if isinstance(value, list):
        return any(_incomplete(v, key) for v in value)
    return False


async def test_injected_duplicate_is_redelivered(
    bot: Bot, client: SandboxClient, sandbox_server: SandboxServer, token: str
) -> None:
    user = client.user("重复")
    first = client.send_text(user.id, "一次")
    raw = await _fetch(bot, sandbox_server, token)
    assert raw[0]["update_id"] == first.update_id
    client.inject(raw[0])  # Telegram redelivering an update the bot already saw
    again = await _fetch(bot, sandbox_server, token)
    assert again == raw
    nxt = client.send_text(user.id, "二次")
    assert (nxt.update_id or 0) > (first.update_id or 0)


async def test_reply_to_injected_chat(bot: Bot, client: SandboxClient, telegram_testdata: Path) -> None:
    data = json.loads((telegram_testdata / "message_contact_aiogram.json").read_text(encoding="utf-8"))
    client.inject({"message": data})
    msg = await bot.send_message(data["chat"]["id"], "收到")
    assert msg.chat.id == data["chat"]["id"]
    assert msg.message_id > data["message_id"]


def test_control_errors(client: SandboxClient) -> None:
    from sandbox import SandboxError

    with pytest.raises(SandboxError) as exc_info:
        client.send_text(424242, "hi")
    assert exc_info.value.status == 404
    user = client.user("错")
    with pytest.raises(SandboxError):
        client.press(user.id, 999, "x")
    with pytest.raises(SandboxError):
        client.move_live_location(user.id, 1.0, 2.0)
    with pytest.raises(TimeoutError):
        client.wait_for_message(user.id, timeout=0.1)


def test_places(client: SandboxClient, sandbox_server: SandboxServer) -> None:
    places = [{"name": "张三家 Zhang's house", "latitude": 23.17, "longitude": 113.39, "address": "一村1号"}]
    assert client.set_places(places) == places
    assert httpx.get(f"{sandbox_server.url}/control/places").json() == places
    client.set_places([])


async def test_offline_user_updates_are_held_then_released_in_one_burst_with_their_dates(
    bot: Bot, client: SandboxClient, sandbox_server: SandboxServer, token: str
) -> None:
    user = client.user("离线督查员")
    other = client.user("在线督查员")
    client.go_offline(user.id)
    past = int(time.time()) - 36 * 60
    held = [
        client.send_text(user.id, "到了", date=past),
        client.send_location(user.id, 23.1, 113.3, date=past + 60),
        client.send_photo(user.id, jpeg_with_exif((320, 240)), date=past + 120),
    ]
    assert all(r.update_id is None for r in held)
    assert [h["message"]["date"] for h in client.held(user.id)] == [past, past + 60, past + 120]
    client.send_text(other.id, "我有信号")  # other users are not held
    first = await _fetch(bot, sandbox_server, token)
    assert [u["message"]["chat"]["id"] for u in first] == [other.id]

    released = client.go_online(user.id)
    assert len(released) == 3 and client.held(user.id) == []
    burst = await _fetch(bot, sandbox_server, token)
    assert [u["update_id"] for u in burst] == [u["update_id"] for u in released]
    assert [u["message"]["date"] for u in burst] == [past, past + 60, past + 120]
    assert burst[0]["message"]["text"] == "到了" and "location" in burst[1]["message"]
    assert "photo" in burst[2]["message"]
    assert client.send_text(user.id, "在线").update_id is not None  # back online: queued at once


async def test_dated_actions_carry_the_given_date(client: SandboxClient) -> None:
    user = client.user("补发")
    when = int(time.time()) - 600
    assert client.send_text(user.id, "x", date=when).message["date"] == when
    assert client.send_venue(user.id, 23.1, 113.3, "村委会", "1号", date=when).message["date"] == when
    with pytest.raises(SandboxError):
        client.send_text(user.id, "x", date=-5)
