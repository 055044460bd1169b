"""The control API client (async): bots, config, users, raw updates and reading chats back.

User actions (send_text, press, send_photo...) come from sandbox/client/actions.py; the
synchronous `SandboxClient` (sandbox/client/sync.py) runs these same coroutines.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from sandbox.client.actions import UserActionsClient
from sandbox.client.models import JSON, ActionResult, ChatMessage, ChatView, SandboxUser


class AsyncSandboxClient(UserActionsClient):
    """Asynchronous control API client (httpx). `bot` selects a bot by token/username; None = default."""

    async def __aenter__(self) -> AsyncSandboxClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # bots and config
    async def health(self) -> bool:
        """Whether the sandbox answers."""
        return bool((await self._request("GET", "/control/health")).get("ok"))

    async def register_bot(
        self, token: str, first_name: str | None = None, username: str | None = None, default: bool = False
    ) -> JSON:
        """Register a bot token (before the bot's first call)."""
        body = {"token": token, "first_name": first_name, "username": username, "default": default}
        return dict(await self._request("POST", "/control/bots", json=body))

    async def bots(self) -> list[JSON]:
        """List known bots."""
        return list(await self._request("GET", "/control/bots"))

    async def revoke_bot(self, token: str) -> None:
        """Make a token invalid (401)."""
        await self._request("DELETE", f"/control/bots/{token}")

    async def configure(self, /, **fields: Any) -> JSON:
        """Change config: per_chat_limit={"limit":1,"window":1.0}, global_limit=None, auto_register..."""
        return dict(await self._request("POST", "/control/config", json=fields))

    async def force_429(
        self,
        count: int = 1,
        retry_after: int = 1,
        methods: Sequence[str] | None = None,
        bot: str | None = None,
    ) -> None:
        """Make the next `count` message calls (or `methods`; ["*"] = any) answer 429 retry_after."""
        body = {"count": count, "retry_after": retry_after, "methods": list(methods) if methods else None}
        await self._request("POST", "/control/rate_limit/force", json=body, params=self._q(bot))

    async def reset(self) -> None:
        """Forget everything (bots, users, chats, files, places)."""
        await self._request("POST", "/control/reset")

    async def set_places(self, places: Sequence[JSON], replace: bool = True) -> list[JSON]:
        """Offer named points {name, latitude, longitude, address?} on the chat page."""
        body = {"places": list(places), "replace": replace}
        return list(await self._request("POST", "/control/places", json=body))

    # users
    async def user(
        self,
        first_name: str = "测试用户",
        id: int | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        last_name: str | None = None,
    ) -> SandboxUser:
        """Create (or update) a simulated user."""
        body = {
            "id": id,
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "language_code": language_code,
        }
        return SandboxUser.from_json(await self._request("POST", "/control/users", json=body))

    async def users(self) -> list[SandboxUser]:
        """List simulated users."""
        return [SandboxUser.from_json(u) for u in await self._request("GET", "/control/users")]

    async def block(
        self, user_id: int, blocked: bool = True, emit_update: bool = True, bot: str | None = None
    ) -> JSON:
        """Mark the user as having blocked the bot (403 on sends); emits my_chat_member."""
        body = {"blocked": blocked, "emit_update": emit_update}
        path = f"/control/users/{user_id}/block"
        return dict(await self._request("POST", path, json=body, params=self._q(bot)))

    async def inject(self, update: JSON, complete: bool = False, bot: str | None = None) -> ActionResult:
        """Queue a raw Update as given (update_id assigned when absent; complete fills old-example gaps)."""
        params = {**self._q(bot), "complete": "true" if complete else "false"}
        return ActionResult.from_json(
            await self._request("POST", "/control/updates", json=update, params=params)
        )

    # reading
    async def chat(self, chat_id: int, since: int = 0, who: str = "bot", bot: str | None = None) -> ChatView:
        """Messages changed after `since` (who: bot | user | all), cursor and the current reply keyboard."""
        params = {"since": since, "who": who, **self._q(bot)}
        data = await self._request("GET", f"/control/chats/{chat_id}/messages", params=params)
        return ChatView(
            messages=[ChatMessage(m, self._base_url) for m in data["messages"]],
            cursor=int(data["cursor"]),
            reply_keyboard=data.get("reply_keyboard"),
            chat_action=data.get("chat_action"),
            blocked=bool(data.get("blocked")),
        )

    async def messages(
        self, chat_id: int, since: int = 0, who: str = "bot", bot: str | None = None
    ) -> list[ChatMessage]:
        """Messages the bot sent to a chat (edits applied), oldest first."""
        return (await self.chat(chat_id, since, who, bot)).messages

    async def last_message(self, chat_id: int, bot: str | None = None) -> ChatMessage | None:
        """The bot's latest message in a chat."""
        msgs = await self.messages(chat_id, bot=bot)
        return msgs[-1] if msgs else None

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
        start = self._cursors.get(chat_id, 0) if since is None else since
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
        data = await self._request("GET", f"/control/callbacks/{query_id}", params=self._q(bot))
        answer = data.get("answer")
        return answer if isinstance(answer, dict) else None

    async def wait_for_callback_answer(
        self, query_id: str, timeout: float = 5.0, bot: str | None = None
    ) -> JSON:
        """Wait until the bot answers a callback query."""
        deadline = time.monotonic() + timeout
        while True:
            answer = await self.callback_answer(query_id, bot)
            if answer is not None:
                return answer
            if time.monotonic() > deadline:
                raise TimeoutError(f"callback query {query_id} not answered within {timeout}s")
            await asyncio.sleep(0.02)

    async def file_bytes(self, file_id: str) -> bytes:
        """Download a stored file by file_id."""
        return bytes(await self._request("GET", f"/control/files/{file_id}"))
