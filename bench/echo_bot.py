"""The baseline of bench/bot.py: a bare python-telegram-bot echo bot, run as its own process.

Same PTB version, same sandbox, same long polling as the Feijian bot (`run_polling` with every update
type) and the same number of concurrent updates, so the two differ only by Feijian's own work. It
replies to every message with its text and answers a button press by editing the message, which are
the Bot API calls the Feijian bot makes for the bench's actions.

Environment: BENCH_ECHO_TOKEN, BENCH_ECHO_API_URL, BENCH_ECHO_FILE_URL; BENCH_ECHO_CONCURRENCY (64);
BENCH_ECHO_REQUEST=lean swaps PTB's default HTTPXRequest for the bot's lean request class.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Replies with the message's text."""
    msg = update.effective_message
    if msg is not None:
        await msg.reply_text(msg.text or "·")


async def pressed(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers the button and shows its data in place of the message."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text(f"{query.data} {query.id}")  # never "message is not modified"


def build() -> Any:
    """The echo Application."""
    builder = (
        ApplicationBuilder()
        .token(os.environ["BENCH_ECHO_TOKEN"])
        .base_url(os.environ["BENCH_ECHO_API_URL"])
        .base_file_url(os.environ["BENCH_ECHO_FILE_URL"])
        .concurrent_updates(int(os.environ.get("BENCH_ECHO_CONCURRENCY", "64")))
    )
    if os.environ.get("BENCH_ECHO_REQUEST") == "lean":
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from bot.request import LeanRequest

        builder = builder.request(LeanRequest(connection_pool_size=256)).get_updates_request(
            LeanRequest(connection_pool_size=1)
        )
    app = builder.build()
    app.add_handler(MessageHandler(filters.ALL & ~filters.UpdateType.EDITED, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    return app


def main() -> None:
    """Polls until interrupted."""
    build().run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)


if __name__ == "__main__":
    main()
