"""PTB persistence in the bot's database (user_data, chat_data, conversations as JSON).

PTB flushes this only every `update_interval`; it keeps PTB's conveniences across restarts. What must
survive a `kill -9` the next instant is written by the handlers themselves (see bot/flows/core.py).
`bot_data` is not persisted: it holds the process's Runtime (bot/runtime.py).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, insert, select, update
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from bot import tables as T
from bot.db import BotDB


class SQLPersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Stores PTB's data in `ptb_state` rows keyed by (kind, key)."""

    def __init__(self, db: BotDB, update_interval: float = 60) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=True, user_data=True, callback_data=False),
            update_interval=update_interval,
        )
        self.db = db

    def _load(self, kind: str) -> dict[str, Any]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                select(T.ptb_state.c.key, T.ptb_state.c.data).where(T.ptb_state.c.kind == kind)
            )
            return {str(k): v for k, v in rows}

    def _put(self, kind: str, key: str, data: Any) -> None:
        data = json.loads(json.dumps(data, default=str))
        with self.db.tx() as conn:
            c = T.ptb_state.c
            res = conn.execute(update(T.ptb_state).where(c.kind == kind, c.key == key).values(data=data))
            if not res.rowcount:
                conn.execute(insert(T.ptb_state).values(kind=kind, key=key, data=data))

    def _drop(self, kind: str, key: str) -> None:
        with self.db.tx() as conn:
            conn.execute(delete(T.ptb_state).where(T.ptb_state.c.kind == kind, T.ptb_state.c.key == key))

    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        """Every user's user_data."""
        return {int(k): dict(v or {}) for k, v in self._load("user").items()}

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        """Every chat's chat_data."""
        return {int(k): dict(v or {}) for k, v in self._load("chat").items()}

    async def get_bot_data(self) -> dict[Any, Any]:
        """The bot_data."""
        return dict(self._load("bot").get("bot") or {})

    async def get_callback_data(self) -> CDCData | None:
        """Not stored (the bot uses plain callback data)."""
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        """The states of one named ConversationHandler."""
        out: dict[ConversationKey, object] = {}
        for key, value in self._load("conv:" + name).items():
            out[tuple(json.loads(key))] = value
        return out

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        """Writes one conversation's state (None ends it)."""
        k = json.dumps(list(key))
        if new_state is None:
            self._drop("conv:" + name, k)
        else:
            self._put("conv:" + name, k, new_state)

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        """Writes one user's user_data."""
        self._put("user", str(user_id), data)

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        """Writes one chat's chat_data."""
        self._put("chat", str(chat_id), data)

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        """Writes bot_data."""
        self._put("bot", "bot", data)

    async def update_callback_data(self, data: CDCData) -> None:
        """Not stored."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Forgets a chat."""
        self._drop("chat", str(chat_id))

    async def drop_user_data(self, user_id: int) -> None:
        """Forgets a user."""
        self._drop("user", str(user_id))

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        """Nothing to refresh: this process is the only writer."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        """Nothing to refresh."""

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        """Nothing to refresh."""

    async def flush(self) -> None:
        """Every update_* call has already written through."""
