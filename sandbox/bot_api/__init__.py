"""The Bot API methods, one module per area; `BotApi.call` dispatches a method name to `_m_<name>`.

- messages.py: sendMessage, sendLocation, sendVenue, edits, deleteMessage, answerCallbackQuery
- files.py: sendPhoto, sendDocument, getFile
- updates.py: the getUpdates queue, setWebhook / deleteWebhook / getWebhookInfo
- chats.py: getMe, sendChatAction, set/get/deleteMyCommands and the no-op settings
- sending.py: what sending methods share; limits.py: rate limits and forced 429s
"""

from __future__ import annotations

from typing import Any

from sandbox.bot_api.chats import ChatsApi
from sandbox.bot_api.files import FilesApi
from sandbox.bot_api.limits import MESSAGE_METHODS, RateLimits
from sandbox.bot_api.messages import MessagesApi
from sandbox.bot_api.updates import OPT_IN_UPDATES, UpdatesApi
from sandbox.errors import BotApiError
from sandbox.params import Params
from sandbox.records import BotRecord


class BotApi(MessagesApi, FilesApi, ChatsApi, UpdatesApi, RateLimits):
    """Every Bot API method except getUpdates' waiting (that lives in the HTTP layer)."""

    def call(self, bot: BotRecord, method: str, params: Params) -> Any:
        """Run a (non-long-polling) Bot API method; raises BotApiError."""
        name = method.lower()
        handler = getattr(self, f"_m_{name}", None)
        if handler is None:
            raise BotApiError(404, "Not Found")
        chat_id = params.values.get("chat_id")
        cid: int | None
        try:
            cid = int(chat_id) if chat_id is not None else None
        except (TypeError, ValueError):
            cid = None
        self.check_limits(bot, name, cid)
        with self.lock:
            return handler(bot, params)


__all__ = ["MESSAGE_METHODS", "OPT_IN_UPDATES", "BotApi"]
