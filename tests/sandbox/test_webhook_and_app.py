"""Webhook delivery (secret header, retries) and a real PTB Application polling the sandbox."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Conflict
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from sandbox import SandboxClient, SandboxServer


class _Receiver:
    """A tiny webhook endpoint: records requests, fails the first `fail` of them with 500."""

    def __init__(self, fail: int = 0) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.fail = fail
        self.event = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.requests.append((dict(self.headers), body))
                if receiver.fail > 0:
                    receiver.fail -= 1
                    self.send_response(500)
                else:
                    self.send_response(200)
                    receiver.event.set()
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    r = _Receiver(fail=1)
    yield r
    r.server.shutdown()


async def test_webhook_delivery_with_secret_and_retry(
    bot: Bot, client: SandboxClient, receiver: _Receiver
) -> None:
    client.configure(webhook_retry_initial=0.05)
    user = client.user("网钩")
    assert await bot.set_webhook(receiver.url, secret_token="s3cr3t-Token_1")
    info = await bot.get_webhook_info()
    assert info.url == receiver.url
    with pytest.raises(Conflict):
        await bot.get_updates()
    sent = client.send_text(user.id, "/start")
    assert await asyncio.to_thread(receiver.event.wait, 5)
    assert len(receiver.requests) == 2  # one 500, then delivered again
    for headers, body in receiver.requests:
        assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cr3t-Token_1"
        assert body == sent.update
        update = Update.de_json(body, bot)
        assert update.message is not None and update.message.text == "/start"
    for _ in range(100):  # the receiver signals before its 200 reaches the sandbox
        info = await bot.get_webhook_info()
        if info.pending_update_count == 0:
            break
        await asyncio.sleep(0.02)
    assert info.pending_update_count == 0 and info.last_error_message and "500" in info.last_error_message
    assert await bot.delete_webhook()
    client.send_text(user.id, "after")
    updates = await bot.get_updates(timeout=1)
    assert [u.message.text for u in updates if u.message] == ["after"]


async def test_ptb_application_end_to_end(
    sandbox_server: SandboxServer, token: str, client: SandboxClient
) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        args = " ".join(context.args or [])
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("确认 Confirm", callback_data=f"ok:{args}")]])
        await update.effective_message.reply_text(f"欢迎 {args}", reply_markup=keyboard)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("好的")
        await query.edit_message_text(f"已确认 {query.data}")

    async def located(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = update.effective_message
        assert msg is not None and msg.location is not None
        await context.bot.send_message(msg.chat_id, f"位置 {msg.location.latitude:.2f}")

    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(sandbox_server.bot_base_url)
        .base_file_url(sandbox_server.bot_base_file_url)
        .rate_limiter(AIORateLimiter(max_retries=2))
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    app.add_handler(MessageHandler(filters.LOCATION, located))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            user = await asyncio.to_thread(client.user, "应用测试")
            await asyncio.to_thread(client.send_command, user.id, "start", "CODE1")
            welcome = await asyncio.to_thread(client.wait_for_message, user.id, lambda m: "欢迎" in m.text)
            assert welcome.text == "欢迎 CODE1"
            press = await asyncio.to_thread(client.press_button, user.id, welcome, "确认")
            edited = await asyncio.to_thread(client.wait_for_message, user.id, lambda m: m.edited)
            assert edited.message_id == welcome.message_id and edited.text == "已确认 ok:CODE1"
            assert press.callback_query_id is not None
            answer = await asyncio.to_thread(client.wait_for_callback_answer, press.callback_query_id)
            assert answer["text"] == "好的"

            # Telegram's 429 is honoured by PTB's rate limiter: retried after retry_after.
            await asyncio.to_thread(client.force_429, 1, 1)
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            await asyncio.to_thread(client.send_location, user.id, 23.18, 113.39)
            reply = await asyncio.to_thread(client.wait_for_message, user.id, lambda m: "位置" in m.text, 5.0)
            assert reply.text == "位置 23.18" and loop.time() - t0 >= 1.0
        finally:
            await app.updater.stop()
            await app.stop()
