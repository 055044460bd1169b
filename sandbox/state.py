"""The sandbox's in-memory Telegram: bots, users, private chats, messages, files and update queues.

`Sandbox` is one state object (sandbox/core.py) assembled from one mixin per area:

- sandbox/bot_api/: the Bot API methods by area (messages, files, updates/webhooks, chats)
- sandbox/users.py: what the control API does as a user (text, buttons, locations, media...)
- sandbox/control.py: raw update injection and chats read back
- sandbox/files.py: the file store both sides use

Everything here is synchronous and guarded by one re-entrant lock, so the HTTP layer (sandbox/routes/)
and tests in other threads can use the same `Sandbox` safely. Long polling and webhook delivery
live in sandbox/delivery.py and sandbox/routes/bot_api.py; they are woken through `Sandbox.listeners`.
"""

from __future__ import annotations

from sandbox.bot_api import MESSAGE_METHODS, OPT_IN_UPDATES, BotApi
from sandbox.control import ControlViews
from sandbox.core import TOKEN_RE
from sandbox.errors import BotApiError, ControlError, bad_request
from sandbox.params import Params
from sandbox.records import (
    JSON,
    BotRecord,
    ChatRecord,
    MessageRecord,
    QueuedUpdate,
    RateLimit,
    SandboxConfig,
    StoredFile,
    Upload,
)
from sandbox.users import UserActions


class Sandbox(BotApi, UserActions, ControlViews):
    """The whole simulated Telegram: call Bot API methods with `call`, act as users with `act_*`."""


__all__ = [
    "JSON",
    "MESSAGE_METHODS",
    "OPT_IN_UPDATES",
    "TOKEN_RE",
    "BotApiError",
    "BotRecord",
    "ChatRecord",
    "ControlError",
    "MessageRecord",
    "Params",
    "QueuedUpdate",
    "RateLimit",
    "Sandbox",
    "SandboxConfig",
    "StoredFile",
    "Upload",
    "bad_request",
]
