"""Typed helpers over the sandbox control API: act as Telegram users and read what the bot sent.

    client = SandboxClient(server.url)          # or AsyncSandboxClient(server.url)
    alice = client.user(first_name="Alice")
    client.send_text(alice.id, "/start CODE")
    reply = client.wait_for_message(alice.id, lambda m: "欢迎" in m.text)
    client.press(alice.id, reply.message_id, reply.callback_data("任务"))

Every user action returns an `ActionResult`; `wait_for_message` then looks only at messages the bot
sent or edited after the last action in that chat (pass `since=` to choose another point).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, TypeVar

import httpx

JSON = dict[str, Any]
T = TypeVar("T")


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


@dataclass
class _Req(Generic[T]):
    method: str
    path: str
    parse: Callable[[Any], T]
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes, str]] | None = None
    data: dict[str, str] | None = None
    chat_id: int | None = None


def _identity(x: Any) -> Any:
    return x


class _Requests:
    """Builds control API requests; shared by the sync and async clients."""

    def __init__(self, base_url: str, bot: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.bot = bot
        self.cursors: dict[int, int] = {}

    def q(self, bot: str | None) -> dict[str, Any]:
        b = bot or self.bot
        return {"bot": b} if b else {}

    def action(self, user_id: int, what: str, body: Any, bot: str | None) -> _Req[ActionResult]:
        def parse(data: Any) -> ActionResult:
            result = ActionResult.from_json(data)
            self.cursors[user_id] = result.cursor
            return result

        return _Req("POST", f"/control/users/{user_id}/{what}", parse, json=body, params=self.q(bot))

    def media(
        self,
        user_id: int,
        what: str,
        data: bytes,
        file_name: str,
        mime_type: str | None,
        caption: str | None,
        as_file: bool,
        bot: str | None,
    ) -> _Req[ActionResult]:
        req = self.action(user_id, what, None, bot)
        req.files = {"file": (file_name, data, mime_type or "application/octet-stream")}
        form = {"as_file": "true" if as_file else "false", "file_name": file_name}
        if caption:
            form["caption"] = caption
        if mime_type:
            form["mime_type"] = mime_type
        req.data = form
        return req

    def chat(self, chat_id: int, since: int, who: str, bot: str | None) -> _Req[ChatView]:
        def parse(data: Any) -> ChatView:
            return ChatView(
                messages=[ChatMessage(m, self.base_url) for m in data["messages"]],
                cursor=int(data["cursor"]),
                reply_keyboard=data.get("reply_keyboard"),
                chat_action=data.get("chat_action"),
                blocked=bool(data.get("blocked")),
            )

        params = {"since": since, "who": who, **self.q(bot)}
        return _Req("GET", f"/control/chats/{chat_id}/messages", parse, params=params)


def _raise_for(resp: httpx.Response) -> Any:
    if resp.status_code >= 400:
        try:
            detail = resp.json().get("detail", resp.text)
        except ValueError:
            detail = resp.text
        raise SandboxError(resp.status_code, str(detail))
    if resp.headers.get("content-type", "").startswith("application/json"):
        return resp.json()
    return resp.content


def _user_body(
    id: int | None, first_name: str, last_name: str | None, username: str | None, language_code: str | None
) -> JSON:
    return {
        "id": id,
        "first_name": first_name,
        "last_name": last_name,
        "username": username,
        "language_code": language_code,
    }


class SandboxClient:
    """Synchronous control API client (httpx). `bot` selects a bot by token/username; None = default."""

    def __init__(self, base_url: str, bot: str | None = None, timeout: float = 10.0) -> None:
        self._r = _Requests(base_url, bot)
        self._http = httpx.Client(base_url=self._r.base_url, timeout=timeout)

    @property
    def base_url(self) -> str:
        """The sandbox base URL."""
        return self._r.base_url

    def _do(self, req: _Req[T]) -> T:
        resp = self._http.request(
            req.method, req.path, json=req.json, params=req.params, files=req.files, data=req.data
        )
        return req.parse(_raise_for(resp))

    def close(self) -> None:
        """Close the HTTP client."""
        self._http.close()

    def __enter__(self) -> SandboxClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # bots and config
    def health(self) -> bool:
        """Whether the sandbox answers."""
        return bool(self._do(_Req("GET", "/control/health", _identity)).get("ok"))

    def register_bot(
        self, token: str, first_name: str | None = None, username: str | None = None, default: bool = False
    ) -> JSON:
        """Register a bot token (before the bot's first call)."""
        body = {"token": token, "first_name": first_name, "username": username, "default": default}
        return dict(self._do(_Req("POST", "/control/bots", _identity, json=body)))

    def bots(self) -> list[JSON]:
        """List known bots."""
        return list(self._do(_Req("GET", "/control/bots", _identity)))

    def revoke_bot(self, token: str) -> None:
        """Make a token invalid (401)."""
        self._do(_Req("DELETE", f"/control/bots/{token}", _identity))

    def configure(self, **fields: Any) -> JSON:
        """Change config: per_chat_limit={"limit":1,"window":1.0}, global_limit=None, auto_register..."""
        return dict(self._do(_Req("POST", "/control/config", _identity, json=fields)))

    def force_429(
        self,
        count: int = 1,
        retry_after: int = 1,
        methods: Sequence[str] | None = None,
        bot: str | None = None,
    ) -> None:
        """Make the next `count` message calls (or `methods`; ["*"] = any) answer 429 retry_after."""
        body = {"count": count, "retry_after": retry_after, "methods": list(methods) if methods else None}
        self._do(_Req("POST", "/control/rate_limit/force", _identity, json=body, params=self._r.q(bot)))

    def reset(self) -> None:
        """Forget everything (bots, users, chats, files, places)."""
        self._do(_Req("POST", "/control/reset", _identity))

    def set_places(self, places: Sequence[JSON], replace: bool = True) -> list[JSON]:
        """Offer named points {name, latitude, longitude, address?} on the chat page."""
        body = {"places": list(places), "replace": replace}
        return list(self._do(_Req("POST", "/control/places", _identity, json=body)))

    # users
    def user(
        self,
        first_name: str = "测试用户",
        id: int | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        last_name: str | None = None,
    ) -> SandboxUser:
        """Create (or update) a simulated user."""
        body = _user_body(id, first_name, last_name, username, language_code)
        return SandboxUser.from_json(self._do(_Req("POST", "/control/users", _identity, json=body)))

    def users(self) -> list[SandboxUser]:
        """List simulated users."""
        return [SandboxUser.from_json(u) for u in self._do(_Req("GET", "/control/users", _identity))]

    def block(
        self, user_id: int, blocked: bool = True, emit_update: bool = True, bot: str | None = None
    ) -> JSON:
        """Mark the user as having blocked the bot (403 on sends); emits my_chat_member."""
        body = {"blocked": blocked, "emit_update": emit_update}
        path = f"/control/users/{user_id}/block"
        return dict(self._do(_Req("POST", path, _identity, json=body, params=self._r.q(bot))))

    # user actions
    def send_text(
        self, user_id: int, text: str, reply_to_message_id: int | None = None, bot: str | None = None
    ) -> ActionResult:
        """The user sends text (commands get bot_command entities)."""
        body = {"text": text, "reply_to_message_id": reply_to_message_id}
        return self._do(self._r.action(user_id, "text", body, bot))

    def send_command(self, user_id: int, command: str, *args: str, bot: str | None = None) -> ActionResult:
        """The user sends /command with arguments."""
        return self.send_text(user_id, " ".join(["/" + command.lstrip("/"), *args]), bot=bot)

    def press(
        self, user_id: int, message_id: int, callback_data: str, check: bool = True, bot: str | None = None
    ) -> ActionResult:
        """The user presses an inline button (callback_query carrying the message)."""
        body = {"message_id": message_id, "data": callback_data, "check": check}
        return self._do(self._r.action(user_id, "press", body, bot))

    def press_button(
        self, user_id: int, message: ChatMessage, label: str, bot: str | None = None
    ) -> ActionResult:
        """The user presses the button with this label on a message."""
        return self.press(user_id, message.message_id, message.callback_data(label), bot=bot)

    def send_location(
        self,
        user_id: int,
        latitude: float,
        longitude: float,
        horizontal_accuracy: float | None = None,
        bot: str | None = None,
    ) -> ActionResult:
        """The user shares a (static) location."""
        body = {"latitude": latitude, "longitude": longitude, "horizontal_accuracy": horizontal_accuracy}
        return self._do(self._r.action(user_id, "location", body, bot))

    def live_location(
        self,
        user_id: int,
        latitude: float,
        longitude: float,
        live_period: int = 900,
        horizontal_accuracy: float | None = None,
        bot: str | None = None,
    ) -> ActionResult:
        """The user starts sharing a live location."""
        body = {
            "latitude": latitude,
            "longitude": longitude,
            "live_period": live_period,
            "horizontal_accuracy": horizontal_accuracy,
        }
        return self._do(self._r.action(user_id, "live_location", body, bot))

    def move_live_location(
        self,
        user_id: int,
        latitude: float,
        longitude: float,
        message_id: int | None = None,
        heading: int | None = None,
        bot: str | None = None,
    ) -> ActionResult:
        """The live location moves (edited_message with edit_date)."""
        body = {"latitude": latitude, "longitude": longitude, "message_id": message_id, "heading": heading}
        return self._do(self._r.action(user_id, "live_location/move", body, bot))

    def stop_live_location(
        self, user_id: int, message_id: int | None = None, bot: str | None = None
    ) -> ActionResult:
        """The user stops sharing the live location."""
        return self._do(self._r.action(user_id, "live_location/stop", {"message_id": message_id}, bot))

    def send_photo(
        self,
        user_id: int,
        data: bytes,
        as_file: bool = False,
        caption: str | None = None,
        file_name: str = "photo.jpg",
        mime_type: str | None = None,
        bot: str | None = None,
    ) -> ActionResult:
        """The user sends an image as a photo (recompressed, EXIF stripped) or as a file (bytes kept)."""
        return self._do(self._r.media(user_id, "photo", data, file_name, mime_type, caption, as_file, bot))

    def send_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str,
        mime_type: str | None = None,
        caption: str | None = None,
        bot: str | None = None,
    ) -> ActionResult:
        """The user sends a file (bytes kept)."""
        return self._do(self._r.media(user_id, "document", data, file_name, mime_type, caption, True, bot))

    def send_venue(
        self,
        user_id: int,
        latitude: float,
        longitude: float,
        title: str,
        address: str,
        foursquare_id: str | None = None,
        bot: str | None = None,
    ) -> ActionResult:
        """The user sends a venue."""
        body = {
            "latitude": latitude,
            "longitude": longitude,
            "title": title,
            "address": address,
            "foursquare_id": foursquare_id,
        }
        return self._do(self._r.action(user_id, "venue", body, bot))

    def send_contact(
        self,
        user_id: int,
        phone_number: str,
        first_name: str,
        last_name: str | None = None,
        contact_user_id: int | None = None,
        bot: str | None = None,
    ) -> ActionResult:
        """The user shares a contact (pass contact_user_id=user_id for their own)."""
        body = {
            "phone_number": phone_number,
            "first_name": first_name,
            "last_name": last_name,
            "user_id": contact_user_id,
        }
        return self._do(self._r.action(user_id, "contact", body, bot))

    def send_sticker(self, user_id: int, emoji: str = "👍", bot: str | None = None) -> ActionResult:
        """The user sends a sticker."""
        return self._do(self._r.action(user_id, "sticker", {"emoji": emoji}, bot))

    def forward(
        self,
        user_id: int,
        text: str | None = None,
        origin: JSON | None = None,
        from_chat_id: int | None = None,
        message_id: int | None = None,
        bot: str | None = None,
    ) -> ActionResult:
        """The user forwards a message: text with `origin` (forward_origin), or an existing message."""
        body = {"text": text, "origin": origin, "from_chat_id": from_chat_id, "message_id": message_id}
        return self._do(self._r.action(user_id, "forward", body, bot))

    def inject(self, update: JSON, complete: bool = False, bot: str | None = None) -> ActionResult:
        """Queue a raw Update as given (update_id assigned when absent; complete fills old-example gaps)."""
        params = {**self._r.q(bot), "complete": "true" if complete else "false"}
        req = _Req("POST", "/control/updates", ActionResult.from_json, json=update, params=params)
        return self._do(req)

    # reading
    def chat(self, chat_id: int, since: int = 0, who: str = "bot", bot: str | None = None) -> ChatView:
        """Messages changed after `since` (who: bot | user | all), cursor and the current reply keyboard."""
        return self._do(self._r.chat(chat_id, since, who, bot))

    def messages(
        self, chat_id: int, since: int = 0, who: str = "bot", bot: str | None = None
    ) -> list[ChatMessage]:
        """Messages the bot sent to a chat (edits applied), oldest first."""
        return self.chat(chat_id, since, who, bot).messages

    def last_message(self, chat_id: int, bot: str | None = None) -> ChatMessage | None:
        """The bot's latest message in a chat."""
        msgs = self.messages(chat_id, bot=bot)
        return msgs[-1] if msgs else None

    def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[ChatMessage], bool] | None = None,
        timeout: float = 5.0,
        since: int | None = None,
        who: str = "bot",
        bot: str | None = None,
    ) -> ChatMessage:
        """Wait for a bot message sent/edited after the chat's last action (or `since`) matching predicate."""
        start = self._r.cursors.get(chat_id, 0) if since is None else since
        deadline = time.monotonic() + timeout
        seen: list[ChatMessage] = []
        while True:
            seen = self.messages(chat_id, start, who, bot)
            for m in seen:
                if not m.deleted and (predicate is None or predicate(m)):
                    return m
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no matching message in chat {chat_id} after {timeout}s; saw {[m.text for m in seen]}"
                )
            time.sleep(0.02)

    def callback_answer(self, query_id: str, bot: str | None = None) -> JSON | None:
        """The bot's answerCallbackQuery for a press (None until it answers)."""
        data = self._do(_Req("GET", f"/control/callbacks/{query_id}", _identity, params=self._r.q(bot)))
        answer = data.get("answer")
        return answer if isinstance(answer, dict) else None

    def wait_for_callback_answer(self, query_id: str, timeout: float = 5.0, bot: str | None = None) -> JSON:
        """Wait until the bot answers a callback query."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.callback_answer(query_id, bot)
            if answer is not None:
                return answer
            if time.monotonic() > deadline:
                raise TimeoutError(f"callback query {query_id} not answered within {timeout}s")
            time.sleep(0.02)

    def file_bytes(self, file_id: str) -> bytes:
        """Download a stored file by file_id."""
        data = self._do(_Req("GET", f"/control/files/{file_id}", _identity))
        return bytes(data)


class AsyncSandboxClient:
    """Asynchronous twin of SandboxClient (same methods, awaitable)."""

    def __init__(self, base_url: str, bot: str | None = None, timeout: float = 10.0) -> None:
        self._r = _Requests(base_url, bot)
        self._http = httpx.AsyncClient(base_url=self._r.base_url, timeout=timeout)

    @property
    def base_url(self) -> str:
        """The sandbox base URL."""
        return self._r.base_url

    async def _do(self, req: _Req[T]) -> T:
        resp = await self._http.request(
            req.method, req.path, json=req.json, params=req.params, files=req.files, data=req.data
        )
        return req.parse(_raise_for(resp))

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncSandboxClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def register_bot(
        self, token: str, first_name: str | None = None, username: str | None = None, default: bool = False
    ) -> JSON:
        """Register a bot token."""
        body = {"token": token, "first_name": first_name, "username": username, "default": default}
        return dict(await self._do(_Req("POST", "/control/bots", _identity, json=body)))

    async def configure(self, **fields: Any) -> JSON:
        """Change config (see SandboxClient.configure)."""
        return dict(await self._do(_Req("POST", "/control/config", _identity, json=fields)))

    async def force_429(
        self,
        count: int = 1,
        retry_after: int = 1,
        methods: Sequence[str] | None = None,
        bot: str | None = None,
    ) -> None:
        """Make the next `count` message calls answer 429 retry_after."""
        body = {"count": count, "retry_after": retry_after, "methods": list(methods) if methods else None}
        await self._do(_Req("POST", "/control/rate_limit/force", _identity, json=body, params=self._r.q(bot)))

    async def set_places(self, places: Sequence[JSON], replace: bool = True) -> list[JSON]:
        """Offer named points on the chat page."""
        body = {"places": list(places), "replace": replace}
        return list(await self._do(_Req("POST", "/control/places", _identity, json=body)))

    async def user(
        self,
        first_name: str = "测试用户",
        id: int | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        last_name: str | None = None,
    ) -> SandboxUser:
        """Create (or update) a simulated user."""
        body = _user_body(id, first_name, last_name, username, language_code)
        return SandboxUser.from_json(await self._do(_Req("POST", "/control/users", _identity, json=body)))

    async def block(
        self, user_id: int, blocked: bool = True, emit_update: bool = True, bot: str | None = None
    ) -> JSON:
        """Mark the user as having blocked the bot."""
        body = {"blocked": blocked, "emit_update": emit_update}
        path = f"/control/users/{user_id}/block"
        return dict(await self._do(_Req("POST", path, _identity, json=body, params=self._r.q(bot))))

    async def send_text(
        self, user_id: int, text: str, reply_to_message_id: int | None = None, bot: str | None = None
    ) -> ActionResult:
        """The user sends text."""
        body = {"text": text, "reply_to_message_id": reply_to_message_id}
        return await self._do(self._r.action(user_id, "text", body, bot))

    async def send_command(
        self, user_id: int, command: str, *args: str, bot: str | None = None
    ) -> ActionResult:
        """The user sends /command with arguments."""
        return await self.send_text(user_id, " ".join(["/" + command.lstrip("/"), *args]), bot=bot)

    async def press(
        self, user_id: int, message_id: int, callback_data: str, check: bool = True, bot: str | None = None
    ) -> ActionResult:
        """The user presses an inline button."""
        body = {"message_id": message_id, "data": callback_data, "check": check}
        return await self._do(self._r.action(user_id, "press", body, bot))

    async def press_button(
        self, user_id: int, message: ChatMessage, label: str, bot: str | None = None
    ) -> ActionResult:
        """The user presses the button with this label."""
        return await self.press(user_id, message.message_id, message.callback_data(label), bot=bot)

    async def send_location(
        self,
        user_id: int,
        latitude: float,
        longitude: float,
        horizontal_accuracy: float | None = None,
        bot: str | None = None,
    ) -> ActionResult:
        """The user shares a location."""
        body = {"latitude": latitude, "longitude": longitude, "horizontal_accuracy": horizontal_accuracy}
        return await self._do(self._r.action(user_id, "location", body, bot))

    async def live_location(
        self, user_id: int, latitude: float, longitude: float, live_period: int = 900, bot: str | None = None
    ) -> ActionResult:
        """The user starts a live location."""
        body = {"latitude": latitude, "longitude": longitude, "live_period": live_period}
        return await self._do(self._r.action(user_id, "live_location", body, bot))

    async def move_live_location(
        self,
        user_id: int,
        latitude: float,
        longitude: float,
        message_id: int | None = None,
        bot: str | None = None,
    ) -> ActionResult:
        """The live location moves."""
        body = {"latitude": latitude, "longitude": longitude, "message_id": message_id}
        return await self._do(self._r.action(user_id, "live_location/move", body, bot))

    async def stop_live_location(
        self, user_id: int, message_id: int | None = None, bot: str | None = None
    ) -> ActionResult:
        """The user stops the live location."""
        return await self._do(self._r.action(user_id, "live_location/stop", {"message_id": message_id}, bot))

    async def send_photo(
        self,
        user_id: int,
        data: bytes,
        as_file: bool = False,
        caption: str | None = None,
        file_name: str = "photo.jpg",
        mime_type: str | None = None,
        bot: str | None = None,
    ) -> ActionResult:
        """The user sends an image as a photo or as a file."""
        return await self._do(
            self._r.media(user_id, "photo", data, file_name, mime_type, caption, as_file, bot)
        )

    async def send_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str,
        mime_type: str | None = None,
        caption: str | None = None,
        bot: str | None = None,
    ) -> ActionResult:
        """The user sends a file."""
        return await self._do(
            self._r.media(user_id, "document", data, file_name, mime_type, caption, True, bot)
        )

    async def forward(
        self,
        user_id: int,
        text: str | None = None,
        origin: JSON | None = None,
        from_chat_id: int | None = None,
        message_id: int | None = None,
        bot: str | None = None,
    ) -> ActionResult:
        """The user forwards a message."""
        body = {"text": text, "origin": origin, "from_chat_id": from_chat_id, "message_id": message_id}
        return await self._do(self._r.action(user_id, "forward", body, bot))

    async def inject(self, update: JSON, complete: bool = False, bot: str | None = None) -> ActionResult:
        """Queue a raw Update as-is (complete adds missing is_bot)."""
        params = {**self._r.q(bot), "complete": "true" if complete else "false"}
        req = _Req("POST", "/control/updates", ActionResult.from_json, json=update, params=params)
        return await self._do(req)

    async def chat(self, chat_id: int, since: int = 0, who: str = "bot", bot: str | None = None) -> ChatView:
        """Messages changed after `since`, cursor and reply keyboard."""
        return await self._do(self._r.chat(chat_id, since, who, bot))

    async def messages(
        self, chat_id: int, since: int = 0, who: str = "bot", bot: str | None = None
    ) -> list[ChatMessage]:
        """Messages the bot sent to a chat (edits applied)."""
        return (await self.chat(chat_id, since, who, bot)).messages

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[ChatMessage], bool] | None = None,
        timeout: float = 5.0,
        since: int | None = None,
        who: str = "bot",
        bot: str | None = None,
    ) -> ChatMessage:
        """Wait for a bot message sent/edited after the chat's last action (or `since`) matching predicate."""
        start = self._r.cursors.get(chat_id, 0) if since is None else since
        deadline = time.monotonic() + timeout
        while True:
            seen = await self.messages(chat_id, start, who, bot)
            for m in seen:
                if not m.deleted and (predicate is None or predicate(m)):
                    return m
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no matching message in chat {chat_id} after {timeout}s; saw {[m.text for m in seen]}"
                )
            await asyncio.sleep(0.02)

    async def callback_answer(self, query_id: str, bot: str | None = None) -> JSON | None:
        """The bot's answerCallbackQuery for a press (None until it answers)."""
        data = await self._do(_Req("GET", f"/control/callbacks/{query_id}", _identity, params=self._r.q(bot)))
        answer = data.get("answer")
        return answer if isinstance(answer, dict) else None

    async def file_bytes(self, file_id: str) -> bytes:
        """Download a stored file by file_id."""
        return bytes(await self._do(_Req("GET", f"/control/files/{file_id}", _identity)))
