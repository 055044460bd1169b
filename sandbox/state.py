"""The sandbox's in-memory Telegram: bots, users, private chats, messages, files and update queues.

Everything here is synchronous and guarded by one re-entrant lock, so the HTTP layer (server.py)
and tests in other threads can use the same `Sandbox` safely. Long polling and webhook delivery
live in server.py; they are woken through `Sandbox.listeners`.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox import media
from sandbox.entities import EntityParseError, detect_entities, format_text

JSON = dict[str, Any]

TOKEN_RE = re.compile(r"^(\d{1,20}):([A-Za-z0-9_-]{35})$")

#: Update types delivered by default when allowed_updates is empty (Telegram leaves these out).
OPT_IN_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}

#: Methods that send or change messages: the ones rate limits and forced 429s apply to by default.
MESSAGE_METHODS = {
    "sendmessage",
    "sendphoto",
    "senddocument",
    "sendlocation",
    "sendvenue",
    "sendcontact",
    "sendsticker",
    "sendchataction",
    "editmessagetext",
    "editmessagecaption",
    "editmessagereplymarkup",
    "editmessagelivelocation",
    "stopmessagelivelocation",
    "deletemessage",
    "answercallbackquery",
    "forwardmessage",
    "copymessage",
}


class BotApiError(Exception):
    """A Bot API error: becomes {"ok": false, "error_code": ..., "description": ...}."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        """Return Telegram's JSON error body."""
        out: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def bad_request(text: str) -> BotApiError:
    """Return a 400 "Bad Request: ..." error."""
    return BotApiError(400, f"Bad Request: {text}")


class ControlError(Exception):
    """An error in a control API call (HTTP status + message)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass
class Upload:
    """A file uploaded in a multipart request."""

    data: bytes
    file_name: str | None = None
    content_type: str | None = None


@dataclass
class StoredFile:
    """A file known to the sandbox, addressable by file_id and by file_path."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    mime_type: str
    file_name: str | None = None
    kind: str = "document"
    width: int | None = None
    height: int | None = None
    #: for photos: the full list of PhotoSize dicts this size belongs to
    photo_group: list[JSON] | None = None

    def info(self) -> JSON:
        """Return the Bot API File object."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass
class MessageRecord:
    """A message in a chat with its sandbox bookkeeping."""

    message: JSON
    from_bot: bool
    seq: int
    deleted: bool = False
    #: ReplyKeyboardMarkup / ReplyKeyboardRemove / ForceReply sent with the message (not in the JSON)
    reply_keyboard: JSON | None = None
    callback_answers: list[JSON] = field(default_factory=list)


@dataclass
class ChatRecord:
    """A private chat between one bot and one user."""

    chat: JSON
    next_message_id: int = 1
    messages: dict[int, MessageRecord] = field(default_factory=dict)
    reply_keyboard: JSON | None = None
    chat_action: JSON | None = None
    live_message_id: int | None = None


@dataclass
class QueuedUpdate:
    """An update waiting to be fetched or delivered."""

    update: JSON
    delivered: bool = False


@dataclass
class BotRecord:
    """One bot token's state."""

    token: str
    id: int
    first_name: str
    username: str
    next_update_id: int = 1
    queue: list[QueuedUpdate] = field(default_factory=list)
    allowed_updates: list[str] | None = None
    webhook_url: str = ""
    webhook_secret: str | None = None
    webhook_max_connections: int = 40
    webhook_ip: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    commands: dict[str, list[JSON]] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    chats: dict[int, ChatRecord] = field(default_factory=dict)
    callback_queries: dict[str, tuple[int, int]] = field(default_factory=dict)
    answered: dict[str, JSON] = field(default_factory=dict)
    forced_errors: deque[tuple[int, frozenset[str] | None]] = field(default_factory=deque)
    rate_global: deque[float] = field(default_factory=deque)
    rate_chat: dict[int, deque[float]] = field(default_factory=dict)
    poll_generation: int = 0
    revoked: bool = False

    def me(self) -> JSON:
        """Return the bot's User object as getMe does."""
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def sender(self) -> JSON:
        """Return the bot as the `from` of its messages."""
        return {"id": self.id, "is_bot": True, "first_name": self.first_name, "username": self.username}


@dataclass
class RateLimit:
    """At most `limit` calls in `window` seconds."""

    limit: int
    window: float = 1.0


@dataclass
class SandboxConfig:
    """Behaviour switches, changeable through POST /control/config."""

    auto_register: bool = True
    per_chat_limit: RateLimit | None = None
    global_limit: RateLimit | None = None
    webhook_retry_initial: float = 0.2
    webhook_retry_max: float = 5.0
    webhook_timeout: float = 10.0

    def to_json(self) -> JSON:
        """Return the config as JSON."""

        def rl(r: RateLimit | None) -> JSON | None:
            return None if r is None else {"limit": r.limit, "window": r.window}

        return {
            "auto_register": self.auto_register,
            "per_chat_limit": rl(self.per_chat_limit),
            "global_limit": rl(self.global_limit),
            "webhook_retry_initial": self.webhook_retry_initial,
            "webhook_retry_max": self.webhook_retry_max,
            "webhook_timeout": self.webhook_timeout,
        }


# ----------------------------------------------------------------------------------------- params


class Params:
    """Bot API call parameters from a query string, a JSON body, a form or a multipart body."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload] | None = None) -> None:
        self.values = values
        self.uploads = uploads or {}

    def has(self, name: str) -> bool:
        """Return whether the parameter was given (and is not null)."""
        return self.values.get(name) is not None or name in self.uploads

    def get_str(self, name: str, required: bool = False, empty_msg: str | None = None) -> str | None:
        """Return a string parameter."""
        v = self.values.get(name)
        if v is None or v == "":
            if required:
                raise bad_request(empty_msg or f"{name} is empty")
            return None
        return v if isinstance(v, str) else json.dumps(v) if isinstance(v, dict | list) else str(v)

    def get_int(self, name: str, required: bool = False) -> int | None:
        """Return an integer parameter."""
        v = self.values.get(name)
        if v is None or v == "":
            if required:
                raise bad_request(f"{name} is empty")
            return None
        if isinstance(v, bool):
            return int(v)
        try:
            return int(v)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def get_float(self, name: str, required: bool = False) -> float | None:
        """Return a float parameter."""
        v = self.values.get(name)
        if v is None or v == "":
            if required:
                raise bad_request(f"{name} is empty")
            return None
        try:
            return float(v)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def get_bool(self, name: str, default: bool = False) -> bool:
        """Return a boolean parameter ("true"/"false"/1/0 accepted)."""
        v = self.values.get(name)
        if v is None or v == "":
            return default
        if isinstance(v, bool):
            return v
        return str(v).lower() in ("true", "1", "yes")

    def get_json(self, name: str) -> Any:
        """Return a JSON-serialised parameter (reply_markup, entities, allowed_updates...)."""
        v = self.values.get(name)
        if v is None or v == "":
            return None
        if isinstance(v, str):
            try:
                return json.loads(v)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return v

    def get_file(self, name: str) -> Upload | str | None:
        """Return an uploaded file, or a file_id / URL string."""
        if name in self.uploads:
            return self.uploads[name]
        v = self.values.get(name)
        if isinstance(v, str) and v.startswith("attach://"):
            key = v.removeprefix("attach://")
            if key in self.uploads:
                return self.uploads[key]
            raise bad_request(f"file {key} for {name} not found in the request")
        return self.get_str(name)


# ---------------------------------------------------------------------------------------- sandbox


def _now() -> int:
    return int(time.time())


def _complete_users(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        out = {k: _complete_users(v, k) for k, v in value.items()}
        if key in ("from", "user", "sender_user") and "id" in out and "first_name" in out:
            out.setdefault("is_bot", False)
        if key == "callback_query":
            out.setdefault("chat_instance", str(out.get("id", "0")))
        if "file_id" in out:
            out.setdefault("file_unique_id", "AQAD" + str(out["file_id"])[-12:])
        return out
    if isinstance(value, list):
        return [_complete_users(v, key) for v in value]
    return value


def _update_type(update: JSON) -> str:
    for key in update:
        if key != "update_id":
            return key
    return "unknown"


class Sandbox:
    """The whole simulated Telegram: call Bot API methods with `call`, act as users with `act_*`."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
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
        return chat

    def set_blocked(
        self, bot: BotRecord, user_id: int, blocked: bool = True, emit: bool = True
    ) -> JSON | None:
        """Mark a user as having blocked (or unblocked) the bot; emits my_chat_member like Telegram."""
        with self.lock:
            user = self.user(user_id)
            was = user_id in bot.blocked
            if blocked:
                bot.blocked.add(user_id)
            else:
                bot.blocked.discard(user_id)
            if not emit or was == blocked:
                return None
            chat = self._chat(bot, user_id)
            old, new = ("member", "kicked") if blocked else ("kicked", "member")
            date = _now()
            mcm: JSON = {
                "chat": dict(chat.chat),
                "from": user,
                "date": date,
                "old_chat_member": {"user": bot.sender(), "status": old},
                "new_chat_member": {"user": bot.sender(), "status": new},
            }
            for member in (mcm["old_chat_member"], mcm["new_chat_member"]):
                if member["status"] == "kicked":
                    member["until_date"] = 0
            return self._enqueue(bot, {"my_chat_member": mcm})

    # -------------------------------------------------------------------------- files

    def _file_ids(self, kind_prefix: str) -> tuple[str, str]:
        n = next(self._file_counter)
        raw = secrets.token_bytes(24)
        fid = kind_prefix + base64.urlsafe_b64encode(n.to_bytes(4, "big") + raw).decode().rstrip("=")
        fuid = "AQAD" + base64.urlsafe_b64encode(n.to_bytes(4, "big") + raw[:6]).decode().rstrip("=")
        return fid, fuid

    def store_file(
        self,
        data: bytes,
        kind: str,
        mime_type: str,
        file_name: str | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> StoredFile:
        """Store bytes as a new file and return it."""
        prefixes = {"photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI", "sticker": "CAACAgIAAxkBAAI"}
        folder = {"photo": "photos", "document": "documents", "sticker": "stickers"}.get(kind, "documents")
        ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf"}.get(
            mime_type
        )
        if ext is None and file_name and "." in file_name:
            ext = file_name.rsplit(".", 1)[1][:8]
        with self.lock:
            fid, fuid = self._file_ids(prefixes.get(kind, "BQACAgIAAxkBAAI"))
            path = f"{folder}/file_{next(self._file_counter)}.{ext or 'bin'}"
            stored = StoredFile(fid, fuid, data, path, mime_type, file_name, kind, width, height)
            self.files[fid] = stored
            self.paths[path] = fid
            return stored

    def store_photo(self, data: bytes) -> list[JSON]:
        """Recompress an image into PhotoSize entries (smallest first), stored as files."""
        try:
            variants = media.photo_variants(data)
        except media.NotAnImage:
            raise bad_request("IMAGE_PROCESS_FAILED") from None
        sizes: list[JSON] = []
        stored: list[StoredFile] = []
        for v in variants:
            f = self.store_file(v.data, "photo", "image/jpeg", None, v.width, v.height)
            stored.append(f)
            sizes.append(
                {
                    "file_id": f.file_id,
                    "file_unique_id": f.file_unique_id,
                    "file_size": len(f.data),
                    "width": v.width,
                    "height": v.height,
                }
            )
        for f in stored:
            f.photo_group = sizes
        return sizes

    def store_document(
        self, data: bytes, file_name: str | None, mime_type: str | None = None, kind: str = "document"
    ) -> JSON:
        """Store bytes unchanged as a Document (with a thumbnail for images) and return its JSON."""
        mime = mime_type or media.sniff_mime(data, file_name)
        f = self.store_file(data, kind, mime, file_name)
        doc: JSON = {}
        if file_name:
            doc["file_name"] = file_name
        doc["mime_type"] = mime
        thumb = media.thumbnail(data) if mime.startswith("image/") else None
        if thumb is not None:
            t = self.store_file(thumb.data, "photo", "image/jpeg", None, thumb.width, thumb.height)
            tjson = {
                "file_id": t.file_id,
                "file_unique_id": t.file_unique_id,
                "file_size": len(t.data),
                "width": thumb.width,
                "height": thumb.height,
            }
            doc["thumbnail"] = tjson
            doc["thumb"] = tjson
        doc.update({"file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_size": len(data)})
        return doc

    def file_by_id(self, file_id: str) -> StoredFile:
        """Return a stored file by file_id (400 wrong file_id if unknown)."""
        with self.lock:
            f = self.files.get(file_id)
            if f is None:
                raise bad_request("wrong file_id or the file is temporarily unavailable")
            return f

    def file_by_path(self, path: str) -> StoredFile | None:
        """Return a stored file by its file_path."""
        with self.lock:
            fid = self.paths.get(path)
            return self.files.get(fid) if fid else None

    # -------------------------------------------------------------------------- updates

    def _enqueue(self, bot: BotRecord, payload: JSON, update_id: int | None = None) -> JSON:
        with self.lock:
            if update_id is None:
                update_id = bot.next_update_id
            bot.next_update_id = max(bot.next_update_id, update_id + 1)
            update = {"update_id": update_id, **{k: v for k, v in payload.items() if k != "update_id"}}
            bot.queue.append(QueuedUpdate(update))
            listeners = list(self.listeners)
        for listener in listeners:
            listener(bot)
        return update

    def inject(self, bot: BotRecord, update: JSON, complete: bool = False) -> JSON:
        """Queue a raw Update as-is (update_id assigned if absent); its private chat becomes known.

        With complete=True, fields today's Bot API always sends but old documentation examples
        omit are filled in (User.is_bot=false, CallbackQuery.chat_instance, file_unique_id), so
        python-telegram-bot parses them.
        """
        if not isinstance(update, dict):
            raise ControlError(400, "update must be a JSON object")
        if complete:
            update = _complete_users(update)
        with self.lock:
            for key in ("message", "edited_message"):
                msg = update.get(key)
                if isinstance(msg, dict):
                    self._adopt_message(bot, msg, edited=key == "edited_message")
            uid = update.get("update_id")
            payload = dict(update)
            return self._enqueue(bot, payload, int(uid) if uid is not None else None)

    def _adopt_message(self, bot: BotRecord, msg: JSON, edited: bool) -> None:
        chat = msg.get("chat") or {}
        sender = msg.get("from") or {}
        if chat.get("type") != "private" or not isinstance(chat.get("id"), int):
            return
        chat_id = chat["id"]
        if chat_id not in self.users:
            user = {
                k: v
                for k, v in sender.items()
                if v is not None and k in ("id", "first_name", "last_name", "username", "language_code")
            }
            user.setdefault("id", chat_id)
            user.setdefault("first_name", chat.get("first_name") or f"User {chat_id}")
            user["is_bot"] = False
            if user["id"] == chat_id:
                self.users[chat_id] = {
                    "id": chat_id,
                    "is_bot": False,
                    **{k: v for k, v in user.items() if k not in ("id", "is_bot")},
                }
        if chat_id not in self.users:
            return
        rec = self._chat(bot, chat_id)
        mid = msg.get("message_id")
        if isinstance(mid, int):
            rec.next_message_id = max(rec.next_message_id, mid + 1)
            existing = rec.messages.get(mid)
            if existing is not None and edited:
                existing.message = dict(msg)
                existing.seq = next(self._seq)
            elif existing is None:
                rec.messages[mid] = MessageRecord(dict(msg), from_bot=False, seq=next(self._seq))

    def get_updates(
        self, bot: BotRecord, offset: int | None, limit: int, allowed: list[str] | None
    ) -> list[JSON]:
        """Confirm updates below offset and return up to limit pending ones (no waiting)."""
        with self.lock:
            if bot.webhook_url:
                raise BotApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            if allowed is not None:
                bot.allowed_updates = allowed
            if offset is not None:
                if offset < 0:
                    keep = sorted(bot.queue, key=lambda q: q.update["update_id"])[offset:]
                    bot.queue = keep
                else:
                    bot.queue = [q for q in bot.queue if not (q.delivered and q.update["update_id"] < offset)]
            bot.queue.sort(key=lambda q: q.update["update_id"])
            wanted = bot.allowed_updates
            out: list[JSON] = []
            kept: list[QueuedUpdate] = []
            for q in bot.queue:
                kind = _update_type(q.update)
                if (wanted and kind not in wanted) or (not wanted and kind in OPT_IN_UPDATES):
                    continue  # filtered out: Telegram drops these
                kept.append(q)
                if len(out) < limit:
                    q.delivered = True
                    out.append(q.update)
            bot.queue = kept
            return out

    def next_webhook_update(self, bot: BotRecord) -> JSON | None:
        """Return the oldest update waiting for webhook delivery."""
        with self.lock:
            if not bot.webhook_url or not bot.queue:
                return None
            bot.queue.sort(key=lambda q: q.update["update_id"])
            wanted = bot.allowed_updates
            while bot.queue:
                kind = _update_type(bot.queue[0].update)
                if (wanted and kind not in wanted) or (not wanted and kind in OPT_IN_UPDATES):
                    bot.queue.pop(0)
                    continue
                return bot.queue[0].update
            return None

    def webhook_delivered(self, bot: BotRecord, update_id: int) -> None:
        """Remove an update the webhook acknowledged."""
        with self.lock:
            bot.queue = [q for q in bot.queue if q.update["update_id"] != update_id]

    def webhook_failed(self, bot: BotRecord, message: str) -> None:
        """Record a webhook delivery error (shown by getWebhookInfo)."""
        with self.lock:
            bot.last_error_date = _now()
            bot.last_error_message = message

    # -------------------------------------------------------------------------- rate limits

    def force_errors(self, bot: BotRecord, count: int, retry_after: int, methods: list[str] | None) -> None:
        """Make the next `count` matching calls fail with 429 retry_after."""
        scope = None if methods is None else frozenset(m.lower() for m in methods)
        with self.lock:
            for _ in range(count):
                bot.forced_errors.append((retry_after, scope))

    def check_limits(self, bot: BotRecord, method: str, chat_id: int | None) -> None:
        """Raise 429 when a forced error is pending or a configured rate limit is exceeded."""
        with self.lock:
            if bot.forced_errors:
                retry_after, scope = bot.forced_errors[0]
                applies = method in MESSAGE_METHODS if scope is None else ("*" in scope or method in scope)
                if applies:
                    bot.forced_errors.popleft()
                    raise self._too_many(retry_after)
            if method not in MESSAGE_METHODS or method in ("answercallbackquery", "sendchataction"):
                return
            now = time.monotonic()
            checks: list[tuple[deque[float], RateLimit]] = []
            if self.config.global_limit:
                checks.append((bot.rate_global, self.config.global_limit))
            if self.config.per_chat_limit and chat_id is not None:
                checks.append((bot.rate_chat.setdefault(chat_id, deque()), self.config.per_chat_limit))
            for window, rl in checks:
                while window and window[0] <= now - rl.window:
                    window.popleft()
                if len(window) >= rl.limit:
                    raise self._too_many(max(1, math.ceil(window[0] + rl.window - now)))
            for window, _ in checks:
                window.append(now)

    @staticmethod
    def _too_many(retry_after: int) -> BotApiError:
        return BotApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})

    # -------------------------------------------------------------------------- messages

    def _new_message(
        self, bot: BotRecord, chat: ChatRecord, sender: JSON, content: JSON, from_bot: bool
    ) -> MessageRecord:
        mid = chat.next_message_id
        chat.next_message_id += 1
        msg: JSON = {"message_id": mid, "from": sender, "chat": dict(chat.chat), "date": _now()}
        msg.update(content)
        rec = MessageRecord(msg, from_bot=from_bot, seq=next(self._seq))
        chat.messages[mid] = rec
        return rec

    def _user_message(self, bot: BotRecord, user_id: int, content: JSON) -> tuple[JSON, JSON]:
        with self.lock:
            user = self.user(user_id)
            if user_id in bot.blocked:
                bot.blocked.discard(user_id)  # writing to a bot unblocks it, as in Telegram
            chat = self._chat(bot, user_id)
            rec = self._new_message(bot, chat, user, content, from_bot=False)
            update = self._enqueue(bot, {"message": rec.message})
            return update, rec.message

    def _result(self, update: JSON | None, message: JSON | None, cursor: int, **extra: Any) -> JSON:
        out: JSON = {
            "update_id": update["update_id"] if update else None,
            "update": update,
            "message": message,
            "cursor": cursor,
        }
        out.update(extra)
        return out

    def cursor(self) -> int:
        """Return the current change sequence number (messages with seq > cursor are newer)."""
        with self.lock:
            # taking a number is harmless: it only leaves a gap between sequence numbers
            return next(self._seq)

    # ------------------------------------------------------------------ acting as users (control)

    def act_text(
        self, bot: BotRecord, user_id: int, text: str, reply_to_message_id: int | None = None
    ) -> JSON:
        """The user sends text (commands get bot_command entities as in Telegram)."""
        cursor = self.cursor()
        if not text:
            raise ControlError(400, "text is empty")
        content: JSON = {"text": text}
        entities = detect_entities(text)
        if entities:
            content["entities"] = entities
        with self.lock:
            if reply_to_message_id is not None:
                chat = self._chat(bot, user_id)
                target = chat.messages.get(reply_to_message_id)
                if target is None:
                    raise ControlError(404, f"message {reply_to_message_id} not found")
                content["reply_to_message"] = target.message
            update, msg = self._user_message(bot, user_id, content)
        return self._result(update, msg, cursor)

    def act_press(self, bot: BotRecord, user_id: int, message_id: int, data: str, check: bool = True) -> JSON:
        """The user presses an inline button: a callback_query carrying the message."""
        cursor = self.cursor()
        with self.lock:
            user = self.user(user_id)
            chat = self._chat(bot, user_id)
            rec = chat.messages.get(message_id)
            if rec is None or rec.deleted:
                raise ControlError(404, f"message {message_id} not found in chat {user_id}")
            if check:
                markup = rec.message.get("reply_markup") or {}
                datas = [b.get("callback_data") for row in markup.get("inline_keyboard", []) for b in row]
                if data not in datas:
                    raise ControlError(
                        400, f"message {message_id} has no inline button with callback_data {data!r}"
                    )
            qid = str(next(self._callback_ids))
            query: JSON = {
                "id": qid,
                "from": user,
                "message": rec.message,
                "chat_instance": str(-(abs(hash((bot.id, user_id))) % 10**18)),
                "data": data,
            }
            bot.callback_queries[qid] = (user_id, message_id)
            update = self._enqueue(bot, {"callback_query": query})
        return self._result(update, rec.message, cursor, callback_query_id=qid)

    def act_location(
        self,
        bot: BotRecord,
        user_id: int,
        latitude: float,
        longitude: float,
        horizontal_accuracy: float | None = None,
        live_period: int | None = None,
        heading: int | None = None,
    ) -> JSON:
        """The user shares a location; with live_period it is a live location that can be moved."""
        cursor = self.cursor()
        loc: JSON = {"latitude": latitude, "longitude": longitude}
        if horizontal_accuracy is not None:
            loc["horizontal_accuracy"] = horizontal_accuracy
        if live_period is not None:
            loc["live_period"] = live_period
            if heading is not None:
                loc["heading"] = heading
        with self.lock:
            update, msg = self._user_message(bot, user_id, {"location": loc})
            if live_period is not None:
                self._chat(bot, user_id).live_message_id = msg["message_id"]
        return self._result(update, msg, cursor)

    def act_move_live(
        self,
        bot: BotRecord,
        user_id: int,
        latitude: float | None,
        longitude: float | None,
        message_id: int | None = None,
        heading: int | None = None,
        horizontal_accuracy: float | None = None,
        stop: bool = False,
    ) -> JSON:
        """The user's live location moves (or stops): an edited_message with edit_date."""
        cursor = self.cursor()
        with self.lock:
            chat = self._chat(bot, user_id)
            mid = message_id or chat.live_message_id
            rec = chat.messages.get(mid) if mid else None
            if rec is None or "location" not in rec.message:
                raise ControlError(404, "no live location to move: start one first")
            loc = dict(rec.message["location"])
            if "live_period" not in loc:
                raise ControlError(409, f"message {mid} is not an active live location")
            if latitude is not None and longitude is not None:
                loc["latitude"], loc["longitude"] = latitude, longitude
            if heading is not None:
                loc["heading"] = heading
            if horizontal_accuracy is not None:
                loc["horizontal_accuracy"] = horizontal_accuracy
            if stop:
                loc.pop("live_period", None)
                loc.pop("heading", None)
                chat.live_message_id = None
            msg = dict(rec.message)
            msg["location"] = loc
            msg["edit_date"] = max(
                _now(), int(rec.message.get("edit_date", 0)) + 1, int(rec.message["date"]) + 1
            )
            rec.message = msg
            rec.seq = next(self._seq)
            update = self._enqueue(bot, {"edited_message": msg})
        return self._result(update, msg, cursor)

    def act_photo(self, bot: BotRecord, user_id: int, data: bytes, caption: str | None = None) -> JSON:
        """The user sends a photo: recompressed, EXIF stripped, several PhotoSize entries."""
        cursor = self.cursor()
        sizes = self.store_photo(data)
        content: JSON = {"photo": sizes}
        if caption:
            content["caption"] = caption
            ents = detect_entities(caption)
            if ents:
                content["caption_entities"] = ents
        update, msg = self._user_message(bot, user_id, content)
        return self._result(update, msg, cursor)

    def act_document(
        self,
        bot: BotRecord,
        user_id: int,
        data: bytes,
        file_name: str | None,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> JSON:
        """The user sends a file: bytes (and EXIF) kept unchanged."""
        cursor = self.cursor()
        doc = self.store_document(data, file_name or "file", mime_type)
        content: JSON = {"document": doc}
        if caption:
            content["caption"] = caption
        update, msg = self._user_message(bot, user_id, content)
        return self._result(update, msg, cursor)

    def act_venue(self, bot: BotRecord, user_id: int, venue: JSON) -> JSON:
        """The user sends a venue (a named place)."""
        cursor = self.cursor()
        try:
            loc = {"latitude": float(venue["latitude"]), "longitude": float(venue["longitude"])}
            body: JSON = {"location": loc, "title": str(venue["title"]), "address": str(venue["address"])}
        except (KeyError, TypeError, ValueError) as exc:
            raise ControlError(400, f"venue needs latitude, longitude, title, address: {exc}") from None
        for key in ("foursquare_id", "foursquare_type", "google_place_id", "google_place_type"):
            if venue.get(key):
                body[key] = venue[key]
        update, msg = self._user_message(bot, user_id, {"location": dict(loc), "venue": body})
        return self._result(update, msg, cursor)

    def act_contact(self, bot: BotRecord, user_id: int, contact: JSON) -> JSON:
        """The user shares a contact (own when user_id equals the sender, as request_contact does)."""
        cursor = self.cursor()
        if not contact.get("phone_number") or not contact.get("first_name"):
            raise ControlError(400, "contact needs phone_number and first_name")
        body: JSON = {"phone_number": str(contact["phone_number"]), "first_name": str(contact["first_name"])}
        for key in ("last_name", "user_id", "vcard"):
            if contact.get(key) is not None:
                body[key] = contact[key]
        update, msg = self._user_message(bot, user_id, {"contact": body})
        return self._result(update, msg, cursor)

    def act_sticker(
        self, bot: BotRecord, user_id: int, emoji: str = "👍", set_name: str | None = None
    ) -> JSON:
        """The user sends a sticker."""
        cursor = self.cursor()
        f = self.store_file(media.sticker_webp(emoji), "sticker", "image/webp", None, 512, 512)
        sticker: JSON = {
            "width": 512,
            "height": 512,
            "emoji": emoji,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_size": len(f.data),
        }
        if set_name:
            sticker["set_name"] = set_name
        update, msg = self._user_message(bot, user_id, {"sticker": sticker})
        return self._result(update, msg, cursor)

    def act_forward(
        self,
        bot: BotRecord,
        user_id: int,
        text: str | None = None,
        origin: JSON | None = None,
        from_chat_id: int | None = None,
        message_id: int | None = None,
    ) -> JSON:
        """The user forwards a message: a copy of an existing one, or text with a given forward_origin."""
        cursor = self.cursor()
        with self.lock:
            if message_id is not None:
                src_chat = self._chat(bot, from_chat_id if from_chat_id is not None else user_id)
                src = src_chat.messages.get(message_id)
                if src is None:
                    raise ControlError(404, f"message {message_id} not found")
                keep = (
                    "text",
                    "entities",
                    "photo",
                    "document",
                    "caption",
                    "caption_entities",
                    "location",
                    "venue",
                    "contact",
                    "sticker",
                )
                content = {k: v for k, v in src.message.items() if k in keep}
                sender = src.message.get("from") or {}
                origin = origin or {"type": "user", "date": src.message["date"], "sender_user": sender}
            else:
                if not text:
                    raise ControlError(400, "forward needs text or message_id")
                content = {"text": text}
                ents = detect_entities(text)
                if ents:
                    content["entities"] = ents
                origin = dict(origin or {"type": "hidden_user", "sender_user_name": "Someone"})
                origin.setdefault("date", _now() - 3600)
                if origin.get("type") == "user" and "sender_user" not in origin:
                    sid = origin.pop("sender_user_id", None)
                    if sid is None:
                        raise ControlError(
                            400, "forward origin of type user needs sender_user or sender_user_id"
                        )
                    origin["sender_user"] = self.user(int(sid))
            content["forward_origin"] = origin
            update, msg = self._user_message(bot, user_id, content)
        return self._result(update, msg, cursor)

    # -------------------------------------------------------------------------- reading (control)

    def chat_messages(
        self, bot: BotRecord, chat_id: int, since: int = 0, who: str = "bot", base_url: str = ""
    ) -> JSON:
        """Return messages of a chat changed after `since` (edits applied), with sandbox extras."""
        with self.lock:
            chat = bot.chats.get(chat_id)
            out: list[JSON] = []
            if chat is not None:
                for rec in sorted(chat.messages.values(), key=lambda r: r.message["message_id"]):
                    if rec.seq <= since:
                        continue
                    if who == "bot" and not rec.from_bot:
                        continue
                    if who == "user" and rec.from_bot:
                        continue
                    out.append(self._view(rec, base_url))
            return {
                "chat_id": chat_id,
                "messages": out,
                "cursor": self.cursor(),
                "reply_keyboard": chat.reply_keyboard if chat else None,
                "chat_action": chat.chat_action if chat else None,
                "blocked": chat_id in bot.blocked,
            }

    def _view(self, rec: MessageRecord, base_url: str) -> JSON:
        msg = dict(rec.message)
        extra: JSON = {
            "seq": rec.seq,
            "from_bot": rec.from_bot,
            "deleted": rec.deleted,
            "reply_keyboard": rec.reply_keyboard,
            "callback_answers": list(rec.callback_answers),
        }
        if msg.get("photo"):
            extra["photo_url"] = f"{base_url}/control/files/{msg['photo'][-1]['file_id']}"
            extra["thumb_url"] = f"{base_url}/control/files/{msg['photo'][0]['file_id']}"
        if msg.get("document"):
            extra["document_url"] = f"{base_url}/control/files/{msg['document']['file_id']}"
        if msg.get("sticker"):
            extra["sticker_url"] = f"{base_url}/control/files/{msg['sticker']['file_id']}"
        msg["sandbox"] = extra
        return msg

    def callback_answer(self, bot: BotRecord, query_id: str) -> JSON | None:
        """Return the bot's answerCallbackQuery for a query id, if any yet."""
        with self.lock:
            return bot.answered.get(query_id)

    # ---------------------------------------------------------------------- Bot API methods

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

    def _target_chat(self, bot: BotRecord, params: Params) -> ChatRecord:
        raw = params.values.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        chat = self._chat(bot, chat_id)
        if chat_id in bot.blocked:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _reply_markup(self, params: Params, chat: ChatRecord | None) -> tuple[JSON | None, JSON | None]:
        """Validate reply_markup; return (inline markup for the message JSON, other keyboard)."""
        markup = params.get_json("reply_markup")
        if markup is None:
            return None, None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request(
                    'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
                )
            for row in rows:
                for button in row:
                    if not isinstance(button, dict) or not button.get("text"):
                        raise bad_request(
                            "can't parse inline keyboard button: "
                            "Text buttons are unallowed in the inline keyboard"
                        )
                    data = button.get("callback_data")
                    if data is not None and not (1 <= len(str(data).encode()) <= 64):
                        raise bad_request("BUTTON_DATA_INVALID")
                    kinds = {
                        "callback_data",
                        "url",
                        "web_app",
                        "login_url",
                        "switch_inline_query",
                        "switch_inline_query_current_chat",
                        "switch_inline_query_chosen_chat",
                        "copy_text",
                        "callback_game",
                        "pay",
                    }
                    if not kinds & set(button):
                        raise bad_request(
                            "can't parse inline keyboard button: "
                            "InlineKeyboardButton must have exactly one of the optional fields"
                        )
            return markup, None
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
            normalized = [[b if isinstance(b, dict) else {"text": str(b)} for b in row] for row in rows]
            markup = {**markup, "keyboard": normalized}
            if chat is not None:
                chat.reply_keyboard = markup
            return None, markup
        if markup.get("remove_keyboard"):
            if chat is not None:
                chat.reply_keyboard = None
            return None, markup
        if markup.get("force_reply"):
            return None, markup
        raise bad_request("can't parse reply keyboard markup JSON object")

    def _bot_send(self, bot: BotRecord, params: Params, content: JSON) -> JSON:
        chat = self._target_chat(bot, params)
        inline, keyboard = self._reply_markup(params, chat)
        reply_to = params.get_int("reply_to_message_id")
        rp = params.get_json("reply_parameters")
        if isinstance(rp, dict) and rp.get("message_id") is not None:
            reply_to = int(rp["message_id"])
        if reply_to is not None:
            target = chat.messages.get(reply_to)
            if target is None:
                allow = params.get_bool("allow_sending_without_reply") or (
                    isinstance(rp, dict) and rp.get("allow_sending_without_reply")
                )
                if not allow:
                    raise bad_request("message to be replied not found")
            else:
                content["reply_to_message"] = {
                    k: v for k, v in target.message.items() if k != "reply_to_message"
                }
        if inline is not None:
            content["reply_markup"] = inline
        rec = self._new_message(bot, chat, bot.sender(), content, from_bot=True)
        rec.reply_keyboard = keyboard
        chat.chat_action = None
        return rec.message

    def _text_content(self, params: Params, text_key: str, entities_key: str) -> JSON:
        text = params.get_str(text_key)
        if text is None:
            return {}
        explicit = params.get_json(entities_key)
        try:
            if explicit is not None:
                plain, entities = text, list(explicit)
            else:
                plain, entities = format_text(text, params.get_str("parse_mode"))
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
        content: JSON = {text_key: plain}
        if entities:
            content[entities_key] = entities
        return content

    def _m_getme(self, bot: BotRecord, params: Params) -> JSON:
        return bot.me()

    def _m_logout(self, bot: BotRecord, params: Params) -> bool:
        return True

    def _m_close(self, bot: BotRecord, params: Params) -> bool:
        return True

    def _m_sendmessage(self, bot: BotRecord, params: Params) -> JSON:
        text = params.get_str("text", required=True, empty_msg="message text is empty")
        assert text is not None
        if len(text) > 4096 and params.get_str("parse_mode") is None:
            raise bad_request("message is too long")
        content = self._text_content(params, "text", "entities")
        if not content.get("text", "").strip():
            raise bad_request("message text is empty")
        if len(content["text"]) > 4096:
            raise bad_request("message is too long")
        lpo = params.get_json("link_preview_options")
        if isinstance(lpo, dict) and lpo:
            content["link_preview_options"] = lpo
        return self._bot_send(bot, params, content)

    def _input_photo(self, params: Params) -> list[JSON]:
        photo = params.get_file("photo")
        if photo is None:
            raise bad_request("there is no photo in the request")
        if isinstance(photo, Upload):
            return self.store_photo(photo.data)
        f = self.files.get(photo)
        if f is None:
            raise bad_request(
                "wrong remote file identifier specified: Wrong string length"
                if not photo.startswith("http")
                else "failed to get HTTP URL content"
            )
        if f.kind != "photo" or f.photo_group is None:
            raise bad_request(f"can't use file of type {f.kind.capitalize()} as Photo")
        return f.photo_group

    def _m_sendphoto(self, bot: BotRecord, params: Params) -> JSON:
        content: JSON = {"photo": self._input_photo(params)}
        content.update(self._text_content(params, "caption", "caption_entities"))
        if params.get_bool("has_spoiler"):
            content["has_media_spoiler"] = True
        return self._bot_send(bot, params, content)

    def _m_senddocument(self, bot: BotRecord, params: Params) -> JSON:
        doc = params.get_file("document")
        if doc is None:
            raise bad_request("there is no document in the request")
        if isinstance(doc, Upload):
            djson = self.store_document(doc.data, doc.file_name or "document", None)
        else:
            f = self.files.get(doc)
            if f is None:
                raise bad_request("wrong remote file identifier specified: Wrong string length")
            djson = {"file_name": f.file_name or f.file_path.rsplit("/", 1)[-1], "mime_type": f.mime_type}
            djson.update({"file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_size": len(f.data)})
        content: JSON = {"document": djson}
        content.update(self._text_content(params, "caption", "caption_entities"))
        return self._bot_send(bot, params, content)

    def _location_params(self, params: Params) -> JSON:
        lat = params.get_float("latitude", required=True)
        lon = params.get_float("longitude", required=True)
        assert lat is not None and lon is not None
        if not (-90 <= lat <= 90) or not (-180 <= lon <= 180):
            raise bad_request("wrong location latitude or longitude specified")
        loc: JSON = {"latitude": lat, "longitude": lon}
        for key in ("horizontal_accuracy",):
            v = params.get_float(key)
            if v is not None:
                loc[key] = v
        for key in ("live_period", "heading", "proximity_alert_radius"):
            iv = params.get_int(key)
            if iv is not None:
                loc[key] = iv
        return loc

    def _m_sendlocation(self, bot: BotRecord, params: Params) -> JSON:
        return self._bot_send(bot, params, {"location": self._location_params(params)})

    def _m_sendvenue(self, bot: BotRecord, params: Params) -> JSON:
        loc = self._location_params(params)
        venue: JSON = {
            "location": dict(loc),
            "title": params.get_str("title", required=True),
            "address": params.get_str("address", required=True),
        }
        return self._bot_send(bot, params, {"location": loc, "venue": venue})

    def _m_sendchataction(self, bot: BotRecord, params: Params) -> bool:
        chat = self._target_chat(bot, params)
        action = params.get_str("action", required=True)
        allowed = {
            "typing",
            "upload_photo",
            "record_video",
            "upload_video",
            "record_voice",
            "upload_voice",
            "upload_document",
            "choose_sticker",
            "find_location",
            "record_video_note",
            "upload_video_note",
        }
        if action not in allowed:
            raise bad_request("wrong parameter action in request")
        chat.chat_action = {"action": action, "date": _now()}
        return True

    def _editable(self, bot: BotRecord, params: Params) -> MessageRecord:
        if params.has("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._target_chat(bot, params)
        mid = params.get_int("message_id", required=True)
        assert mid is not None
        rec = chat.messages.get(mid)
        if rec is None or rec.deleted:
            raise bad_request("message to edit not found")
        if not rec.from_bot:
            raise bad_request("message can't be edited")
        return rec

    def _apply_edit(self, rec: MessageRecord, changes: JSON, markup: JSON | None) -> JSON:
        msg = dict(rec.message)
        msg.update(changes)
        for key in ("entities", "caption_entities"):
            if msg.get(key) == []:
                msg.pop(key)
        if markup is not None:
            msg["reply_markup"] = markup
        else:
            msg.pop("reply_markup", None)
        same = {k: v for k, v in msg.items() if k != "edit_date"} == {
            k: v for k, v in rec.message.items() if k != "edit_date"
        }
        if same:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        msg["edit_date"] = _now()
        rec.message = msg
        rec.seq = next(self._seq)
        return msg

    def _m_editmessagetext(self, bot: BotRecord, params: Params) -> JSON:
        rec = self._editable(bot, params)
        if "text" not in rec.message:
            raise bad_request("there is no text in the message to edit")
        text = params.get_str("text", required=True, empty_msg="message text is empty")
        assert text is not None
        content = self._text_content(params, "text", "entities")
        if not content.get("text", "").strip():
            raise bad_request("message text is empty")
        if "entities" not in content:
            content["entities"] = []
        inline, _ = self._reply_markup(params, None)
        return self._apply_edit(rec, content, inline)

    def _m_editmessagecaption(self, bot: BotRecord, params: Params) -> JSON:
        rec = self._editable(bot, params)
        content = self._text_content(params, "caption", "caption_entities")
        content.setdefault("caption_entities", [])
        inline, _ = self._reply_markup(params, None)
        if "caption" not in content:
            content["caption"] = ""
        msg = self._apply_edit(rec, content, inline)
        if msg.get("caption") == "":
            msg.pop("caption")
        return msg

    def _m_editmessagereplymarkup(self, bot: BotRecord, params: Params) -> JSON:
        rec = self._editable(bot, params)
        inline, _ = self._reply_markup(params, None)
        return self._apply_edit(rec, {}, inline)

    def _m_editmessagelivelocation(self, bot: BotRecord, params: Params) -> JSON:
        rec = self._editable(bot, params)
        if "live_period" not in rec.message.get("location", {}):
            raise bad_request("message can't be edited")
        loc = {**rec.message["location"], **self._location_params(params)}
        inline, _ = self._reply_markup(params, None)
        return self._apply_edit(rec, {"location": loc}, inline)

    def _m_stopmessagelivelocation(self, bot: BotRecord, params: Params) -> JSON:
        rec = self._editable(bot, params)
        loc = dict(rec.message.get("location", {}))
        if "live_period" not in loc:
            raise bad_request("message can't be edited")
        loc.pop("live_period")
        inline, _ = self._reply_markup(params, None)
        return self._apply_edit(rec, {"location": loc}, inline)

    def _m_deletemessage(self, bot: BotRecord, params: Params) -> bool:
        chat = self._target_chat(bot, params)
        mid = params.get_int("message_id", required=True)
        rec = chat.messages.get(mid or 0)
        if rec is None or rec.deleted:
            raise bad_request("message to delete not found")
        rec.deleted = True
        rec.seq = next(self._seq)
        return True

    def _m_answercallbackquery(self, bot: BotRecord, params: Params) -> bool:
        qid = params.get_str("callback_query_id", required=True, empty_msg="QUERY_ID_INVALID")
        assert qid is not None
        if qid not in bot.callback_queries or qid in bot.answered:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        answer: JSON = {"callback_query_id": qid, "date": _now()}
        for key in ("text", "url"):
            if params.get_str(key):
                answer[key] = params.get_str(key)
        answer["show_alert"] = params.get_bool("show_alert")
        cache = params.get_int("cache_time")
        if cache is not None:
            answer["cache_time"] = cache
        bot.answered[qid] = answer
        user_id, mid = bot.callback_queries[qid]
        chat = bot.chats.get(user_id)
        if chat is not None and mid in chat.messages:
            chat.messages[mid].callback_answers.append(answer)
            chat.messages[mid].seq = next(self._seq)
        return True

    @staticmethod
    def _commands_key(scope: Any, language_code: str | None) -> str:
        return json.dumps(scope or {"type": "default"}, sort_keys=True) + "|" + (language_code or "")

    def _m_setmycommands(self, bot: BotRecord, params: Params) -> bool:
        commands = params.get_json("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands specified")
        clean: list[JSON] = []
        for c in commands:
            if not isinstance(c, dict):
                raise bad_request("can't parse BotCommand")
            name = str(c.get("command", "")).removeprefix("/")
            desc = str(c.get("description", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not (1 <= len(desc) <= 256):
                raise bad_request("command description must be non-empty")
            clean.append({"command": name, "description": desc})
        bot.commands[self._commands_key(params.get_json("scope"), params.get_str("language_code"))] = clean
        return True

    def _m_getmycommands(self, bot: BotRecord, params: Params) -> list[JSON]:
        return list(
            bot.commands.get(
                self._commands_key(params.get_json("scope"), params.get_str("language_code")), []
            )
        )

    def _m_deletemycommands(self, bot: BotRecord, params: Params) -> bool:
        bot.commands.pop(self._commands_key(params.get_json("scope"), params.get_str("language_code")), None)
        return True

    def _m_getfile(self, bot: BotRecord, params: Params) -> JSON:
        fid = params.get_str("file_id", required=True, empty_msg="file_id is empty")
        assert fid is not None
        if fid not in self.files:
            raise bad_request("invalid file_id")
        return self.files[fid].info()

    def _m_setwebhook(self, bot: BotRecord, params: Params) -> bool:
        url = params.get_str("url") or ""
        secret = params.get_str("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("secret token contains unallowed characters")
        if url and not re.match(r"^https?://", url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if params.get_bool("drop_pending_updates"):
            bot.queue.clear()
        allowed = params.get_json("allowed_updates")
        if allowed is not None:
            bot.allowed_updates = list(allowed)
        bot.webhook_url = url
        bot.webhook_secret = secret
        bot.webhook_max_connections = params.get_int("max_connections") or 40
        bot.webhook_ip = params.get_str("ip_address")
        bot.last_error_date = None
        bot.last_error_message = None
        for listener in list(self.listeners):
            listener(bot)
        return True

    def _m_deletewebhook(self, bot: BotRecord, params: Params) -> bool:
        if params.get_bool("drop_pending_updates"):
            bot.queue.clear()
        bot.webhook_url = ""
        bot.webhook_secret = None
        for listener in list(self.listeners):
            listener(bot)
        return True

    def _m_getwebhookinfo(self, bot: BotRecord, params: Params) -> JSON:
        info: JSON = {
            "url": bot.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(bot.queue),
        }
        if bot.webhook_url:
            info["max_connections"] = bot.webhook_max_connections
            if bot.webhook_ip:
                info["ip_address"] = bot.webhook_ip
            if bot.allowed_updates:
                info["allowed_updates"] = bot.allowed_updates
        if bot.last_error_date:
            info["last_error_date"] = bot.last_error_date
            info["last_error_message"] = bot.last_error_message
        return info

    def _m_setmydescription(self, bot: BotRecord, params: Params) -> bool:
        return True

    def _m_setmyshortdescription(self, bot: BotRecord, params: Params) -> bool:
        return True

    def _m_setmyname(self, bot: BotRecord, params: Params) -> bool:
        return True

    def _m_setchatmenubutton(self, bot: BotRecord, params: Params) -> bool:
        return True
