"""The sandbox's in-memory records: bots, private chats, messages, files, queued updates and config."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


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
    #: users who are offline -> the update payloads their phone holds until the signal returns
    held: dict[int, list[JSON]] = field(default_factory=dict)

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
