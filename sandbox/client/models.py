"""What the control API client returns: users, messages as the user sees them, action results."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]


class SandboxError(RuntimeError):
    """A control API call failed."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class SandboxUser:
    """A simulated Telegram user."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    @classmethod
    def from_json(cls, data: JSON) -> SandboxUser:
        """Build from a Telegram User object."""
        return cls(
            id=int(data["id"]),
            first_name=str(data.get("first_name", "")),
            last_name=data.get("last_name"),
            username=data.get("username"),
            language_code=data.get("language_code"),
        )


@dataclass(frozen=True)
class InlineButton:
    """One inline keyboard button."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ChatMessage:
    """A message as the user sees it now (edits applied), with sandbox extras."""

    raw: JSON
    base_url: str = ""

    @property
    def message_id(self) -> int:
        """The message id."""
        return int(self.raw["message_id"])

    @property
    def text(self) -> str:
        """Text, or caption for media ("" when neither)."""
        return str(self.raw.get("text") or self.raw.get("caption") or "")

    @property
    def sandbox(self) -> JSON:
        """Sandbox extras: seq, from_bot, deleted, reply_keyboard, callback_answers, photo_url..."""
        extra = self.raw.get("sandbox")
        return extra if isinstance(extra, dict) else {}

    @property
    def from_bot(self) -> bool:
        """Whether the bot sent this message."""
        return bool(self.sandbox.get("from_bot", self.raw.get("from", {}).get("is_bot", False)))

    @property
    def deleted(self) -> bool:
        """Whether the bot deleted this message."""
        return bool(self.sandbox.get("deleted", False))

    @property
    def edited(self) -> bool:
        """Whether the message was edited."""
        return "edit_date" in self.raw

    @property
    def reply_markup(self) -> JSON | None:
        """The inline keyboard markup, if any."""
        markup = self.raw.get("reply_markup")
        return markup if isinstance(markup, dict) else None

    @property
    def reply_keyboard(self) -> JSON | None:
        """The reply keyboard (or remove/force_reply) sent with this message, if any."""
        kb = self.sandbox.get("reply_keyboard")
        return kb if isinstance(kb, dict) else None

    @property
    def buttons(self) -> list[list[InlineButton]]:
        """Inline keyboard rows."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [
            [InlineButton(b.get("text", ""), b.get("callback_data"), b.get("url")) for b in row]
            for row in rows
        ]

    def iter_buttons(self) -> Iterator[InlineButton]:
        """All inline buttons, row by row."""
        for row in self.buttons:
            yield from row

    def callback_data(self, label: str) -> str:
        """Callback data of the first button whose text equals (or else contains) label."""
        buttons = list(self.iter_buttons())
        for match in (lambda b: b.text == label, lambda b: label in b.text):
            for b in buttons:
                if match(b) and b.callback_data is not None:
                    return b.callback_data
        raise KeyError(f"no button {label!r} in {[b.text for b in buttons]}")

    def _url(self, key: str) -> str | None:
        value = self.sandbox.get(key)
        return f"{self.base_url}{value}" if isinstance(value, str) else None

    @property
    def photo_url(self) -> str | None:
        """URL of the largest photo size (no token needed)."""
        return self._url("photo_url")

    @property
    def document_url(self) -> str | None:
        """URL of the document (no token needed)."""
        return self._url("document_url")

    @property
    def location(self) -> JSON | None:
        """The location, if any."""
        loc = self.raw.get("location")
        return loc if isinstance(loc, dict) else None


@dataclass(frozen=True)
class ActionResult:
    """What a user action produced: the queued Update and the user's message (if any)."""

    update_id: int | None
    update: JSON | None
    message: JSON | None
    cursor: int
    callback_query_id: str | None = None

    @property
    def message_id(self) -> int | None:
        """Id of the message the action created or edited."""
        return None if self.message is None else int(self.message["message_id"])

    @classmethod
    def from_json(cls, data: JSON) -> ActionResult:
        """Build from a control API response."""
        return cls(
            update_id=data.get("update_id"),
            update=data.get("update"),
            message=data.get("message"),
            cursor=int(data.get("cursor") or 0),
            callback_query_id=data.get("callback_query_id"),
        )


@dataclass(frozen=True)
class ChatView:
    """A chat's messages changed since a cursor, plus the user's current reply keyboard."""

    messages: list[ChatMessage]
    cursor: int
    reply_keyboard: JSON | None
    chat_action: JSON | None
    blocked: bool
