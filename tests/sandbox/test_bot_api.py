"""The real python-telegram-bot Bot against the sandbox: methods, files, updates and errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import io

import httpx
import pytest
from PIL import Image
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Conflict, EndPointNotFound, Forbidden, InvalidToken, RetryAfter

from sandbox import SandboxClient, SandboxServer, make_token
from tests.sandbox.conftest import jpeg_with_exif


def _keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("是 Yes", callback_data="yes"),
                InlineKeyboardButton("否 No", callback_data="no"),
            ]
        ]
    )


async def test_get_me(bot: Bot, token: str) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.id == int(token.split(":")[0])
    assert me.username and me.username.endswith("bot")


async def test_send_edit_and_callback_round_trip(bot: Bot, client: SandboxClient) -> None:
    user = client.user("督查员甲", username="inspector_a")
    client.send_text(user.id, "/start")
    updates = await bot.get_updates(timeout=1)
    assert updates[-1].message is not None and updates[-1].message.text == "/start"
    assert updates[-1].message.entities[0].type == "bot_command"

    sent = await bot.send_message(user.id, "<b>任务</b>\n第二行", parse_mode="HTML", reply_markup=_keyboard())
    assert isinstance(sent, Message) and sent.text == "任务\n第二行"
    assert sent.entities[0].type == "bold" and sent.entities[0].length == 2
    assert sent.reply_markup is not None and sent.reply_markup.inline_keyboard[0][0].callback_data == "yes"

    seen = client.wait_for_message(user.id, lambda m: m.text.startswith("任务"))
    assert seen.callback_data("Yes") == "yes"

    press = client.press(user.id, sent.message_id, "yes")
    updates = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1)
    query = updates[0].callback_query
    assert query is not None and query.data == "yes" and query.id == press.callback_query_id
    assert query.message is not None and query.message.message_id == sent.message_id
    assert await query.answer("已选择")
    assert client.callback_answer(query.id) == {
        "callback_query_id": query.id,
        "text": "已选择",
        "show_alert": False,
        "date": client.callback_answer(query.id)["date"],  # type: ignore[index]
    }
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query.id)

    edited = await bot.edit_message_text("已确认 ✅", chat_id=user.id, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.edit_date is not None and edited.reply_markup is None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("已确认 ✅", chat_id=user.id, message_id=sent.message_id)
    again = await bot.edit_message_reply_markup(
        chat_id=user.id, message_id=sent.message_id, reply_markup=_keyboard()
    )
    assert isinstance(again, Message) and again.reply_markup is not None

    view = client.messages(user.id)
    assert (
        [m.text for m in view] == ["已确认 ✅"] and view[0].edited and view[0].buttons[0][1].text == "否 No"
    )

    assert await bot.delete_message(user.id, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=user.id, message_id=sent.message_id)


async def test_reply_keyboard_location_and_chat_action(bot: Bot, client: SandboxClient) -> None:
    user = client.user("乙")
    kb = ReplyKeyboardMarkup(
        [[KeyboardButton("发送位置 Share location", request_location=True)]], resize_keyboard=True
    )
    msg = await bot.send_message(user.id, "请共享位置", reply_markup=kb)
    assert msg.reply_markup is None  # Telegram only echoes inline keyboards
    view = client.chat(user.id)
    assert view.reply_keyboard is not None
    assert view.reply_keyboard["keyboard"][0][0]["request_location"] is True
    assert await bot.send_chat_action(user.id, "find_location")
    loc = await bot.send_location(user.id, 23.1779, 113.3943)
    assert loc.location is not None and loc.location.latitude == pytest.approx(23.1779)


async def test_send_photo_get_file_download(bot: Bot, client: SandboxClient) -> None:
    user = client.user("丙")
    msg = await bot.send_photo(user.id, photo=jpeg_with_exif(), caption="现场照片")
    assert msg.caption == "现场照片"
    sizes = msg.photo
    assert [max(p.width, p.height) for p in sizes] == [90, 320, 800, 1280]
    tg_file = await bot.get_file(sizes[-1].file_id)
    assert tg_file.file_path and tg_file.file_size == sizes[-1].file_size
    data = await tg_file.download_as_bytearray()
    img = Image.open(io.BytesIO(bytes(data)))
    assert img.size == (1280, 960) and not img.getexif()
    buf = io.BytesIO()
    await tg_file.download_to_memory(buf)
    assert buf.getvalue() == bytes(data)
    again = await bot.send_photo(user.id, photo=sizes[0].file_id)
    assert [p.file_unique_id for p in again.photo] == [p.file_unique_id for p in sizes]
    view = client.messages(user.id)
    assert view[-1].photo_url and httpx.get(view[-1].photo_url).content == bytes(data)


async def test_user_photo_as_photo_and_as_file(bot: Bot, client: SandboxClient) -> None:
    user = client.user("丁")
    original = jpeg_with_exif((3000, 2000))
    client.send_photo(user.id, original, caption="门牌")
    client.send_photo(user.id, original, as_file=True, file_name="IMG_0001.jpg")
    updates = await bot.get_updates(timeout=1)
    photo_msg, doc_msg = updates[0].message, updates[1].message
    assert photo_msg is not None and doc_msg is not None
    assert [(p.width, p.height) for p in photo_msg.photo] == [(90, 60), (320, 213), (800, 533), (1280, 853)]
    assert all(p.file_size and p.file_unique_id for p in photo_msg.photo)
    big = await (await bot.get_file(photo_msg.photo[-1].file_id)).download_as_bytearray()
    assert not Image.open(io.BytesIO(bytes(big))).getexif()
    doc = doc_msg.document
    assert doc is not None and doc.mime_type == "image/jpeg" and doc.file_name == "IMG_0001.jpg"
    assert doc.file_size == len(original) and doc.thumbnail is not None
    kept = await (await bot.get_file(doc.file_id)).download_as_bytearray()
    assert bytes(kept) == original
    assert Image.open(io.BytesIO(bytes(kept))).getexif()[0x010F] == "SandboxCam"


async def test_send_document_upload_and_commands(bot: Bot, client: SandboxClient) -> None:
    user = client.user("戊")
    doc = await bot.send_document(user.id, document=b"%PDF-1.4 fake", filename="report.pdf")
    assert doc.document is not None and doc.document.file_name == "report.pdf"
    assert doc.document.mime_type == "application/pdf"
    cmds = [BotCommand("start", "开始"), BotCommand("tasks", "今日任务")]
    assert await bot.set_my_commands(cmds)
    assert await bot.get_my_commands() == tuple(cmds)
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Bad Command", "x")])


async def test_get_updates_offset_limit_allowed_and_long_poll(bot: Bot, client: SandboxClient) -> None:
    user = client.user("己")
    for i in range(3):
        client.send_text(user.id, f"m{i}")
    first = await bot.get_updates(limit=2)
    assert [u.message.text for u in first if u.message] == ["m0", "m1"]
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["m2"]
    # confirmed updates are gone
    assert await bot.get_updates(offset=rest[-1].update_id + 1) == ()

    async def later() -> None:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(client.send_text, user.id, "late")

    task = asyncio.create_task(later())
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    got = await bot.get_updates(offset=rest[-1].update_id + 1, timeout=5)
    await task
    assert [u.message.text for u in got if u.message] == ["late"] and loop.time() - t0 < 3

    client.send_text(user.id, "text only")
    only_cb = await bot.get_updates(
        offset=got[-1].update_id + 1, allowed_updates=["callback_query"], timeout=0
    )
    assert only_cb == ()


async def test_concurrent_get_updates_conflict(bot: Bot, sandbox_server: SandboxServer, token: str) -> None:
    async with Bot(token, base_url=sandbox_server.bot_base_url) as other:
        waiting = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        await other.get_updates(timeout=0)
        with pytest.raises(Conflict):
            await waiting


async def test_errors_map_to_ptb_exceptions(
    bot: Bot, client: SandboxClient, sandbox_server: SandboxServer
) -> None:
    user = client.user("庚")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(999, "hi")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(user.id, "")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(user.id, "1.5 is reserved", parse_mode="MarkdownV2")
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(
            user.id,
            "x",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="x" * 65)]]),
        )

    client.block(user.id)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(user.id, "hi")
    client.block(user.id, blocked=False)
    assert await bot.send_message(user.id, "hi again")

    client.force_429(count=1, retry_after=7)
    with pytest.raises(RetryAfter) as exc_info:
        await bot.send_message(user.id, "hi")
    retry = exc_info.value.retry_after
    assert retry in (7, dt.timedelta(seconds=7))
    assert await bot.send_message(user.id, "after 429")

    bad = Bot("123:short", base_url=sandbox_server.bot_base_url)
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("no_such_method")
    with pytest.raises(InvalidToken):
        await bad.get_me()
    revoked = make_token()
    client.revoke_bot(revoked)
    with pytest.raises(InvalidToken):
        await Bot(revoked, base_url=sandbox_server.bot_base_url).get_me()


async def test_configured_rate_limit_per_chat(bot: Bot, client: SandboxClient) -> None:
    user = client.user("辛")
    client.configure(per_chat_limit={"limit": 2, "window": 1.0})
    try:
        await bot.send_message(user.id, "1")
        await bot.send_message(user.id, "2")
        with pytest.raises(RetryAfter) as exc_info:
            await bot.send_message(user.id, "3")
        assert exc_info.value.retry_after in (1, dt.timedelta(seconds=1))
    finally:
        client.configure(per_chat_limit=None)


def test_raw_http_shapes(sandbox_server: SandboxServer, token: str) -> None:
    url = sandbox_server.url
    assert httpx.get(f"{url}/bot{token}/getMe").json()["ok"] is True
    assert httpx.get(f"{url}/bot{token}/getMe?x=1").status_code == 200
    assert httpx.get(f"{url}/bot1:bad/getMe").json() == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found",
    }
    revoked = make_token()
    sandbox_server.sandbox.revoke_bot(revoked)
    unauthorized = {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert httpx.get(f"{url}/bot{revoked}/getMe").json() == unauthorized
    assert httpx.post(f"{url}/bot{token}/nothing").json() == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found",
    }
    assert httpx.get(f"{url}/file/bot{token}/photos/none.jpg").status_code == 404
    r = httpx.post(f"{url}/bot{token}/sendMessage", data={"chat_id": "1", "text": "x"})
    assert r.status_code == 400 and r.json()["description"] == "Bad Request: chat not found"


def test_update_parses_with_ptb(client: SandboxClient) -> None:
    user = client.user("壬")
    result = client.send_text(user.id, "/tasks today")
    assert result.update is not None
    update = Update.de_json(result.update, None)
    assert update.message is not None and update.message.text == "/tasks today"
