"""The bot started while the Bot API (here the sandbox) is down: it waits for it instead of exiting."""

from __future__ import annotations

import threading
import time

from bot.db import BotDB
from bot.runner import BotThread
from sandbox import SandboxClient, SandboxServer, make_token
from tests.bot.conftest import World, _free_port


def test_a_bot_started_before_the_bot_api_waits_for_it_then_answers(world: World) -> None:
    port = _free_port()
    token = make_token()
    base = f"http://127.0.0.1:{port}"
    settings = world.settings.model_copy(
        update={
            "telegram_token": token,
            "telegram_api_url": f"{base}/bot",
            "telegram_file_url": f"{base}/file/bot",
        }
    )
    bot = BotThread(settings, BotDB(world.db_url))
    started: list[BotThread] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            started.append(bot.start(timeout=60))
        except BaseException as exc:
            failed.append(exc)

    waiter = threading.Thread(target=run, daemon=True)
    waiter.start()
    time.sleep(2.0)
    assert failed == [] and waiter.is_alive(), "the bot gave up while the Bot API was down"
    try:
        with SandboxServer(port=port) as server:
            server.sandbox.register_bot(token)
            waiter.join(40)
            assert failed == [] and started, failed
            with SandboxClient(server.url, bot=token) as client:
                uid = client.user(first_name="刘").id
                client.send_text(uid, "/help")
                reply = client.wait_for_message(uid, None, timeout=20)
                assert reply.text
    finally:
        if started:
            bot.stop()
