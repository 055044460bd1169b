"""The sandbox's shared in-memory state: bots, users, private chats, the update queue and sequence numbers.

Every area (sandbox/bot_api/, sandbox/users.py, sandbox/control.py, sandbox/files.py) is a mixin
over `SandboxCore`, so they all share one state object guarded by one re-entrant lock.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from sandbox.errors import BotApiError, ControlError, bad_request
from sandbox.persist import StateFile
from sandbox.records import (
    JSON,
    BotRecord,
    ChatRecord,
    MessageRecord,
    QueuedUpdate,
    SandboxConfig,
    StoredFile,
)

TOKEN_RE = re.compile(r"^(\d{1,20}):([A-Za-z0-9_-]{35})$")


def now() -> int:
    """Return the current Unix time in whole seconds (Telegram's `date`)."""
    return int(time.time())


class SandboxCore:
    """State shared by every area of the sandbox, plus the bots, users and chats registries."""

    def __init__(self, config: SandboxConfig | None = None, state_file: str | None = None) -> None:
        self.config = config or SandboxConfig()
        self.lock = threading.RLock()
        self.bots: dict[str, BotRecord] = {}
        self.default_bot: str | None = None
        self.users: dict[int, JSON] = {}
        self.files: dict[str, StoredFile] = {}
        self.paths: dict[str, str] = {}
        self.places: list[JSON] = []
        self._seq = itertools.count(1)
        self._file_counter = itertools.count(1)
        self._user_ids = itertools.count(100000001)
        self._callback_ids = itertools.count(int(time.time()) * 1000)
        #: called with a BotRecord whenever an update is queued or the webhook changes
        self.listeners: list[Callable[[BotRecord], None]] = []
        #: with a state file, update numbering, users and chats survive a restart
        self.state: StateFile | None = StateFile(state_file) if state_file else None
        if self.state is not None:
            self._restore(self.state)

    def _restore(self, state: StateFile) -> None:
        saved = state.load()
        for user in saved["users"]:
            self.users[int(user["id"])] = user
        for b in saved["bots"]:
            bot = self.register_bot(b["token"], b["first_name"], b["username"])
            bot.next_update_id = max(bot.next_update_id, int(b["next_update_id"]))
        for c in saved["chats"]:
            owner = self.bots.get(c["token"])
            if owner is not None:
                owner.chats[int(c["chat_id"])] = ChatRecord(
                    chat=c["chat"], next_message_id=int(c["next_message_id"])
                )
        used = 0
        for f in saved["files"]:
            stored = StoredFile(**f)
            self.files[stored.file_id] = stored
            self.paths[stored.file_path] = stored.file_id
            used = max([used, *(int(n) for n in re.findall(r"\d+", stored.file_path))])
        self._file_counter = itertools.count(used + 1)  # new file paths never collide with kept ones

    # -------------------------------------------------------------------------- bots

    def register_bot(
        self, token: str, first_name: str | None = None, username: str | None = None
    ) -> BotRecord:
        """Register (or return) the bot with this token."""
        m = TOKEN_RE.match(token)
        if not m:
            raise BotApiError(401, "Unauthorized")
        with self.lock:
            bot = self.bots.get(token)
            if bot is None:
                bot_id = int(m.group(1))
                bot = BotRecord(
                    token=token,
                    id=bot_id,
                    first_name=first_name or "Feijian Sandbox Bot",
                    username=username or f"sandbox_{bot_id}_bot",
                )
                self.bots[token] = bot
                if self.default_bot is None:
                    self.default_bot = token
                if self.state is not None:
                    self.state.save_bot(token, bot.first_name, bot.username, bot.next_update_id)
            else:
                if first_name:
                    bot.first_name = first_name
                if username:
                    bot.username = username
                bot.revoked = False
            return bot

    def bot_for_api(self, token: str) -> BotRecord:
        """Return the bot a call authenticates as: 404 if malformed, 401 if revoked or unknown."""
        if not TOKEN_RE.match(token):
            raise BotApiError(404, "Not Found")  # what Telegram answers for a malformed token
        with self.lock:
            bot = self.bots.get(token)
            if bot is not None and not bot.revoked:
                return bot
            if bot is None and self.config.auto_register:
                return self.register_bot(token)
        raise BotApiError(401, "Unauthorized")

    def revoke_bot(self, token: str) -> None:
        """Make a token invalid: further calls get 401 Unauthorized."""
        with self.lock:
            bot = self.bots.get(token)
            if bot is None:
                bot = self.register_bot(token)
            bot.revoked = True

    def resolve_bot(self, ref: str | int | None) -> BotRecord:
        """Find a bot by token, username or id; None means the default (first registered) bot."""
        with self.lock:
            if ref is None or ref == "":
                if self.default_bot is None:
                    raise ControlError(409, "no bot registered yet: start the bot or POST /control/bots")
                return self.bots[self.default_bot]
            sref = str(ref)
            if sref in self.bots:
                return self.bots[sref]
            for bot in self.bots.values():
                if sref in (str(bot.id), bot.username, "@" + bot.username):
                    return bot
            if TOKEN_RE.match(sref):
                return self.register_bot(sref)
        raise ControlError(404, f"unknown bot {ref!r}")

    def bot_info(self, bot: BotRecord) -> JSON:
        """Return a control-API description of a bot."""
        with self.lock:
            return {
                "token": bot.token,
                "id": bot.id,
                "username": bot.username,
                "first_name": bot.first_name,
                "default": bot.token == self.default_bot,
                "revoked": bot.revoked,
                "webhook_url": bot.webhook_url,
                "pending_update_count": len(bot.queue),
                "commands": bot.commands.get(self._commands_key(None, None), []),
            }

    # -------------------------------------------------------------------------- users

    def create_user(
        self,
        user_id: int | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> JSON:
        """Create (or update) a simulated Telegram user and return its User object."""
        with self.lock:
            if user_id is None:
                user_id = next(self._user_ids)
                while user_id in self.users:
                    user_id = next(self._user_ids)
            user = dict(
                self.users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
            )
            if first_name:
                user["first_name"] = first_name
            for key, value in (
                ("last_name", last_name),
                ("username", username),
                ("language_code", language_code),
            ):
                if value:
                    user[key] = value
            self.users[user_id] = user
            for bot in self.bots.values():
                if user_id in bot.chats:
                    bot.chats[user_id].chat = self._private_chat(user)
            if self.state is not None:
                self.state.save_user(user)
            return dict(user)

    def user(self, user_id: int) -> JSON:
        """Return a user by id (404 control error if unknown)."""
        with self.lock:
            if user_id not in self.users:
                raise ControlError(404, f"unknown user {user_id}: create it with POST /control/users")
            return dict(self.users[user_id])

    @staticmethod
    def _private_chat(user: JSON) -> JSON:
        chat: JSON = {"id": user["id"], "first_name": user.get("first_name", "")}
        for key in ("last_name", "username"):
            if user.get(key):
                chat[key] = user[key]
        chat["type"] = "private"
        return chat

    def _chat(self, bot: BotRecord, chat_id: int, create: bool = True) -> ChatRecord:
        chat = bot.chats.get(chat_id)
        if chat is None:
            if chat_id not in self.users or not create:
                raise bad_request("chat not found")
            chat = ChatRecord(chat=self._private_chat(self.users[chat_id]))
            bot.chats[chat_id] = chat
            if self.state is not None:
                self.state.save_user(self.users[chat_id])
        return chat

    # ------------------------------------------------------------------ updates and sequence

    def _enqueue(self, bot: BotRecord, payload: JSON, update_id: int | None = None) -> JSON:
        with self.lock:
            if update_id is None:
                update_id = bot.next_update_id
            bot.next_update_id = max(bot.next_update_id, update_id + 1)
            update = {"update_id": update_id, **{k: v for k, v in payload.items() if k != "update_id"}}
            bot.queue.append(QueuedUpdate(update))
            if self.state is not None:
                self._save_numbering(bot, update)
            listeners = list(self.listeners)
        for listener in listeners:
            listener(bot)
        return update

    def _save_numbering(self, bot: BotRecord, update: JSON) -> None:
        assert self.state is not None
        self.state.save_bot(bot.token, bot.first_name, bot.username, bot.next_update_id)
        for value in update.values():
            chat_id = value.get("chat", {}).get("id") if isinstance(value, dict) else None
            rec = bot.chats.get(chat_id) if isinstance(chat_id, int) else None
            if rec is not None and isinstance(chat_id, int):
                self.state.save_chat(bot.token, chat_id, rec.chat, rec.next_message_id)

    def _new_message(
        self, bot: BotRecord, chat: ChatRecord, sender: JSON, content: JSON, from_bot: bool
    ) -> MessageRecord:
        mid = chat.next_message_id
        chat.next_message_id += 1
        msg: JSON = {"message_id": mid, "from": sender, "chat": dict(chat.chat), "date": now()}
        msg.update(content)
        rec = MessageRecord(msg, from_bot=from_bot, seq=next(self._seq))
        chat.messages[mid] = rec
        return rec

    def cursor(self) -> int:
        """Return the current change sequence number (messages with seq > cursor are newer)."""
        with self.lock:
            # taking a number is harmless: it only leaves a gap between sequence numbers
            return next(self._seq)

    @staticmethod
    def _commands_key(scope: Any, language_code: str | None) -> str:
        return json.dumps(scope or {"type": "default"}, sort_keys=True) + "|" + (language_code or "")
